"""The routes pyruns 0.3.17's web server has that the pyruns dialect lacked, through a live server.

Paths and field names were checked against pyruns 0.3.17 (``pyruns/web/app.py`` and what its runtime,
``pyruns/web/runtime.py`` and ``pyruns/core/run_inputs.py``, returns), its ``/api`` being our ``/trio/api``:

- ``GET /tasks/{name}/runs/{n}/input``: ``schema_version, task_name, run_index, input`` (null without a
  saved input); the input's ``task_kind, payload_file, payload_text, script, command, workdir,
  shell_executable, environment, launch_argv`` (``save_run_input``'s fields). Run index below 1: 422.
- ``GET /tasks/{name}/runs/{n}/diff?other_run=``: ``compare_run_inputs``'s ``schema_version, left/right
  {reference, available}, available, equal, changed_fields, diff, truncated``; left = ``other_run``.
- ``GET /tasks/{name}/runs/{n}/compare?other_run=&other_task=``: ``schema_version, left, right,
  metric_rows {key, left, right, changed, delta}, input_diff``; each side ``task_name, run_index,
  reference, status, start_time, finish_time, duration_seconds, exit_code, source_state, environment,
  record, input_available``. Ours adds ``param_rows``; times are epoch seconds, as in the native API.
- ``POST /tasks/batch/run`` (``TaskBatchActionRequest``: ``task_names``, ``max_workers`` 1..32) →
  ``count, items, skipped``; ``POST /tasks/batch/delete`` (``TaskBatchDeleteRequest``) → ``count,
  deleted``; unknown name 404, nothing valid 400.
- ``POST /tasks/reorder`` (``TaskReorderRequest``: ``items [{name, pinned}]``) → ``count, items``;
  a name twice 400, unknown 404.
- ``GET /tasks/{name}/logs/download`` (``log_file_name`` "run<N>.log", ``log_identity``): the bytes as
  ``application/octet-stream``, ``Content-Disposition`` ``<task>--<file>``, ``X-Pyruns-Log-Identity``;
  a changed log 409, no log 404.
- ``GET /system/info``: ``version, installed_version, restart_required, instance_id, update_supported,
  update_state, last_update``; ``GET /system/metrics`` (``include_processes``, ``detail``):
  ``cpu_percent, mem_percent, gpus [{id, index, name, uuid, util, mem_used, mem_total, processes}]``
  (MiB), with our ``disk_*``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import yaml

import jupyter_trio
from jupyter_trio.runner.gpus import GPU
from jupyter_trio.services import run_compare

TRACKER = """
import jupyter_trio as trio
cfg = trio.load()
for i in range(3):
    trio.track(loss=cfg.lr * (3 - i))
