"""Issue 33, findings 2 and 3: the workspace's keys are never served; a run token writes only into its run's
own output folders, within a quota; a Ray job's spec holds no token, only a claim that works once."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_trio.domain import Task, TaskKind, TaskState
from jupyter_trio.errors import Conflict, Forbidden
from jupyter_trio.runner.executor import JobSpec
from jupyter_trio.runner.ray_executor import RayExecutor
from jupyter_trio.services.run_tokens import RunTokens
from jupyter_trio.store.secrets import workspace_secret


# ---- finding 2: signing keys
async def test_the_workspace_keys_are_private_and_never_served(api, px, trio_workspace):
    private = trio_workspace / ".trio"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    for name in ("ingest.key", "archive.key"):
        assert stat.S_IMODE((private / name).stat().st_mode) == 0o600
        assert not (trio_workspace / name).exists()
        secret = (private / name).read_text().strip().encode()
        for path in (name, f".trio/{name}", f"tasks/../.trio/{name}"):
            status, reply = await api("GET", f"trio/api/files/{path}")
            served = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            assert status in (403, 404) and secret not in served, (path, status)
        status, reply = await px("GET", "file", {"path": f".trio/{name}"})
        assert status in (403, 404) and reply["status"] == -1
    status, listing = await api("GET", "trio/api/files/")
    assert status == 200 and not any(e["name"].startswith(".") for e in listing["entries"])
    status, _ = await api("GET", "trio/api/files/.trio")
    assert status == 403


def test_keys_from_before_the_private_folder_are_moved_in_with_their_value(tmp_path: Path):
    (tmp_path / "ingest.key").write_text("a" * 64)
    assert workspace_secret(tmp_path, "ingest.key") == b"a" * 64
    assert not (tmp_path / "ingest.key").exists()
    assert (tmp_path / ".trio" / "ingest.key").read_text() == "a" * 64
    made = workspace_secret(tmp_path, "archive.key")
    assert len(made) == 64 and workspace_secret(tmp_path, "archive.key") == made


# ---- finding 3: where a run token may write
async def test_a_run_token_writes_neither_the_database_the_keys_nor_a_parent_checkpoint(
    api, running, trio_app, trio_workspace
):
    task_id, token = await running()
    base = f"trio/api/ingest/{task_id}/1/files"
    headers = {"X-Trio-Run-Token": token}
    for path in ("trio.db", ".trio/ingest.key", "ingest.key", "exports/x/.hidden", "datasets/D0001/x.png"):
        query = {"path": path, "final": "true"}
        status, reply = await api("PUT", base, raw=b"x", params=query, headers=headers)
        assert status == 403 and reply["error"]["message"], (path, reply)

    # a child job (an export) whose stored save_dir is the workspace root, as a request could once make:
    # the run may still not write the parent's checkpoint, the database or the keys
    parent = trio_workspace / "tasks" / "T0900"
    (parent / "best_model").mkdir(parents=True)
    task = trio_app.store.tasks.get(task_id)
    child = replace(task, kind=TaskKind.EXPORT, config={"save_dir": str(trio_workspace)})
    for path in ("tasks/T0900/best_model/model.pdparams", "trio.db", ".trio/ingest.key", "exports/x.bin"):
        with pytest.raises(Forbidden):
            trio_app.ingest.file_target(child, 1, path)
    exporting = replace(task, kind=TaskKind.EXPORT, config={"save_dir": str(trio_workspace / "exports/e1")})
    assert trio_app.ingest.file_target(exporting, 1, "exports/e1/model.pdmodel").name == "model.pdmodel"
    evaluating = replace(task, kind=TaskKind.EVALUATE, config={"parent_task_dir": str(parent)})
    assert trio_app.ingest.file_target(evaluating, 1, "tasks/T0900/evaluate/result.json").is_relative_to(
        trio_workspace.resolve()
    )
    with pytest.raises(Forbidden):
        trio_app.ingest.file_target(evaluating, 1, "tasks/T0900/best_model/model.pdparams")


async def test_an_export_goes_only_under_exports(px, api):
    for save_dir in (".", "", "/", "exports", "tasks/T0001/best_model", "../x", "exports/../trio.db"):
        body = {"tid": "T0001", "type": "infer", "save_dir": save_dir}
        status, reply = await px("POST", "project/task/export", body)
        assert 400 <= status < 500 and reply["status"] == -1, (save_dir, reply)


@pytest.mark.parametrize("trio_config", [{"ingest_quota_gb": 1e-6}])  # 1073 bytes
async def test_a_run_sends_no_more_than_its_quota(api, running, trio_app, trio_workspace, trio_config):
    task_id, token = await running()
    headers = {"X-Trio-Run-Token": token}
    base = f"trio/api/ingest/{task_id}/1/files"
    path = f"tasks/{task_id}/out/a.bin"
    status, _ = await api("PUT", base, raw=b"x" * 1000, params={"path": path}, headers=headers)
    assert status == 200
    status, reply = await api(
        "PUT", base, raw=b"y" * 1000, params={"path": path, "offset": 1000}, headers=headers
    )
    assert status == 413 and "quota" in reply["error"]["message"]
    assert not (trio_workspace / path).exists()


@pytest.mark.parametrize("trio_config", [{"ingest_quota_gb": 1e-6}])  # 1073 bytes
async def test_a_repeated_append_near_the_quota_is_not_refused(api, running, trio_config):
    task_id, token = await running()
    headers = {"X-Trio-Run-Token": token}
    route = f"trio/api/ingest/{task_id}/1/records"
    line = b'{"t": 1.0, "data": {"note": "' + b"x" * 560 + b'"}}\n'
    query = {"writer": "w", "offset": 0}
    status, _ = await api("POST", route, raw=line, params=query, headers=headers)
    assert status == 200
    status, reply = await api("POST", route, raw=line, params=query, headers=headers)  # its reply was lost
    assert status == 200 and reply["received"] == len(line)
    status, _ = await api(
        "POST", route, raw=line, params={"writer": "w", "offset": len(line)}, headers=headers
    )
    assert status == 413


# ---- finding 3: Ray's job spec
def _spec(trio_workspace: Path, shared: bool) -> tuple[RayExecutor, JobSpec, RunTokens]:
    tokens = RunTokens(b"k" * 32)
    executor = RayExecutor(
        address="http://127.0.0.1:1",
        workspace=trio_workspace,
        root_dir=trio_workspace.parent,
        tag="t",
        shared_filesystem=shared,
        own_url=lambda: "http://127.0.0.1:8888/",
        tokens=tokens,
    )
    env = {"TRIO_TASK_ID": "T0001", "TRIO_RUN_INDEX": "1", "TRIO_TOKEN": tokens.token("T0001", 1)}
    task = Task("T0001", "t", TaskKind.SHELL, "me", TaskState.RUNNING, "tasks/T0001", 0.0, 0.0)
    spec = JobSpec(("T0001", 1), task, ["/bin/true"], str(trio_workspace), env, trio_workspace / "r")
    return executor, spec, tokens


@pytest.mark.parametrize("shared", [True, False])
def test_a_ray_job_spec_holds_a_claim_not_the_token(trio_workspace, shared):
    executor, spec, tokens = _spec(trio_workspace, shared)
    request = executor._request(spec, "trio-t-T0001-1")
    listed = json.dumps(request.kwargs(working_dir=trio_workspace / "staged"))  # what Ray's API shows
    assert tokens.token("T0001", 1) not in listed
    job = json.loads(request.runtime_env["env_vars"]["TRIO_RAY_JOB"])
    assert "TRIO_TOKEN" not in job["env"] and "TRIO_INGEST_TOKEN" not in job["env"]
    assert job["env"]["TRIO_TOKEN_CLAIM"] == tokens.claim("T0001", 1)
    assert job["env"]["TRIO_SERVER_URL"] == "http://127.0.0.1:8888/"


def test_a_claim_is_traded_once(tmp_path):
    tokens = RunTokens(os.urandom(32))
    with pytest.raises(Forbidden):
        tokens.redeem("T0001", 1, tokens.claim("T0001", 2), tmp_path)
    assert tokens.redeem("T0001", 1, tokens.claim("T0001", 1), tmp_path) == tokens.token("T0001", 1)
    with pytest.raises(Conflict):
        tokens.redeem("T0001", 1, tokens.claim("T0001", 1), tmp_path)


async def test_the_claim_route_answers_once_for_a_running_run(api, running, trio_app):
    task_id, token = await running()
    route = f"trio/api/ingest/{task_id}/1/token"
    claim = trio_app.run_tokens.claim(task_id, 1)
    status, reply = await api("POST", route, headers={"X-Trio-Run-Claim": "0" * 64})
    assert status == 403 and reply["error"]["message"]
    status, reply = await api("POST", route, headers={"X-Trio-Run-Claim": claim})
    assert status == 200 and reply == {"token": token}
    status, reply = await api("POST", route, headers={"X-Trio-Run-Claim": claim})
    assert status == 409 and "claimed already" in reply["error"]["message"]


def test_a_pre_upgrade_ingest_mac_writes_its_run_but_never_reads_the_api():
    tokens = RunTokens(os.urandom(32))
    legacy = tokens._mac("ingest", "T0001", 1)  # what a job started before run tokens carries (Ray listed it)
    tokens.check("T0001", 1, legacy)  # the ingest routes still take it for its own run
    with pytest.raises(Forbidden):
        tokens.parse(f"trio-run.T0001.1.{legacy}")  # but it cannot be dressed up as a run token
    with pytest.raises(Forbidden):
        tokens.check("T0001", 2, legacy)


async def test_a_socket_opened_with_a_run_token_closes_when_the_run_ends(api, running, jp_ws_fetch):
    task_id, token = await running()
    ws = await jp_ws_fetch("trio", "api", "events", headers={"Authorization": f"token {token}"})
    hello = json.loads(await ws.read_message())
    assert hello["type"] == "hello"
    await api("POST", f"trio/api/tasks/{task_id}/cancel")
    deadline = asyncio.get_running_loop().time() + 15
    while True:  # events of the cancel may come first; then the server closes the socket
        message = await asyncio.wait_for(ws.read_message(), timeout=15)
        if message is None:
            break
        assert asyncio.get_running_loop().time() < deadline, "the socket stayed open after its run ended"
    assert ws.close_code == 4003
