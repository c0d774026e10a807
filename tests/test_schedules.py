"""Cron schedules through a live server: croniter's 6-field form fires runs, overlap skip/queue, mode
new_task, catch-up after downtime, pause/resume/delete, events, bad input; and (slow) a schedule and a
notebook job that survive a server SIGKILL + restart."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from jupyter_trio.testing import ServerProcess
from tests.test_events import events_until
from tests.test_notebook_jobs import write_notebook


async def shell_task(api, name: str, command: str) -> dict:
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": name, "mode": "shell", "shell_text": command, "append_timestamp": False},
    )
    assert status == 201, created
    return created["items"][0]


async def runs_of(api, name: str) -> list[dict]:
    status, task = await api("GET", f"trio/api/tasks/{name}")
    assert status == 200, task
    return task["runs"]


async def until(predicate, timeout: float = 30.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(every)


async def test_a_six_field_schedule_fires_runs_and_says_when_next(api, jp_ws_fetch):
    task = await shell_task(api, "tick", "echo fired")
    ws = await jp_ws_fetch("trio", "api", "events")
    status, made = await api(
        "POST",
        "trio/api/schedules",
        {"task": task["name"], "cron": "* * * * * */2", "timezone": "Asia/Shanghai"},
    )
    assert status == 201, made
    assert made["task"] == task["name"] and made["next_fire"] > time.time() - 0.5
    assert (made["overlap"], made["catchup"], made["mode"], made["paused"]) == (
        "skip",
        "skip",
        "rerun",
        False,
    )

    async def fired_twice():
        runs = await runs_of(api, task["name"])
        return len([r for r in runs if r["status"] == "completed"]) >= 2

    await until(fired_twice, timeout=20)
    status, now = await api("GET", f"trio/api/schedules/{made['id']}")
    assert now["fires"] >= 2 and now["last_task"] == task["name"]
    assert now["next_fire"] > now["last_fire"] and now["message"].startswith("started run")
    status, listed = await api("GET", "trio/api/schedules")
    assert [s["id"] for s in listed["schedules"]] == [made["id"]]
    events = await events_until(ws, lambda e: e["type"] == "schedule" and e["schedule"]["fires"] >= 2)
    assert events[-1]["schedule"]["id"] == made["id"] and events[-1]["schedule"]["task"] == task["name"]
    ws.close()
    status, _ = await api("DELETE", f"trio/api/schedules/{made['id']}")
    assert status == 204
    assert (await api("GET", f"trio/api/schedules/{made['id']}"))[0] == 404


async def test_overlap_skip_never_starts_a_second_run_while_one_runs(api, trio_app):
    task = await shell_task(api, "long", "sleep 4")
    status, made = await api("POST", "trio/api/schedules", {"task": task["name"], "cron": "* * * * * *"})
    assert status == 201, made

    async def skipped_some():
        _, s = await api("GET", f"trio/api/schedules/{made['id']}")
        return s if s["skipped"] >= 2 else None

    found = await until(skipped_some, timeout=15)
    assert found["fires"] == 1 and "was still running" in found["message"]
    assert len(await runs_of(api, task["name"])) == 1
    await api("POST", f"trio/api/schedules/{made['id']}/pause")
    trio_app.runner.kill_now(trio_app.store.tasks.get(task["id"]))


async def test_overlap_queue_runs_a_fire_after_the_running_run_ends(api, wait_task):
    task = await shell_task(api, "queued", "sleep 1.5; echo ok")
    status, made = await api(
        "POST", "trio/api/schedules", {"task": task["name"], "cron": "* * * * * *", "overlap": "queue"}
    )
    assert status == 201, made

    async def waited():
        _, s = await api("GET", f"trio/api/schedules/{made['id']}")
        return s if s["pending"] >= 1 else None

    await until(waited, timeout=10)
    _, paused = await api("POST", f"trio/api/schedules/{made['id']}/pause")
    assert paused["paused"] and paused["next_fire"] is None
    await api("PATCH", f"trio/api/schedules/{made['id']}", {"paused": False, "cron": "0 0 1 1 *"})

    async def second_run_done():
        runs = await runs_of(api, task["name"])
        return len([r for r in runs if r["status"] == "completed"]) >= 2

    await until(second_run_done, timeout=20)  # started by the end of run 1, not by a fire
    _, s = await api("GET", f"trio/api/schedules/{made['id']}")
    assert s["pending"] == 0 and "waited for the previous run" in s["message"]


async def test_mode_new_task_makes_a_task_per_fire_from_the_definition(api, jp_root_dir, wait_task):
    write_notebook(jp_root_dir / "daily.ipynb", "print(n * 2)", parameters="n = 1")
    status, job = await api(
        "POST", "trio/api/notebook-jobs", {"notebook": "daily.ipynb", "parameters": {"n": 21}, "run": False}
    )
    assert status == 201 and job["status"] == "pending", job
    status, made = await api(
        "POST",
        "trio/api/schedules",
        {"task": job["name"], "cron": "* * * * * */2", "mode": "new_task", "overlap": "queue"},
    )
    assert status == 201, made

    async def made_one():
        _, s = await api("GET", f"trio/api/schedules/{made['id']}")
        return s if s["fires"] >= 1 and s["last_task"] else None

    fired = await until(made_one, timeout=15)
    await api("POST", f"trio/api/schedules/{made['id']}/pause")
    child = await wait_task(fired["last_task"], "completed", "failed", timeout=60)
    assert child["status"] == "completed" and child["kind"] == "notebook_job", child
    assert child["name"].startswith(job["name"] + "-") and child["config"] == {"n": 21}
    _, log = await api("GET", f"trio/api/tasks/{child['name']}/logs")
    assert "42" in log["content"]
    _, original = await api("GET", f"trio/api/tasks/{job['name']}")
    assert original["status"] == "pending" and original["run_index"] == 0


async def test_missed_fires_after_downtime_follow_the_catchup_policy(api, trio_app):
    skip_task = await shell_task(api, "catch_skip", "echo a")
    once_task = await shell_task(api, "catch_once", "echo b")
    ids = {}
    for task, catchup in ((skip_task, "skip"), (once_task, "once")):
        status, made = await api(
            "POST", "trio/api/schedules", {"task": task["name"], "cron": "0 * * * *", "catchup": catchup}
        )
        assert status == 201, made
        ids[catchup] = made
    # the server comes back three hours after the first fire it should have made
    later = ids["skip"]["next_fire"] + 3 * 3600 + 5
    trio_app.schedules.tick(now=later)
    _, skipped = await api("GET", f"trio/api/schedules/{ids['skip']['id']}")
    assert (skipped["fires"], skipped["skipped"]) == (0, 1) and "catchup skip" in skipped["message"]
    assert skipped["next_fire"] > later
    _, caught = await api("GET", f"trio/api/schedules/{ids['once']['id']}")
    assert (caught["fires"], caught["skipped"]) == (1, 0) and "catching up" in caught["message"]
    assert len(await runs_of(api, skip_task["name"])) == 0
    assert len(await runs_of(api, once_task["name"])) == 1
    trio_app.schedules.tick(now=later + 1)  # acted on once, not again
    assert len(await runs_of(api, once_task["name"])) == 1


async def test_preview_and_a_deleted_task_takes_its_schedules(api, jp_ws_fetch):
    status, preview = await api(
        "POST", "trio/api/schedules/preview", {"cron": "30 9 * * 1-5", "timezone": "Europe/Paris", "count": 3}
    )
    assert status == 200, preview
    stamps = [time.gmtime(t) for t in preview["next"]]
    assert len(stamps) == 3 and all(s.tm_min == 30 and s.tm_hour in (7, 8) for s in stamps)
    assert all(s.tm_wday < 5 for s in stamps)
    task = await shell_task(api, "gone", "echo x")
    _, made = await api("POST", "trio/api/schedules", {"task": task["name"], "cron": "@daily"})
    ws = await jp_ws_fetch("trio", "api", "events")
    assert (await api("DELETE", f"trio/api/tasks/{task['name']}"))[0] in (200, 204)
    events = await events_until(ws, lambda e: e["type"] == "schedule.deleted")
    assert events[-1]["schedule"] == {"id": made["id"]}
    ws.close()
    assert (await api("GET", "trio/api/schedules"))[1]["schedules"] == []


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"cron": "61 * * * *"}, 422, "cron: '61 * * * *' does not parse"),
        ({"cron": "* * *"}, 422, "has 3 fields"),
        ({"cron": ""}, 422, "an expression is required"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, 422, "'Mars/Olympus' is not a known time zone"),
        (
            {"cron": "0 3 * * *", "overlap": "sometimes"},
            422,
            "overlap: 'sometimes' is not one of skip, queue",
        ),
        ({"cron": "0 3 * * *", "catchup": "all"}, 422, "catchup: 'all' is not one of skip, once"),
        ({"cron": "0 3 * * *", "mode": "fork"}, 422, "mode: 'fork'"),
        ({"cron": "0 3 * * *", "task": "no-such-task"}, 404, "no-such-task"),
        ({"cron": "0 3 * * *", "every": 1}, 422, "every"),
    ],
)
async def test_bad_schedules_are_refused(api, body, status, needle):
    task = await shell_task(api, "target", "echo x")
    got, reply = await api("POST", "trio/api/schedules", {"task": task["name"]} | body)
    assert got == status, reply
    assert needle in reply["error"]["message"], reply
    assert (await api("GET", "trio/api/schedules"))[1]["schedules"] == []
    got, reply = await api("POST", "trio/api/schedules/preview", {"cron": "nope nope"})
    assert got == 422 and "cron" in reply["error"]["message"]


# ---- across a server's death


def wait_for(fn, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_a_notebook_job_and_a_schedule_survive_a_server_sigkill(tmp_path):
    root = tmp_path / "root"
    cells = [f"import time; time.sleep(1); print('cell {i}', flush=True)" for i in range(5)]
    write_notebook(root / "long.ipynb", *cells)
    args = ("--TrioApp.max_cpu_jobs=4", "--TrioApp.poll_interval=0.1")
    first = ServerProcess(root, *args).start()
    try:
        with first.client() as client:
            job = client.post("/trio/api/notebook-jobs", json={"notebook": "long.ipynb", "name": "nb"})
            assert job.status_code == 201, job.text
            client.post("/trio/api/workspace/shell")
            shell = client.post(
                "/trio/api/generator/create",
                json={
                    "name_prefix": "beat",
                    "mode": "shell",
                    "shell_text": "date +%s",
                    "append_timestamp": False,
                },
            ).json()["items"][0]["name"]
            made = client.post("/trio/api/schedules", json={"task": shell, "cron": "* * * * * */2"}).json()
            wait_for(lambda: "cell 1" in client.get("/trio/api/tasks/nb/logs").json()["content"])
            wait_for(lambda: client.get(f"/trio/api/schedules/{made['id']}").json()["fires"] >= 1)
    finally:
        os.killpg(first.proc.pid, signal.SIGKILL)  # no shutdown at all
        first.proc.wait()
    time.sleep(1.0)
    second = ServerProcess(root, *args).start()
    try:
        with second.client() as client:
            before = client.get(f"/trio/api/schedules/{made['id']}").json()["fires"]
            done = wait_for(
                lambda: (
                    (t := client.get("/trio/api/tasks/nb").json())["status"] in ("completed", "failed") and t
                ),
                timeout=90,
            )
            assert done["status"] == "completed" and done["run_index"] == 1, done
            log = client.get("/trio/api/tasks/nb/logs").json()["content"]
            assert [line for line in log.splitlines() if line.startswith("cell ")] == [
                f"cell {i}" for i in range(5)
            ]
            outputs = client.get("/trio/api/tasks/nb/outputs").json()["outputs"]
            assert {o["name"] for o in outputs} == {"long.ipynb", "long.html"}
            # the schedule fires again under the new server
            wait_for(
                lambda: client.get(f"/trio/api/schedules/{made['id']}").json()["fires"] >= before + 2, 30
            )
            client.post(f"/trio/api/schedules/{made['id']}/pause")
    finally:
        second.stop()
