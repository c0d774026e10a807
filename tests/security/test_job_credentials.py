"""Issue 33, finding 1: a job holds its run's token, never the server's; its environment is not kept on disk.

The test server runs in this process, so this process's environment is the server's environment: the
credentials set here are what a careless runner would hand every job.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from jupyter_trio.runner.job_env import job_environ

SERVER_SECRET = "server-secret-0123456789abcdef"
HUB_SECRET = "hub-api-token-fedcba9876543210"

PROBE = textwrap.dedent(
    """
    import json, os, urllib.error, urllib.request

    url, token = os.environ["TRIO_SERVER_URL"], os.environ["TRIO_TOKEN"]

    def call(method, path, token=token):
        request = urllib.request.Request(
            url + path, method=method, data=b"" if method != "GET" else None,
            headers={"Authorization": f"token {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status
        except urllib.error.HTTPError as exc:
            return exc.code

    from jupyter_trio.client import ServiceClient
    from jupyter_trio.client.errors import TrioClientError

    client = ServiceClient()
    runs = client.create_rest_client().list_training_runs()
    try:
        client.call("POST", "trio/api/workspace/shell")
        sdk_write = "allowed"
    except TrioClientError as exc:
        sdk_write = type(exc).__name__
    with open(f"/proc/{os.getppid()}/environ", "rb") as fh:  # the job's supervisor (the shim)
        parent = fh.read().decode(errors="replace")
    print("PROBE " + json.dumps({
        "environ": dict(os.environ),
        "parent_environ": parent,
        "read": call("GET", "trio/api/tasks"),
        "read_paddlex": call("GET", "trio/paddlex/project/task"),
        "write": call("POST", "trio/api/workspace/shell"),
        "contents": call("GET", "api/contents"),
        "kernels": call("GET", "api/kernels"),
        "forged": call("GET", "trio/api/tasks", token=token[:-6] + "000000"),
        "sdk_runs": "training_runs" in runs,
        "sdk_write": sdk_write,
    }))
    """
)


def test_the_job_environment_drops_the_server_credentials_and_their_copies():
    environ = {
        "PATH": "/usr/bin",
        "JUPYTER_TOKEN": SERVER_SECRET,
        "JUPYTERHUB_API_TOKEN": HUB_SECRET,
        "JPY_API_TOKEN": HUB_SECRET,
        "MY_COPY": SERVER_SECRET,
        "HF_TOKEN": "the user's own, for their job",
        "OTHER": "configured-token",
        "NOTEBOOK_URL": f"http://127.0.0.1:8888/lab?token={SERVER_SECRET}",
        "JPY_COOKIE_SECRET": "0123456789abcdef0123",
    }
    assert job_environ(environ, also=("configured-token",)) == {
        "PATH": "/usr/bin",
        "HF_TOKEN": "the user's own, for their job",
    }
    # a short "secret" (a test token "1") is not looked for in other variables
    assert job_environ({"JUPYTER_TOKEN": "1", "OMP_NUM_THREADS": "1"}) == {"OMP_NUM_THREADS": "1"}


@pytest.mark.slow
async def test_a_job_reads_with_its_run_token_and_holds_no_server_credential(
    api, wait_task, trio_app, trio_workspace, jp_root_dir, monkeypatch
):
    monkeypatch.setenv("JUPYTER_TOKEN", SERVER_SECRET)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_SECRET)
    monkeypatch.setenv("JPY_API_TOKEN", HUB_SECRET)
    monkeypatch.setenv("SERVER_TOKEN_COPY", SERVER_SECRET)
    (jp_root_dir / "probe.py").write_text(PROBE)
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "probe", "mode": "shell", "shell_text": f"{sys.executable} probe.py", "run": True},
    )
    assert status == 201, created
    name = created["items"][0]["name"]
    task = await wait_task(name, "completed", "failed", timeout=90)
    _, log = await api("GET", f"trio/api/tasks/{name}/logs", params={"tail": "200"})
    assert task["status"] == "completed", log["content"]
    line = next(x for x in log["content"].splitlines() if x.startswith("PROBE "))
    probe = json.loads(line[len("PROBE ") :])

    environ = probe["environ"]
    server_token = trio_app.server_secrets()[0]
    for secret in (SERVER_SECRET, HUB_SECRET, server_token):
        assert secret not in environ.values() and secret not in probe["parent_environ"]
    for name_ in ("JUPYTER_TOKEN", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "SERVER_TOKEN_COPY"):
        assert name_ not in environ
    assert environ["TRIO_TOKEN"].startswith("trio-run.")
    # the run token reads the jupyter-trio API (both dialects, and through the SDK) and nothing else
    assert probe["read"] == 200 and probe["read_paddlex"] == 200 and probe["sdk_runs"] is True
    assert probe["write"] == 403 and probe["sdk_write"] != "allowed"
    assert probe["contents"] == 403 and probe["kernels"] == 403
    assert probe["forged"] == 403

    # nothing on disk or served keeps the environment
    run_dir = trio_workspace / "tasks" / task["id"] / "runs" / "1"
    command = json.loads((run_dir / "command.json").read_text())
    assert set(command) == {"argv", "cwd"}
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (SERVER_SECRET, HUB_SECRET, server_token):
                assert secret.encode() not in data, path
            if not path.name.endswith(".log"):  # the probe printed its own environment into its log
                assert environ["TRIO_TOKEN"].encode() not in data, path
    # nor is it served (a run from before the supervisor emptied it held the whole environment)
    status, _ = await api("GET", f"trio/api/files/tasks/{task['id']}/runs/1/command.json")
    assert status == 403

    # the run ended: its token opens nothing any more
    status, _ = await api(
        "GET", "trio/api/tasks", headers={"Authorization": f"token {environ['TRIO_TOKEN']}"}
    )
    assert status == 403


async def test_a_task_cannot_set_the_runner_credentials(api):
    await api("POST", "trio/api/workspace/shell")
    _, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "x", "mode": "shell", "shell_text": "true"}
    )
    name = created["items"][0]["name"]
    for variable in ("TRIO_TOKEN", "TRIO_SERVER_URL", "TRIO_TOKEN_CLAIM"):
        status, reply = await api("PATCH", f"trio/api/tasks/{name}/env", {"env": {variable: "mine"}})
        assert status == 422 and variable in reply["error"]["message"], reply
