"""jupyter-trio under a real JupyterHub (dummy authenticator, local process spawner, configurable-http-proxy
from npm), all on 127.0.0.1: identity, isolation between users, jobs that outlive their server, and the
idle culler, which must not stop a server while one of its jobs runs."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_trio.testing import HubProcess, proxy_command, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(proxy_command() is None, reason="configurable-http-proxy missing (./dev installs it)"),
]

JOB = """
import time
import jupyter_trio as trio
cfg = trio.load()
for i in range(cfg.lines):
    print(f"line {i}", flush=True)
    trio.track(x=float(i), step=i)
    trio.flush()
    time.sleep(cfg.pause)
trio.record(done=True, flush=True)
"""


def start_job(http: httpx.Client, home: Path, lines: int, pause: float, prefix: str = "job") -> str:
    home.mkdir(parents=True, exist_ok=True)
    (home / "job.py").write_text(JOB)
    (home / "config.yaml").write_text(f"lines: {lines}\npause: {pause}\n")
    assert http.post("/trio/api/workspace/run-root", json={"script_path": "job.py"}).status_code == 200
    reply = http.post("/trio/api/generator/create", json={"name_prefix": prefix, "run": True})
    assert reply.status_code == 201, reply.text
    return reply.json()["items"][0]["name"]


@pytest.fixture
def hub(tmp_path):
    with HubProcess(tmp_path / "hub") as running:
        yield running


def test_identity_and_isolation_on_every_route_family(hub):
    alice, bob = hub.token_for("alice"), hub.token_for("bob")
    with hub.admin() as admin:
        assert admin.post("/hub/api/groups/trainers", json={"users": ["alice"]}).status_code in (200, 201)
    hub.start_server("alice")
    hub.start_server("bob")
    with hub.client("alice", alice) as a, hub.client("alice", bob) as b_on_a, hub.client("bob", bob) as b:
        health = a.get("/trio/api/health").json()
        assert health["user"] == "alice" and health["identity"]["hub"] is True
        assert health["identity"]["admin"] is False and health["identity"]["groups"] == ["trainers"]
        assert a.get("/trio/api/v1/user").json()["groups"] == ["trainers"]
        assert "access:servers!user=alice" in health["identity"]["scopes"]
        assert health["workspace"] == str(hub.root / "home" / "alice" / ".trio")  # each user's own store
        assert a.get("/trio/api/v1/user").json()["name"] == "alice"
        name = start_job(a, hub.root / "home" / "alice", lines=3, pause=0.05)
        wait_for(lambda: a.get(f"/trio/api/tasks/{name}").json()["status"] == "completed")
        task = a.get(f"/trio/api/tasks/{name}").json()
        assert b.get("/trio/api/tasks").json()["total"] == 0  # bob's server keeps its own store
        # bob's token opens nothing on alice's server: REST, PaddleX, v1, files, archive links
        for path in (
            "/trio/api/tasks",
            f"/trio/api/tasks/{name}/logs",
            "/trio/paddlex/workspace",
            "/trio/api/v1/training_runs",
            f"/trio/api/files/tasks/{task['id']}",
            "/trio/api/v1/archives/weights/W0001?expires=9999999999&sig=00",
        ):
            refused = b_on_a.get(path)
            assert refused.status_code == 403, (path, refused.status_code)
        assert b_on_a.post(f"/trio/api/tasks/{name}/run", json={}).status_code == 403
        own = a.get("/trio/api/v1/archives/weights/W0001?expires=9999999999&sig=00").json()
        assert "authentication" not in json.dumps(
            own
        )  # alice gets past auth (and the bad signature is refused)
        assert "authentication" in b_on_a.get("/trio/api/tasks").json()["error"]["message"]
    # ...nor its websockets
    asyncio.run(check_websockets(hub, name, alice, bob))


async def check_websockets(hub: HubProcess, name: str, owner: str, other: str) -> None:
    base = hub.url.replace("http", "ws") + "/user/alice/trio/api"
    for path in ("/events", f"/tasks/{name}/logs/stream"):
        with pytest.raises(HTTPClientError) as err:
            await websocket_connect(HTTPRequest(base + path, headers={"Authorization": f"token {other}"}))
        assert err.value.code == 403
        conn = await websocket_connect(HTTPRequest(base + path, headers={"Authorization": f"token {owner}"}))
        assert json.loads(await conn.read_message())["type"] in ("hello", "chunk")
        conn.close()


PROBE = """
import json, os, urllib.error, urllib.request
import jupyter_trio as trio