trio.record(lr=cfg.lr, best=cfg.best)
print("done", cfg.lr)
"""


async def _shell_tasks(api, *commands: str, run: bool = False) -> list[str]:
    await api("POST", "trio/api/workspace/shell")
    names = []
    for command in commands:
        status, out = await api(
            "POST",
            "trio/api/generator/create",
            {"name_prefix": "sh", "mode": "shell", "shell_text": command, "run": run},
        )
        assert status == 201, out
        names.append(out["items"][0]["name"])
    return names


async def _tracked_pair(api, script_workspace, wait_task) -> tuple[str, str]:
    await script_workspace(TRACKER, "lr: 0.1 | 0.2\nbest: 1\n")
    status, out = await api("POST", "trio/api/generator/create", {"name_prefix": "cmp", "run": True})
    assert status == 201 and out["count"] == 2, out
    first, second = (item["name"] for item in out["items"])
    await wait_task(first, "completed")
    await wait_task(second, "completed")
    return first, second


# ---- a run's input
async def test_run_input_names_the_runs_launch_and_the_tasks_config(
    api, script_workspace, wait_task, jp_root_dir
):
    await script_workspace(TRACKER, "lr: 0.5\nbest: 2\n")
    _, out = await api("POST", "trio/api/generator/create", {"name_prefix": "inp", "run": True})
    name = out["items"][0]["name"]
    await wait_task(name, "completed")
    status, _ = await api("PATCH", f"trio/api/tasks/{name}/env", {"env": {"EXTRA": "x"}})
    assert status == 200
    status, reply = await api("GET", f"trio/api/tasks/{name}/runs/1/input")
    assert status == 200, reply
    assert reply["schema_version"] == 1 and reply["task_name"] == name and reply["run_index"] == 1
    run_input = reply["input"]
    assert run_input["task_kind"] == "script" and run_input["payload_file"] == "config.yaml"
    assert yaml.safe_load(run_input["payload_text"]) == {"lr": 0.5, "best": 2}
    assert run_input["script"] == "train.py" and run_input["command"] is None
    assert run_input["shell_executable"] is None
    assert run_input["launch_argv"][1:] == ["-u", str(Path(run_input["workdir"]) / "train.py")]
    assert Path(run_input["workdir"]).resolve() == jp_root_dir.resolve()
    assert run_input["environment"] == {"EXTRA": "x"}  # the task's variables, as they are now

    for path, code in (
        ("trio/api/tasks/nope/runs/1/input", 404),
        (f"trio/api/tasks/{name}/runs/2/input", 404),
        (f"trio/api/tasks/{name}/runs/0/input", 422),
        (f"trio/api/tasks/{name}/runs/x/input", 422),
        (f"trio/api/tasks/{name}/runs/99999999999/input", 422),
    ):
        status, body = await api("GET", path)
        assert status == code, (path, body)
        assert body["error"]["status"] == code


async def test_a_shell_runs_input_is_its_command(api, wait_task):
    [name] = await _shell_tasks(api, "echo shell-input", run=True)
    await wait_task(name, "completed")
    _, reply = await api("GET", f"trio/api/tasks/{name}/runs/1/input")
    run_input = reply["input"]
    assert run_input["task_kind"] == "shell" and run_input["payload_file"] == "command.sh"
    assert run_input["command"] == "echo shell-input" and run_input["script"] is None
    assert run_input["payload_text"] == "echo shell-input\n"
    assert run_input["shell_executable"] == "/bin/bash"
    assert run_input["launch_argv"] == ["/bin/bash", "-c", "echo shell-input"]


async def test_a_run_that_never_started_has_no_input(api, wait_task, trio_app):
    [name] = await _shell_tasks(api, "echo once", run=True)
    await wait_task(name, "completed")
    trio_app.runner.max_cpu_jobs = 0  # nothing starts: run 2 stays queued
    status, _ = await api("POST", f"trio/api/tasks/{name}/run")
    assert status == 202
    status, reply = await api("GET", f"trio/api/tasks/{name}/runs/2/input")
    assert status == 200 and reply["input"] is None
    status, diff = await api("GET", f"trio/api/tasks/{name}/runs/2/diff", params={"other_run": "1"})
    assert status == 200
    assert diff["available"] is False and diff["equal"] is None and diff["changed_fields"] == []
    assert diff["left"] == {"reference": f"{name}@1", "available": True}
    assert diff["right"] == {"reference": f"{name}@2", "available": False}
    await api("POST", f"trio/api/tasks/{name}/cancel")


# ---- two runs
async def test_diff_of_two_runs_of_one_task(api, wait_task):
    [name] = await _shell_tasks(api, "echo twice", run=True)
    await wait_task(name, "completed")
    await api("POST", f"trio/api/tasks/{name}/run")
    await wait_task(name, "completed")
    status, diff = await api("GET", f"trio/api/tasks/{name}/runs/2/diff", params={"other_run": "1"})
    assert status == 200, diff
    assert diff["schema_version"] == 1 and diff["available"] is True and diff["equal"] is True
    assert diff["changed_fields"] == [] and diff["diff"] == "" and diff["truncated"] is False
    assert [diff["left"]["reference"], diff["right"]["reference"]] == [f"{name}@1", f"{name}@2"]

    for params, code in (
        ({}, 422),  # other_run is required
        ({"other_run": "0"}, 422),
        ({"other_run": "3"}, 404),
        ({"other_run": "1", "other_task": name}, 422),  # not a parameter of /diff
    ):
        status, body = await api("GET", f"trio/api/tasks/{name}/runs/2/diff", params=params)
        assert status == code, (params, body)
    status, _ = await api("GET", f"trio/api/tasks/{name}/runs/5/diff", params={"other_run": "1"})
    assert status == 404


async def test_compare_two_tasks_runs_params_metrics_and_inputs(api, script_workspace, wait_task):
    left, right = await _tracked_pair(api, script_workspace, wait_task)
    status, cmp = await api(
        "GET", f"trio/api/tasks/{right}/runs/1/compare", params={"other_run": "1", "other_task": left}
    )
    assert status == 200, cmp
    assert cmp["schema_version"] == 1
    assert cmp["left"]["reference"] == f"{left}@1" and cmp["right"]["reference"] == f"{right}@1"
    side = cmp["right"]
    assert side["task_name"] == right and side["run_index"] == 1 and side["status"] == "completed"
    assert side["exit_code"] == 0 and side["input_available"] is True and side["source_state"] is None
    assert side["duration_seconds"] == side["finish_time"] - side["start_time"] >= 0
    assert side["record"] == {"lr": 0.2, "best": 1}
    assert side["environment"]["executor"] == "local" and side["environment"]["gpus"] == []

    metrics = {row["key"]: row for row in cmp["metric_rows"]}
    assert set(metrics) == {"best", "loss", "lr"}
    assert metrics["lr"] == {"key": "lr", "left": "0.1", "right": "0.2", "changed": True, "delta": "0.1"}
    assert metrics["best"] == {"key": "best", "left": "1", "right": "1", "changed": False, "delta": "0"}
    assert (metrics["loss"]["left"], metrics["loss"]["right"]) == ("0.1", "0.2")  # the series' last value
    params = {row["key"]: row for row in cmp["param_rows"]}
    assert params["lr"]["changed"] and not params["best"]["changed"]

    diff = cmp["input_diff"]
    assert diff["available"] is True and diff["equal"] is False
    assert diff["changed_fields"] == ["payload_text"]
    assert f"--- {left}@1\n+++ {right}@1\n" in diff["diff"]
    assert "-lr: 0.1\n" in diff["diff"] and "+lr: 0.2\n" in diff["diff"]

    # the same task on both sides when other_task is left out
    status, same = await api("GET", f"trio/api/tasks/{right}/runs/1/compare", params={"other_run": "1"})
    assert status == 200 and same["input_diff"]["equal"] is True
    assert not any(row["changed"] for row in same["metric_rows"])

    for params, code in (
        ({"other_run": "1", "other_task": "missing"}, 404),
        ({"other_run": "2", "other_task": left}, 404),
        ({"other_run": "1", "other_task": ""}, 422),
        ({"other_task": left}, 422),
    ):
        status, body = await api("GET", f"trio/api/tasks/{right}/runs/1/compare", params=params)
        assert status == code, (params, body)


def test_diffs_and_rows_are_bounded_and_exact():
    lines = "".join(f"line {i}\n" for i in range(10_000))
    text, cut = run_compare.unified_diff(lines, lines.replace("line", "LINE"), "a@1", "a@2")
    assert cut and text.count("\n") <= run_compare.MAX_DIFF_LINES
    assert len(text.encode()) <= run_compare.MAX_DIFF_BYTES
    text, cut = run_compare.unified_diff("a\nb", "a\nc", "x@1", "x@2")
    assert not cut and text.endswith("+c\n\\ No newline at end of file\n")
    rows = {
        r.key: r for r in run_compare.value_rows({"n": 2**60, "f": 1.5, "b": True}, {"n": 2**60 + 1, "f": 2})
    }
    assert rows["n"].delta == "1"  # integers stay exact, past 2**53 too
    assert rows["f"].delta == "0.5" and rows["b"].delta is None  # a bool is not a number here
    assert rows["b"].right == run_compare.NOT_RECORDED and rows["b"].changed


# ---- batch actions and the order
async def test_batch_run_queues_each_task_once_and_skips_active_ones(api, wait_task, trio_app):
    a, b, c = await _shell_tasks(api, "sleep 30", "sleep 30", "true")
    status, out = await api(
        "POST", "trio/api/tasks/batch/run", {"task_names": [a, b, a, " "], "max_workers": 1}
    )
    assert status == 200, out
    assert out["count"] == 2 and [t["name"] for t in out["items"]] == [a, b] and out["skipped"] == []
    assert all(t["status"] in ("queued", "running") and t["run_index"] == 1 for t in out["items"])
    assert trio_app.runner.max_cpu_jobs == 1
    await wait_task(a, "running")
    await asyncio.sleep(0.3)
    _, second = await api("GET", f"trio/api/tasks/{b}")
    assert second["status"] == "queued"  # max_workers=1: one job at a time

    status, out = await api("POST", "trio/api/tasks/batch/run", {"task_names": [a, c]})
    assert status == 200 and [t["name"] for t in out["items"]] == [c] and out["skipped"] == [a]

    for body, code in (
        ({"task_names": [b, "nope"]}, 404),
        ({"task_names": []}, 400),
        ({"task_names": ["  "]}, 400),
        ({"task_names": [a, b]}, 400),  # both active: none could start
        ({"task_names": [a], "max_workers": 0}, 422),
        ({"task_names": [a], "max_workers": 33}, 422),
        ({"task_names": [a], "priority": 1}, 422),
    ):
        status, err = await api("POST", "trio/api/tasks/batch/run", body)
        assert status == code, (body, err)
    _, tasks = await api("GET", "trio/api/tasks")
    assert {t["name"]: t["run_index"] for t in tasks["items"]}[b] == 1  # the 404 queued nothing
    await api("POST", "trio/api/tasks/batch/delete", {"task_names": [a, b, c]})


async def test_batch_delete_stops_and_removes_every_named_task(api, wait_task, trio_app, running):
    a, b = await _shell_tasks(api, "sleep 30", "true", run=True)
    await wait_task(a, "running")
    folder = trio_app.tasks.store.layout.task_dir((await api("GET", f"trio/api/tasks/{a}"))[1]["id"])
    assert folder.is_dir()

    status, err = await api("POST", "trio/api/tasks/batch/delete", {"task_names": [a, "nope"]})
    assert status == 404 and "nope" in err["error"]["message"]
    assert (await api("GET", f"trio/api/tasks/{a}"))[0] == 200  # nothing deleted
    status, err = await api("POST", "trio/api/tasks/batch/delete", {"task_names": []})
    assert status == 400

    task_id, token = await running()  # a job's own token may read, never delete
    status, _ = await api(
        "POST",
        "trio/api/tasks/batch/delete",
        {"task_names": [a]},
        headers={"Authorization": f"token {token}"},
    )
    assert status == 403 and (await api("GET", f"trio/api/tasks/{a}"))[0] == 200

    status, out = await api("POST", "trio/api/tasks/batch/delete", {"task_names": [a, b, a]})
    assert status == 200 and out == {"count": 2, "deleted": [a, b]}
    for name in (a, b):
        assert (await api("GET", f"trio/api/tasks/{name}"))[0] == 404
    assert not folder.exists()


async def test_reorder_sets_the_queue_order_and_pins(api, trio_app):
    a, b, c, other = await _shell_tasks(api, "true", "true", "true", "true")
    trio_app.tasks.repo.update(trio_app.tasks.get(other).id, priority=5)
    status, out = await api(
        "POST", "trio/api/tasks/reorder", {"items": [{"name": c, "pinned": True}, {"name": a}, {"name": b}]}
    )
    assert status == 200, out
    assert out["count"] == 3 and [t["name"] for t in out["items"]] == [c, a, b]
    assert [t["priority"] for t in out["items"]] == [8, 7, 6]  # above the others' highest (5)
    assert [t["pinned"] for t in out["items"]] == [True, False, False]

    trio_app.runner.max_cpu_jobs = 0  # hold the queue still to read its order
    for name in (b, other, a, c):
        await api("POST", f"trio/api/tasks/{name}/run")
    assert [item.task_name for item in trio_app.store.tasks.queued()] == [c, a, b, other]
    status, out = await api("POST", "trio/api/tasks/reorder", {"items": [{"name": b}, {"name": a}]})
    assert status == 200
    assert [item.task_name for item in trio_app.store.tasks.queued()] == [b, a, c, other]

    for body, code in (
        ({"items": [{"name": a}, {"name": a}]}, 400),
        ({"items": [{"name": a}, {"name": trio_app.tasks.get(a).id}]}, 400),  # its name and its id
        ({"items": [{"name": a, "pinned": True}, {"name": "nope"}]}, 404),
        ({"items": []}, 400),
        ({"items": [{"name": ""}]}, 422),
        ({"items": [{"name": a, "order": 1}]}, 422),
    ):
        status, err = await api("POST", "trio/api/tasks/reorder", body)
        assert status == code, (body, err)
    assert trio_app.tasks.get(a).pinned is False  # refused requests changed nothing
    trio_app.runner.max_cpu_jobs = 2
    for name in (a, b, c, other):
        await api("POST", f"trio/api/tasks/{name}/cancel")


async def test_a_task_named_reorder_stays_reachable(api):
    [name] = await _shell_tasks(api, "true")
    await api("POST", f"trio/api/tasks/{name}/rename", {"new_name": "reorder"})
    status, task = await api("GET", "trio/api/tasks/reorder")
    assert status == 200 and task["name"] == "reorder"
    status, _ = await api("DELETE", "trio/api/tasks/reorder")
    assert status == 204 and (await api("GET", "trio/api/tasks/reorder"))[0] == 404


# ---- the log download
async def test_log_download_streams_the_whole_log_as_a_file(api, jp_fetch, wait_task, trio_app, tmp_path):
    [name] = await _shell_tasks(api, "seq 1 60000; echo oops >&2", run=True)
    task = await wait_task(name, "completed")
    run_dir = trio_app.tasks.run_dir(task["id"], 1)
    expected = (run_dir / "output.log").read_bytes()
    assert len(expected) > 300_000  # several chunks

    status, body = await api("GET", f"trio/api/tasks/{name}/logs/download")
    assert status == 200 and body == expected
    status, named = await api(
        "GET", f"trio/api/tasks/{name}/logs/download", params={"log_file_name": "run1.log"}
    )
    assert status == 200 and named == expected
    status, err_log = await api("GET", f"trio/api/tasks/{name}/logs/download", params={"stream": "stderr"})
    assert status == 200 and err_log == b"oops\n"

    resp = await jp_fetch("trio", "api", "tasks", name, "logs", "download")
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert f"filename*=UTF-8''{name}--run1.log" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Length"] == str(len(expected))
    st = os.stat(run_dir / "output.log")
    identity = f"{st.st_dev:x}:{st.st_ino:x}"
    assert resp.headers["X-Pyruns-Log-Identity"] == identity
    status, _ = await api("GET", f"trio/api/tasks/{name}/logs/download", params={"log_identity": identity})
    assert status == 200

    secret = tmp_path / "secret.txt"
    secret.write_text("not for download")
    (run_dir / "stdout.log").unlink()
    (run_dir / "stdout.log").symlink_to(secret)
    for params, code in (
        ({"log_identity": "0:0"}, 409),
        ({"log_file_name": "queue.log"}, 422),
        ({"log_file_name": "run1.log", "run": "1"}, 422),
        ({"log_file_name": "run2.log"}, 404),
        ({"run": "2"}, 404),
        ({"stream": "stdout"}, 404),  # a symlink is never followed
        ({"stream": "both"}, 422),
    ):
        status, body = await api("GET", f"trio/api/tasks/{name}/logs/download", params=params)
        assert status == code, (params, body)
        assert body["error"]["status"] == code
    status, _ = await api("GET", "trio/api/tasks/nope/logs/download")
    assert status == 404


# ---- the machine
async def test_system_info_names_the_running_and_installed_versions(api):
    status, info = await api("GET", "trio/api/system/info")
    assert status == 200, info
    assert info["version"] == jupyter_trio.__version__
    assert info["installed_version"] == jupyter_trio.__version__ and info["restart_required"] is False
    assert info["update_supported"] is False and info["update_state"] == "unavailable"
    assert info["last_update"] is None and info["cpu_count"] >= 1
    _, again = await api("GET", "trio/api/system/info")
    assert len(info["instance_id"]) == 32 and again["instance_id"] == info["instance_id"]


async def test_system_metrics_report_cpu_memory_disk_and_the_runners_gpus(api, trio_app, monkeypatch):
    status, metrics = await api("GET", "trio/api/system/metrics")
    assert status == 200, metrics
    assert 0 <= metrics["cpu_percent"] <= 100 and 0 < metrics["mem_percent"] <= 100
    assert 0 < metrics["disk_used"] <= metrics["disk_total"] and 0 < metrics["disk_percent"] <= 100
    assert metrics["gpus"] == []  # gpus="none"

    fake = GPU(index=3, name="Fake GPU", uuid="GPU-fake", memory_total=8 * 1024**3)
    monkeypatch.setattr(trio_app.runner.gpu_source, "inventory", lambda: [fake])
    status, metrics = await api(
        "GET", "trio/api/system/metrics", params={"include_processes": "true", "detail": "true"}
    )
    assert status == 200
    [gpu] = metrics["gpus"]
    assert (gpu["id"], gpu["index"], gpu["name"], gpu["uuid"]) == (3, 3, "Fake GPU", "GPU-fake")
    assert gpu["mem_total"] == 8192.0  # MiB, from the inventory where NVML has no reading
    assert gpu["util"] is None and gpu["mem_used"] is None and gpu["processes"] == []

    for params in ({"include_processes": "maybe"}, {"interval": "1"}):
        status, body = await api("GET", "trio/api/system/metrics", params=params)
        assert status == 422 and body["error"]["code"] == "validation_error"
