"""GPU leases on a real JupyterHub: 3 users queue 10 GPU jobs each (30 at once) on an arbiter with 2 GPUs.

    .venv/bin/python bench/hub_bench.py

For every job: lease granted → the job's first statement (the arbiter's answer reaching the user's runner,
placement and launch), and lease requested → granted (waiting for a GPU; with 30 jobs on 2 GPUs that is
mostly the queue). No GPU is needed: the inventory is configured and jobs only read CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from runner_bench import summary

from jupyter_trio.testing import arbiter_hub

USERS = ["alice", "bob", "carol"]
JOBS_PER_USER = 10


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hub = arbiter_hub(Path(tmp), ["--TrioGPUArbiter.gpus=0,1"], ["--TrioApp.max_cpu_jobs=1"]).start()
        try:
            tokens = {u: hub.token_for(u) for u in USERS}
            boss = hub.token_for("boss")
            for u in USERS:
                hub.start_server(u)
            clients = {u: hub.client(u, tokens[u]) for u in USERS}
            names = {}
            for u in USERS:
                clients[u].post("/trio/api/workspace/shell")
                names[u] = []
                for _ in range(JOBS_PER_USER):
                    created = (
                        clients[u]
                        .post(
                            "/trio/api/generator/create",
                            json={
                                "name_prefix": "g",
                                "mode": "shell",
                                "shell_text": "echo $EPOCHREALTIME; sleep 0.5",
                                "gpus": 1,
                            },
                        )
                        .json()
                    )
                    names[u].append(created["items"][0]["name"])
            for u in USERS:  # 30 runs queued as fast as the three servers take them
                for name in names[u]:
                    clients[u].post(f"/trio/api/tasks/{name}/run", json={})
            for u in USERS:
                for name in names[u]:
                    deadline = time.time() + 600
                    while clients[u].get(f"/trio/api/tasks/{name}").json()["status"] != "completed":
                        assert time.time() < deadline
                        time.sleep(0.2)
            admin = httpx.Client(
                base_url=f"{hub.url}/services/trio-gpus/",
                headers={"Authorization": f"token {boss}"},
                timeout=30,
            )
            history = admin.get("api/leases", params={"all": 1, "ended": 1}).json()["leases"]
            to_start, waited = [], []
            for u in USERS:
                for name in names[u]:
                    task = clients[u].get(f"/trio/api/tasks/{name}").json()
                    first = float(clients[u].get(f"/trio/api/tasks/{name}/logs").json()["content"].split()[0])
                    [lease] = [x for x in history if x["user"] == u and x["job"].endswith(f"/{task['id']}/1")]
                    to_start.append((first - lease["granted_at"]) * 1000)
                    waited.append((lease["granted_at"] - lease["created_at"]) * 1000)
            grant, wait = summary(to_start), summary(waited)
            print(f"{len(USERS)} users x {JOBS_PER_USER} GPU jobs on 2 leased GPUs")
            print(
                f"lease granted -> job's first statement p50 {grant['p50']:.0f} ms, p95 {grant['p95']:.0f} ms"
            )
            print(
                f"lease requested -> granted (queue)       p50 {wait['p50']:.0f} ms, p95 {wait['p95']:.0f} ms"
            )
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
