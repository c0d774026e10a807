"""GPU arbitration across JupyterHub users: the real Hub, the arbiter as a Hub-managed service
(``python -m jupyter_trio.hub``) with a configured inventory of 2 GPUs (no NVML needed), and three users'
servers with ``--TrioApp.gpu_source=hub``. Jobs only read ``CUDA_VISIBLE_DEVICES``: what is tested is who
gets which index, when, and that no index is ever given to two jobs at once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
import pytest

from jupyter_trio.testing import HubProcess, arbiter_hub, proxy_command, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(proxy_command() is None, reason="configurable-http-proxy missing (./dev installs it)"),
]


@pytest.fixture
def hub(tmp_path):
    args = [
        "--TrioGPUArbiter.gpus=0,1",
        "--TrioGPUArbiter.max_gpus_per_user=1",
        "--TrioGPUArbiter.lease_ttl=6",
    ]
    with arbiter_hub(tmp_path, args) as running:
        yield running


def gpu_job(http: httpx.Client, prefix: str, seconds: float) -> str:
    http.post("/trio/api/workspace/shell")
    reply = http.post(
        "/trio/api/generator/create",
        json={
            "name_prefix": prefix,
            "mode": "shell",
            "shell_text": f'echo "CUDA=$CUDA_VISIBLE_DEVICES"; sleep {seconds}',
            "gpus": 1,
            "run": True,
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["items"][0]["name"]


def arbiter(hub: HubProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{hub.url}/services/trio-gpus/", headers={"Authorization": f"token {token}"}, timeout=30
    )


def test_six_jobs_of_three_users_share_two_gpus_fairly(hub):
    users = ["alice", "bob", "carol"]
    tokens = {u: hub.token_for(u) for u in users}
    boss = hub.token_for("boss")
    for u in users:
        hub.start_server(u)
    clients = {u: hub.client(u, tokens[u]) for u in users}
    health = clients["alice"].get("/trio/api/health").json()
    assert health["gpu_source"] == "hub" and [g["index"] for g in health["gpus"]] == [0, 1]

    # the admin's view, sampled all along: never more than 2 GPUs held, never one index twice
    violations, samples, stop = [], [], threading.Event()

    def watch():
        with arbiter(hub, boss) as admin:
            while not stop.is_set():
                leases = admin.get("api/leases", params={"all": 1}).json()["leases"]
                held = [g for x in leases if x["state"] == "granted" for g in x["gpus"]]
                samples.append(held)
                if len(held) > 2 or len(set(held)) != len(held):
                    violations.append(held)
                time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # alice first (one of hers waits on her quota of 1), then bob, then carol
    names = {"alice": [gpu_job(clients["alice"], "a", 4), gpu_job(clients["alice"], "a", 4)]}
    with arbiter(hub, boss) as admin:
        wait_for(
            lambda: any(
                x["state"] == "granted" for x in admin.get("api/leases", params={"all": 1}).json()["leases"]
            )
        )
    names["bob"] = [gpu_job(clients["bob"], "b", 4), gpu_job(clients["bob"], "b", 4)]
    names["carol"] = [gpu_job(clients["carol"], "c", 4), gpu_job(clients["carol"], "c", 4)]
    for u in users:
        for name in names[u]:
            done = lambda c=clients[u], n=name: c.get(f"/trio/api/tasks/{n}").json()["status"] == "completed"
            wait_for(done, 120)
    stop.set()
    watcher.join(10)
    assert violations == [] and max(len(h) for h in samples) == 2

    with arbiter(hub, boss) as admin:
        history = admin.get("api/leases", params={"all": 1, "ended": 1}).json()["leases"]
    assert len(history) == 6 and all(x["state"] == "released" for x in history)
    # each job saw exactly the index it was leased
    for u in users:
        for name in names[u]:
            task = clients[u].get(f"/trio/api/tasks/{name}").json()
            log = clients[u].get(f"/trio/api/tasks/{name}/logs").json()["content"]
            [lease] = [x for x in history if x["user"] == u and x["job"].endswith(f"/{task['id']}/1")]
            assert log.strip() == f"CUDA={lease['gpus'][0]}" and task["assigned_gpus"] == lease["gpus"]
    # fair share: when alice's first job ended, carol (no GPU time yet) went before alice's second
    order = [x["user"] for x in sorted(history, key=lambda x: x["granted_at"])]
    assert order[0] == "alice" and order[2] == "carol", order  # FIFO would have given alice the third

    # an admin revokes a lease: the job holding it is stopped, with the reason
    name = gpu_job(clients["alice"], "revoked", 60)
    wait_for(lambda: clients["alice"].get(f"/trio/api/tasks/{name}").json()["status"] == "running")
    with arbiter(hub, boss) as admin:
        [lease] = [
            x for x in admin.get("api/leases", params={"all": 1}).json()["leases"] if x["state"] == "granted"
        ]
        assert admin.delete(f"api/leases/{lease['id']}").json()["state"] == "revoked"
    task = wait_for(
        lambda: (t := clients["alice"].get(f"/trio/api/tasks/{name}").json())["status"] == "cancelled" and t,
        30,
    )
    assert "revoked by boss" in (task["message"] or "")
    for c in clients.values():
        c.close()


def test_quota_isolation_and_leases_that_follow_their_jobs(hub):
    alice, bob = hub.token_for("alice"), hub.token_for("bob")
    hub.start_server("alice")
    hub.start_server("bob")
    with hub.client("alice", alice) as a, hub.client("bob", bob) as b:
        # a request above the quota is a clear 4xx at submit time
        a.post("/trio/api/workspace/shell")
        created = a.post(
            "/trio/api/generator/create",
            json={"name_prefix": "big", "mode": "shell", "shell_text": "true", "gpus": 2},
        ).json()
        refused = a.post(f"/trio/api/tasks/{created['items'][0]['name']}/run", json={})
        assert refused.status_code == 422 and "quota is 1 per user" in refused.json()["error"]["message"]

        name = gpu_job(a, "long", 12)
        wait_for(lambda: a.get(f"/trio/api/tasks/{name}").json()["status"] == "running")
        with arbiter(hub, alice) as mine, arbiter(hub, bob) as theirs:
            [lease] = mine.get("api/leases").json()["leases"]
            assert lease["state"] == "granted" and "secret" not in lease
            # bob sees that a GPU is taken, not whose, and cannot touch alice's lease
            states = {g["index"]: g for g in theirs.get("api/gpus").json()["gpus"]}
            assert (
                states[lease["gpus"][0]]["state"] == "other"
                and states[lease["gpus"][0]]["user"] == "another user"
            )
            assert theirs.get(f"api/leases/{lease['id']}").status_code == 404
            assert theirs.delete(f"api/leases/{lease['id']}").status_code == 404
            assert theirs.get("api/leases").json()["leases"] == []
            no_scope = hub.token_for("bob", scopes=["read:users!user=bob"])
            with arbiter(hub, no_scope) as scopeless:
                assert scopeless.get("api/leases").status_code == 403
            yours = {"index": lease["gpus"][0], "state": "yours", "user": "alice", "unleased": []}
            wait_for(lambda: yours in a.get("/trio/api/health").json()["gpu_states"], 10)

        # alice's server is SIGKILLed while the job holds the lease: the job's supervisor keeps renewing it
        server_pid = next(
            p.pid
            for p in __import__("psutil").process_iter(["cmdline", "environ"])
            if "jupyterhub.singleuser" in " ".join(p.info["cmdline"] or [])
            and (p.info["environ"] or {}).get("JUPYTERHUB_USER") == "alice"
        )
        os.kill(server_pid, signal.SIGKILL)
        time.sleep(8)  # longer than the 6 s TTL: only renewals keep it
        with arbiter(hub, alice) as mine:
            [kept] = mine.get("api/leases").json()["leases"]
            assert kept["state"] == "granted"
            # the job ends (its 12 s): released right away by its supervisor, server or no server
            ended = wait_for(
                lambda: (x := mine.get(f"api/leases/{lease['id']}").json())["state"] != "granted" and x, 30
            )
            assert ended["state"] == "released"

        # a job whose whole process tree dies while its server is down: the lease expires (TTL 6 s)
        name = gpu_job(b, "doomed", 120)
        wait_for(lambda: b.get(f"/trio/api/tasks/{name}").json()["status"] == "running")
        task = b.get(f"/trio/api/tasks/{name}").json()
    hub.stop_server("bob")
    shim = json.loads(
        (hub.root / "home" / "bob" / ".trio" / "tasks" / task["id"] / "runs" / "1" / "shim.json").read_text()
    )
    os.killpg(shim["pgid"], signal.SIGKILL)
    with arbiter(hub, bob) as theirs:
        gone = wait_for(
            lambda: [
                x
                for x in theirs.get("api/leases", params={"ended": 1}).json()["leases"]
                if x["state"] == "expired"
            ],
            30,
        )
        assert gone[0]["gpus"] and "not renewed" in gone[0]["message"]
        assert all(g["state"] == "free" for g in theirs.get("api/gpus").json()["gpus"])
