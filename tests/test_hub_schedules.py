"""Schedules on a real JupyterHub: the user's server hands its schedules to the jupyter-trio service
(``python -m jupyter_trio.hub``), which starts the server when one is due while it is stopped (the service's
role holds ``servers!user=alice``: she opted in); the server, once up, fires the schedule and runs the job."""

from __future__ import annotations

import time

import httpx
import pytest

from jupyter_trio.testing import arbiter_hub, proxy_command, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(proxy_command() is None, reason="configurable-http-proxy missing (./dev installs it)"),
]


def service(hub, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{hub.url}/services/trio-gpus/", headers={"Authorization": f"token {token}"}, timeout=30
    )


def test_a_schedule_due_while_the_server_is_stopped_starts_it_and_runs(tmp_path):
    args = ["--TrioGPUArbiter.gpus=none", "--TrioGPUArbiter.schedule_check_interval=1"]
    with arbiter_hub(tmp_path, args, service_scopes=["servers!user=alice"]) as hub:
        token = hub.token_for("alice", scopes=["access:servers!user=alice", "custom:trio-schedules"])
        hub.start_server("alice")
        with hub.client("alice", token) as http:
            http.post("/trio/api/workspace/shell")
            task = http.post(
                "/trio/api/generator/create",
                json={
                    "name_prefix": "nightly",
                    "mode": "shell",
                    "shell_text": "echo ran at $(date +%s)",
                    "append_timestamp": False,
                },
            ).json()["items"][0]["name"]
            # every 30 s (seconds last): the next fire comes while the server is stopped
            made = http.post("/trio/api/schedules", json={"task": task, "cron": "* * * * * */30"}).json()
            assert "id" in made, made
        with service(hub, token) as svc:
            kept = wait_for(lambda: svc.get("api/schedules").json()["schedules"], timeout=30)
            assert [(k["id"], k["cron"], k["server"]) for k in kept] == [(made["id"], "* * * * * */30", "")]
            assert svc.put("api/schedules", json={"schedules": "all"}).status_code == 400
        # a token without the scope may not hand schedules over, nor read them
        bare = hub.token_for("alice", scopes=["access:servers!user=alice"])
        with service(hub, bare) as svc:
            assert svc.get("api/schedules").status_code == 403

        hub.stop_server("alice")
        stopped_at = time.time()
        assert not hub.server_running("alice")
        # the service starts the server at the next fire; the server fires the schedule on its own
        wait_for(lambda: hub.server_running("alice"), timeout=90, every=1)
        with hub.client("alice", token) as http:

            def ran_after_stop():
                reply = http.get(f"/trio/api/tasks/{task}")
                if reply.status_code != 200:  # the proxy may not route to the new server yet
                    return None
                runs = reply.json()["runs"]
                return [
                    r for r in runs if (r.get("started_at") or 0) > stopped_at and r["status"] == "completed"
                ]

            runs = wait_for(ran_after_stop, timeout=90, every=1)
            assert runs
            fired = http.get(f"/trio/api/schedules/{made['id']}").json()
            assert fired["fires"] >= 1 and fired["message"].startswith("started run")
            http.post(f"/trio/api/schedules/{made['id']}/pause")
        log = (hub.root / "jupyterhub.log").read_text()
        # it was the service that started her server (the Hub's access log names the caller)
        assert "POST /hub/api/users/alice/server (service-trio-gpus@" in log or (
            "POST /hub/api/users/alice/server (trio-gpus@" in log
        ), log[-3000:]