def status(url, method="GET"):
    request = urllib.request.Request(
        url, method=method, data=b"" if method == "POST" else None,
        headers={"Authorization": "token " + os.environ["TRIO_TOKEN"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code

own = os.environ["TRIO_SERVER_URL"].rstrip("/")
print("PROBE " + json.dumps({
    "names": sorted(os.environ),
    "own_read": status(own + "/trio/api/tasks"),
    "own_write": status(own + "/trio/api/workspace/shell", "POST"),
    "hub_api": status(os.environ.get("JUPYTERHUB_API_URL", own) + "/user"),
    "other_user": status(trio.load().other + "/trio/api/tasks"),
}), flush=True)
"""


def test_a_job_on_the_hub_holds_its_run_token_not_the_users_hub_token(hub):
    """Issue 33, finding 1 on a real Hub: the job's environment has no Hub API token; its run token reads
    its own server's jupyter-trio API and opens nothing else (not the Hub's API, another user's server)."""
    alice, bob = hub.token_for("alice"), hub.token_for("bob")
    hub.start_server("alice")
    hub.start_server("bob")
    home = hub.root / "home" / "alice"
    home.mkdir(parents=True, exist_ok=True)
    (home / "probe.py").write_text(PROBE)
    (home / "config.yaml").write_text(f"other: {hub.url}/user/bob\n")
    with hub.client("alice", alice) as a, hub.client("bob", bob) as b:
        assert a.get("/trio/api/health").json()["user"] == "alice"
        assert a.post("/trio/api/workspace/run-root", json={"script_path": "probe.py"}).status_code == 200
        name = a.post("/trio/api/generator/create", json={"name_prefix": "probe", "run": True}).json()
        name = name["items"][0]["name"]
        task = wait_for(
            lambda: (t := a.get(f"/trio/api/tasks/{name}").json())["status"] in ("completed", "failed") and t
        )
        log = a.get(f"/trio/api/tasks/{name}/logs").json()["content"]
        assert task["status"] == "completed", log
        probe = json.loads(next(x for x in log.splitlines() if x.startswith("PROBE "))[len("PROBE ") :])
        assert b.get("/trio/api/health").status_code == 200
    assert "JUPYTERHUB_API_TOKEN" not in probe["names"] and "JPY_API_TOKEN" not in probe["names"]
    assert "TRIO_TOKEN" in probe["names"]
    assert probe["own_read"] == 200 and probe["own_write"] == 403
    assert probe["hub_api"] in (401, 403) and probe["other_user"] == 403


def test_a_job_outlives_its_server_stopped_by_the_hub(hub):
    token = hub.token_for("alice")
    hub.start_server("alice")
    with hub.client("alice", token) as a:
        name = start_job(a, hub.root / "home" / "alice", lines=40, pause=0.1)
        wait_for(lambda: a.get(f"/trio/api/tasks/{name}").json()["status"] == "running")
    hub.stop_server("alice")  # the Hub's spawner signals the server; the job's supervisor is not its child
    time.sleep(5)  # the job finishes while no server runs
    hub.start_server("alice")
    with hub.client("alice", token) as a:
        task = wait_for(lambda: (t := a.get(f"/trio/api/tasks/{name}").json())["status"] == "completed" and t)
        assert task["exit_code"] == 0
        log = a.get(f"/trio/api/tasks/{name}/logs").json()["content"]
        assert log.splitlines() == [f"line {i}" for i in range(40)]
        series = a.get(f"/trio/api/tasks/{name}/metrics/x").json()
        assert series["steps"] == list(range(40))


def test_the_idle_culler_waits_for_running_jobs(tmp_path):
    culler = {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=20", "--cull-every=5"],
    }
    role = {
        "name": "idle-culler",
        "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    }
    with HubProcess(tmp_path / "hub", services=[culler], roles=[role]) as hub:
        token = hub.token_for("alice")
        hub.start_server("alice")
        with hub.client("alice", token) as a:
            name = start_job(a, hub.root / "home" / "alice", lines=45, pause=1.0)
            wait_for(lambda: a.get(f"/trio/api/tasks/{name}").json()["status"] == "running")
        started = time.monotonic()
        # no request reaches the server from here on: only the running job keeps it "active"
        while time.monotonic() - started < 40:
            assert hub.server_running("alice"), "culled while its job was running"
            time.sleep(2)
        # the job ends at ~45 s; then the server is idle and the culler (20 s timeout) stops it
        wait_for(lambda: not hub.server_running("alice"), timeout=90, every=1)
        assert time.monotonic() - started > 45
        hub.start_server("alice")
        with hub.client("alice", token) as a:
            assert a.get(f"/trio/api/tasks/{name}").json()["status"] == "completed"


def test_a_guest_on_a_shared_server_is_recorded_as_the_creator(hub):
    alice, bob = hub.token_for("alice"), hub.token_for("bob")
    hub.start_server("alice")
    with hub.admin() as admin:
        shared = admin.post("/hub/api/shares/alice/", json={"user": "bob"})
        assert shared.status_code in (200, 201), shared.text
    with hub.client("alice", alice) as a, hub.client("alice", bob) as guest:
        assert guest.get("/trio/api/health").json()["user"] == "bob"  # the guest is who the Hub says
        mine = start_job(a, hub.root / "home" / "alice", lines=1, pause=0.0, prefix="mine")
        assert guest.post("/trio/api/workspace/run-root", json={"script_path": "job.py"}).status_code == 200
        theirs = guest.post("/trio/api/generator/create", json={"name_prefix": "guest", "run": True}).json()
        name = theirs["items"][0]["name"]
        wait_for(lambda: guest.get(f"/trio/api/tasks/{name}").json()["status"] == "completed")
        task = guest.get(f"/trio/api/tasks/{name}").json()
        assert task["owner"] == "bob" and task["runs"][0]["created_by"] == "bob"
        # alice reruns the guest's task: that run is hers
        assert a.post(f"/trio/api/tasks/{name}/run", json={}).status_code == 202
        wait_for(lambda: a.get(f"/trio/api/tasks/{name}").json()["status"] == "completed")
        assert [r["created_by"] for r in a.get(f"/trio/api/tasks/{name}").json()["runs"]] == ["bob", "alice"]
        by_bob = a.get("/trio/api/tasks", params={"owner": "bob"}).json()["items"]
        assert [t["name"] for t in by_bob] == [name]
        assert [t["name"] for t in a.get("/trio/api/tasks", params={"owner": "alice"}).json()["items"]] == [
            mine
        ]
