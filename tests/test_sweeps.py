"""Sweeps (issue 30) through a live server with real Optuna: trials are tasks, the study is Optuna's own."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

# A noisy quadratic with its optimum at x = 0.3, y = -0.2, reported per step: the noise shrinks with the
# step, so each trial's last value is close to its true loss.
QUADRATIC = """
import random, time
import jupyter_trio as trio

cfg = trio.read()
x, y = cfg["x"], cfg["opt"]["y"]
for step in range(cfg["steps"]):
    noise = random.gauss(0, 0.05) / (step + 1)
    trio.track("loss", (x - 0.3) ** 2 + (y + 0.2) ** 2 + noise, step=step)
    time.sleep(0.02)
trio.record(done=True)
"""

# A curve family whose late steps are predictable from the early ones (ASHA's premise): the curve of
# level a starts at 2a and falls to a. A pruned trial exits as soon as trio.should_prune() says so.
CURVES = """
import time
import jupyter_trio as trio

a = trio.read()["a"]
for step in range(40):
    trio.track("loss", a * (1 + 1 / (step + 1)), step=step)
    if trio.should_prune():
        raise SystemExit(0)
    time.sleep(0.05)
"""

SILENT = """
import jupyter_trio as trio
trio.track("something_else", 1.0, step=0)
"""


async def wait_sweep(api, name: str, *states: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, sweep = await api("GET", f"trio/api/sweeps/{name}")
        assert status == 200, sweep
        if sweep["state"] in states:
            return sweep
        if time.monotonic() > deadline:
            raise AssertionError(f"sweep {name} stayed {sweep['state']}, wanted {states}: {sweep}")
        await asyncio.sleep(0.1)


async def start(api, jp_root_dir, name: str, source: str, **body) -> dict:
    (jp_root_dir / f"{name}.py").write_text(source)
    status, sweep = await api("POST", "trio/api/sweeps", {"name": name, "script_path": f"{name}.py", **body})
    assert status == 201, sweep
    return sweep


async def test_a_sweep_finds_the_optimum_two_at_a_time_and_optuna_reads_its_study(api, jp_root_dir):
    space = "x: uniform(-1, 1)\nopt:\n  y: uniform(-1, 1)\nsteps: 8\n"
    await start(
        api,
        jp_root_dir,
        "quad",
        QUADRATIC,
        space=space,
        objective={"metric": "loss", "direction": "minimize"},
        n_trials=14,
        parallel=2,
        sampler="tpe",
        pruner="none",
        seed=7,
    )
    sweep = await wait_sweep(api, "quad", "completed", "failed", timeout=180)
    assert sweep["state"] == "completed", sweep
    assert sweep["trials_done"] == 14 and len(sweep["trials"]) == 14
    assert all(t["state"] == "complete" for t in sweep["trials"]), sweep["trials"]
    # the known optimum is 0 (plus noise): 14 trials of TPE get within the stated tolerance
    assert sweep["best"]["value"] < 0.15, sweep["best"]
    best = sweep["best"]["params"]
    assert abs(best["x"] - 0.3) < 0.4 and abs(best["opt.y"] + 0.2) < 0.4

    # 2 at once and never more: the trials' runs, from the tasks API
    spans = []
    for trial in sweep["trials"]:
        status, task = await api("GET", f"trio/api/tasks/{trial['task']}")
        assert status == 200 and task["status"] == "completed", task
        assert task["config"]["opt"]["y"] == trial["params"]["opt.y"] and task["config"]["steps"] == 8
        spans.append((task["started_at"], task["ended_at"]))
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most == 2

    # Optuna's own tools open the study where the server says it is
    status, ref = await api("GET", "trio/api/sweeps/quad/study")
    assert status == 200 and ref["study_name"] == "quad" and ref["storage"].startswith("sqlite:///")
    study = optuna.load_study(study_name=ref["study_name"], storage=ref["storage"])
    frozen = {t.number: t for t in study.get_trials()}
    assert len(frozen) == 14
    for trial in sweep["trials"]:
        ft = frozen[trial["number"]]
        assert ft.state == optuna.trial.TrialState.COMPLETE
        assert ft.params == trial["params"] and ft.value == pytest.approx(trial["value"])
        assert sorted(ft.intermediate_values) == list(range(8))  # every step once
        assert ft.user_attrs["task"] == trial["task"]
    assert study.best_value == pytest.approx(sweep["best"]["value"])
    status, found = await api("GET", "trio/api/sweeps/quad/importances")
    assert status == 200 and set(found["importances"]) == {"x", "opt.y"}
    assert sum(found["importances"].values()) == pytest.approx(1.0)


async def test_asha_prunes_the_trials_whose_early_steps_say_they_lose(api, jp_root_dir):
    await start(
        api,
        jp_root_dir,
        "curves",
        CURVES,
        space={"a": "uniform(0.1, 1)"},
        objective={"metric": "loss", "direction": "minimize"},
        n_trials=12,
        parallel=2,
        sampler="random",
        pruner="asha",
        seed=3,
    )
    sweep = await wait_sweep(api, "curves", "completed", "failed", timeout=240)
    assert sweep["state"] == "completed", sweep
    states = [t["state"] for t in sweep["trials"]]
    assert states.count("pruned") >= 0.3 * len(states), states
    assert set(states) <= {"complete", "pruned"}
    for trial in sweep["trials"]:
        status, task = await api("GET", f"trio/api/tasks/{trial['task']}")
        assert task["status"] == ("pruned" if trial["state"] == "pruned" else "completed"), task
    study = optuna.load_study(
        study_name="curves", storage=(await api("GET", "trio/api/sweeps/curves/study"))[1]["storage"]
    )
    assert sum(t.state == optuna.trial.TrialState.PRUNED for t in study.get_trials()) == states.count(
        "pruned"
    )


async def test_an_objective_never_tracked_fails_the_trials_and_stops_the_sweep(api, jp_root_dir):
    await start(
        api,
        jp_root_dir,
        "silent",
        SILENT,
        space={"lr": "loguniform(1e-5, 1e-1)"},
        objective={"metric": "val_acc", "direction": "maximize"},
        n_trials=10,
        parallel=1,
        stop_after_failures=2,
    )
    sweep = await wait_sweep(api, "silent", "failed", "completed", timeout=90)
    assert sweep["state"] == "failed"
    assert (
        "first 2 trials failed" in sweep["message"]
        and "objective `val_acc` was never tracked" in sweep["message"]
    )
    assert [t["state"] for t in sweep["trials"]] == ["fail", "fail"]
    status, task = await api("GET", f"trio/api/tasks/{sweep['trials'][0]['task']}")
    assert task["status"] == "failed" and task["error"] == "objective `val_acc` was never tracked"


async def test_pause_resume_add_trials_enqueue_and_stop(api, jp_root_dir):
    slow = "import time, jupyter_trio as trio\ntime.sleep(0.3)\ntrio.track('loss', trio.read()['x'])\n"
    await start(
        api,
        jp_root_dir,
        "ctl",
        slow,
        space={"x": "int(0, 100)"},
        objective={"metric": "loss"},
        n_trials=2,
        parallel=1,
        sampler="random",
    )
    status, paused = await api("POST", "trio/api/sweeps/ctl/pause")
    assert status == 200 and paused["state"] == "paused"
    status, again = await api("POST", "trio/api/sweeps/ctl/pause")
    assert status == 409 and "only a running sweep pauses" in again["error"]["message"]
    await asyncio.sleep(1.0)
    status, held = await api("GET", "trio/api/sweeps/ctl")
    # paused: no new trial started; a random sweep keeps its next trial asked ahead, its task held (pending)
    statuses = [(await api("GET", f"trio/api/tasks/{t['task']}"))[1]["status"] for t in held["trials"]]
    assert len(statuses) == 2 and statuses[1] == "pending", statuses
    status, resumed = await api("POST", "trio/api/sweeps/ctl/resume", {})
    assert status == 200 and resumed["state"] == "running"
    done = await wait_sweep(api, "ctl", "completed")
    assert len(done["trials"]) == 2
    # a finished sweep goes on with a grown budget; a hand-written config runs first
    status, enq = await api("POST", "trio/api/sweeps/ctl/trials", {"params": {"x": 42}})
    assert status == 202, enq
    status, grown = await api("POST", "trio/api/sweeps/ctl/resume", {"add_trials": 1})
    assert status == 200 and grown["n_trials"] == 3
    done = await wait_sweep(api, "ctl", "completed")
    assert done["trials"][2]["params"] == {"x": 42} and done["trials"][2]["value"] == 42
    status, bad = await api("POST", "trio/api/sweeps/ctl/trials", {"params": {"x": 1000}})
    assert status == 422 and "x=1000 is outside int(0, 100)" in bad["error"]["message"]
    # stop: no new trial; the sweep's tasks and study go with delete
    await api("POST", "trio/api/sweeps/ctl/resume", {"add_trials": 5})
    status, stopped = await api("POST", "trio/api/sweeps/ctl/stop")
    assert status == 200 and stopped["state"] == "stopped"
    status, listed = await api("GET", "trio/api/sweeps")
    assert [s["name"] for s in listed["items"]] == ["ctl"]
    tasks = [t["task"] for t in stopped["trials"]]
    status, _ = await api("DELETE", "trio/api/sweeps/ctl")
    assert status == 204
    assert (await api("GET", "trio/api/sweeps/ctl"))[0] == 404
    for task in tasks:
        assert (await api("GET", f"trio/api/tasks/{task}"))[0] == 404


async def test_a_random_sweep_holds_its_next_trial_and_drops_it_when_its_time_runs_out(api, jp_root_dir):
    """random and grid sweeps ask one trial ahead: its task is made but held (pending) while ``parallel``
    trials run, started by the runner the moment a slot frees; out of time, the held trial never runs: its
    task goes, and the study keeps it failed with the reason."""
    script = "import time, jupyter_trio as trio\ntime.sleep(0.4)\ntrio.track('loss', trio.read()['x'])\n"
    await start(
        api,
        jp_root_dir,
        "ahead",
        script,
        space={"x": "uniform(0, 1)"},
        objective={"metric": "loss"},
        n_trials=1000,
        parallel=2,
        sampler="random",
        timeout=2.5,
    )
    seen_held = False
    while (sweep := (await api("GET", "trio/api/sweeps/ahead"))[1])["state"] == "running":
        statuses = []
        for trial in sweep["trials"]:
            if trial["state"] == "running":
                status, task = await api("GET", f"trio/api/tasks/{trial['task']}")
                statuses.append(task["status"] if status == 200 else "gone")
        assert statuses.count("pending") <= 1, statuses  # (at most 2 at once: from the runs' spans, below)
        seen_held = seen_held or "pending" in statuses
        await asyncio.sleep(0.1)
    assert seen_held
    assert sweep["state"] == "completed" and "time budget ran out" in sweep["message"], sweep
    assert all(t["state"] == "complete" for t in sweep["trials"]), sweep["trials"]
    spans = []
    for trial in sweep["trials"]:
        status, task = await api("GET", f"trio/api/tasks/{trial['task']}")
        assert status == 200 and task["status"] == "completed"
        spans.append((task["started_at"], task["ended_at"]))
    assert max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans) <= 2
    # the held trial: told failed, with why, and no task or row of ours
    status, ref = await api("GET", "trio/api/sweeps/ahead/study")
    study = optuna.load_study(study_name=ref["study_name"], storage=ref["storage"])
    dropped = [t for t in study.get_trials() if t.number not in {x["number"] for x in sweep["trials"]}]
    assert len(dropped) == 1 and dropped[0].state == optuna.trial.TrialState.FAIL
    assert "time budget ran out" in dropped[0].user_attrs["not_run"]
    status, tasks = await api("GET", "trio/api/tasks", params={"name": "ahead-", "page_size": 1000})
    assert status == 200 and len(tasks["items"]) == len(sweep["trials"]), tasks


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"space": "x: uniform(1)"}, 422, "space: x: uniform(1): give a low and a high bound"),
        ({"space": {"lr": "loguniform(0, 1)"}}, 422, "space: lr: loguniform(0, 1): a log scale needs"),
        ({"space": "x: choice(a | a)"}, 422, "a choice appears twice"),
        ({"space": "x: 3"}, 422, "nothing to search"),
        ({"space": "x: [unclosed"}, 422, "space is not valid YAML"),
        ({"sampler": "grid", "space": {"x": "uniform(0, 1)"}}, 422, "grid sampler needs choice"),
        ({"script_path": "missing.py"}, 404, "no such script"),
        ({"script_path": "../outside.py"}, 403, ""),
        ({"name": "bad name!"}, 422, "sweep name"),
        ({"objective": {"metric": "loss", "direction": "up"}}, 422, "direction"),
        ({"n_trials": 0}, 422, "n_trials"),
    ],
)
async def test_bad_sweeps_are_refused_with_the_reason(api, jp_root_dir, body, status, words):
    (jp_root_dir / "ok.py").write_text("print('hi')\n")
    request = {
        "name": "s1",
        "script_path": "ok.py",
        "space": {"x": "uniform(0, 1)"},
        "objective": {"metric": "loss"},
        **body,
    }
    got, reply = await api("POST", "trio/api/sweeps", request)
    assert got == status, reply
    assert words in reply["error"]["message"]
    assert (await api("GET", "trio/api/sweeps"))[1]["items"] == []


async def test_a_second_sweep_of_the_same_name_is_a_conflict_and_preview_samples_the_space(api, jp_root_dir):
    await start(
        api, jp_root_dir, "dup", "print(1)\n", space={"x": "choice(1 | 2)"}, objective={"metric": "m"}
    )
    status, reply = await api(
        "POST",
        "trio/api/sweeps",
        {
            "name": "dup",
            "script_path": "dup.py",
            "space": {"x": "choice(1 | 2)"},
            "objective": {"metric": "m"},
        },
    )
    assert status == 409 and "already exists" in reply["error"]["message"]
    status, preview = await api(
        "POST",
        "trio/api/sweeps/preview",
        {"space": "lr: loguniform(1e-5, 1e-1)\nnet:\n  depth: int(2, 8)\nbs: 32\n"},
    )
    assert status == 200, preview
    assert preview["parameters"] == {"lr": "loguniform(1e-05, 0.1)", "net.depth": "int(2, 8)"}
    assert len(preview["samples"]) == 3
    for sample in preview["samples"]:
        assert sample["bs"] == 32 and 2 <= sample["net"]["depth"] <= 8 and 1e-5 <= sample["lr"] <= 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_optuna_dashboard_serves_the_sweeps_study(api, jp_root_dir):
    pytest.importorskip("optuna_dashboard")
    await start(
        api,
        jp_root_dir,
        "dash",
        QUADRATIC,
        space="x: uniform(-1, 1)\nopt:\n  y: uniform(-1, 1)\nsteps: 3\n",
        objective={"metric": "loss"},
        n_trials=3,
        parallel=2,
        pruner="none",
    )
    await wait_sweep(api, "dash", "completed")
    storage = (await api("GET", "trio/api/sweeps/dash/study"))[1]["storage"]
    port = free_port()
    dashboard = subprocess.Popen(
        [
            Path(sys.executable).parent / "optuna-dashboard",
            storage,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/studies", timeout=5) as reply:
                    studies = json.load(reply)["study_summaries"]
                break
            except OSError:
                assert dashboard.poll() is None, dashboard.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "optuna-dashboard did not start"
                await asyncio.sleep(0.3)
        [study] = [s for s in studies if s["study_name"] == "dash"]
        with urllib.request.urlopen(f"{base}/api/studies/{study['study_id']}?after=0", timeout=10) as reply:
            detail = json.load(reply)
        assert len(detail["trials"]) == 3
        assert all(t["state"] == "Complete" and len(t["intermediate_values"]) == 3 for t in detail["trials"])
    finally:
        dashboard.terminate()
        dashboard.wait(10)


@pytest.mark.slow
def test_a_server_killed_mid_sweep_goes_on_after_a_restart_and_counts_each_trial_once(tmp_path):
    from jupyter_trio.testing import ServerProcess

    root = tmp_path / "root"
    root.mkdir()
    (root / "steps.py").write_text(
        "import time, jupyter_trio as trio\n"
        "x = trio.read()['x']\n"
        "for step in range(6):\n"
        "    trio.track('loss', (x - 0.5) ** 2 + 1 / (step + 1), step=step)\n"
        "    time.sleep(0.15)\n"
    )
    body = {
        "name": "survivor",
        "script_path": "steps.py",
        "space": {"x": "uniform(0, 1)"},
        "objective": {"metric": "loss"},
        "n_trials": 8,
        "parallel": 2,
        "pruner": "none",
    }
    first = ServerProcess(root, "--TrioApp.max_cpu_jobs=2", "--TrioApp.poll_interval=0.05").start()
    try:
        with first.client() as client:
            assert client.post("/trio/api/sweeps", json=body).status_code == 201
            deadline = time.monotonic() + 60
            while (
                sum(t["state"] != "running" for t in client.get("/trio/api/sweeps/survivor").json()["trials"])
                < 2
            ):
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        first.proc.kill()  # SIGKILL: no shutdown, trials mid-run
        first.proc.wait()
    second = ServerProcess(root, "--TrioApp.max_cpu_jobs=2", "--TrioApp.poll_interval=0.05").start()
    try:
        with second.client() as client:
            deadline = time.monotonic() + 120
            while (sweep := client.get("/trio/api/sweeps/survivor").json())["state"] == "running":
                assert time.monotonic() < deadline, sweep
                time.sleep(0.2)
            ref = client.get("/trio/api/sweeps/survivor/study").json()
    finally:
        second.stop()
    assert sweep["state"] == "completed" and len(sweep["trials"]) == 8
    study = optuna.load_study(study_name=ref["study_name"], storage=ref["storage"])
    trials = study.get_trials()
    assert len(trials) == 8  # the budget met, no trial asked twice
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for trial in trials:  # each step reported once, whichever server saw it
        assert sorted(trial.intermediate_values) == list(range(6))


async def test_the_events_channel_pushes_a_sweeps_progress_and_its_new_best(api, jp_root_dir, jp_ws_fetch):
    from test_events import events_until, read_json

    ws = await jp_ws_fetch("trio", "api", "events")
    await read_json(ws)
    await start(
        api,
        jp_root_dir,
        "pushed",
        QUADRATIC,
        space="x: uniform(-1, 1)\nopt:\n  y: uniform(-1, 1)\nsteps: 2\n",
        objective={"metric": "loss"},
        n_trials=3,
        parallel=1,
        pruner="none",
    )
    events = await events_until(ws, lambda e: e["type"] == "sweep" and e["sweep"]["state"] == "completed")
    sweeps = [e["sweep"] for e in events if e["type"] == "sweep" and e["sweep"]["name"] == "pushed"]
    done = [s["trials_done"] for s in sweeps]
    assert done == sorted(done) and done[-1] == 3 and {1, 2} <= set(done)  # each trial's end is pushed
    final = sweeps[-1]
    status, sweep = await api("GET", "trio/api/sweeps/pushed")
    assert final["best"] == {"number": sweep["best"]["number"], "value": sweep["best"]["value"]}
    ws.close()


@pytest.mark.slow
async def test_a_paddlex_classification_task_swept_over_its_learning_rate(api, trio_app):
    pytest.importorskip("paddle")
    from test_training_runner import demo_project

    from dataset_fixtures import TINY_TRAIN

    pid = await demo_project(trio_app)
    space = {**TINY_TRAIN, "learning_rate": "loguniform(1e-4, 1e-2)"}
    status, sweep = await api(
        "POST",
        "trio/api/sweeps",
        {
            "name": "px-lr",
            "project_id": pid,
            "space": space,
            "objective": {"metric": "eval_acc1", "direction": "maximize"},
            "n_trials": 2,
            "parallel": 1,
            "pruner": "none",
        },
    )
    assert status == 201, sweep
    sweep = await wait_sweep(api, "px-lr", "completed", "failed", timeout=600)
    assert sweep["state"] == "completed", sweep
    for trial in sweep["trials"]:
        assert trial["state"] == "complete" and 0 <= trial["value"] <= 1
        status, task = await api("GET", f"trio/api/tasks/{trial['task']}")
        assert task["kind"] == "train" and task["project_id"] == pid and task["status"] == "completed"
        _, params = await api("GET", f"trio/api/tasks/{trial['task']}/params")
        assert params["train"]["learning_rate"] == pytest.approx(trial["params"]["learning_rate"])
        assert params["train"]["model"] == "MobileNetV3_small"
    # a space whose samples are not training parameters of the project's type is refused up front
    bad = {**space, "model": "choice(NotAModel | AlsoNot)"}
    status, reply = await api(
        "POST",
        "trio/api/sweeps",
        {"name": "px-bad", "project_id": pid, "space": bad, "objective": {"metric": "eval_acc1"}},
    )
    assert status == 422 and "model" in reply["error"]["message"]


async def test_a_seeded_sweep_resumed_does_not_replay_its_first_trials(api, jp_root_dir):
    await start(
        api,
        jp_root_dir,
        "seeded",
        "import jupyter_trio as trio\ntrio.track('loss', trio.read()['x'])\n",
        space={"x": "uniform(0, 1)"},
        objective={"metric": "loss"},
        n_trials=2,
        parallel=1,
        sampler="random",
        seed=11,
    )
    await wait_sweep(api, "seeded", "completed")
    await api("POST", "trio/api/sweeps/seeded/resume", {"add_trials": 2})
    sweep = await wait_sweep(api, "seeded", "completed")
    xs = [t["params"]["x"] for t in sweep["trials"]]
    assert len(xs) == 4 and len(set(xs)) == 4, xs


@pytest.mark.parametrize(
    "sampler, space",
    [
        ("grid", {"x": "choice(0.1 | 0.5 | 0.9)", "k": "int(1, 2)"}),
        ("cmaes", {"x": "uniform(0, 1)", "k": "int(1, 2)"}),
        ("random", {"x": "uniform(0, 1)", "k": "int(1, 2)"}),
    ],
)
async def test_each_sampler_runs_a_sweep(api, jp_root_dir, sampler, space):
    await start(
        api,
        jp_root_dir,
        f"s-{sampler}",
        "import jupyter_trio as trio\ncfg = trio.read()\ntrio.track('loss', (cfg['x'] - 0.5) ** 2 + cfg['k'])",  # noqa: E501
        space=space,
        objective={"metric": "loss"},
        n_trials=8 if sampler == "grid" else 6,  # a grid of 6 points stops at 6
        parallel=2,
        sampler=sampler,
        pruner="none",
        seed=5,
    )
    sweep = await wait_sweep(api, f"s-{sampler}", "completed", "failed")
    assert sweep["state"] == "completed" and [t["state"] for t in sweep["trials"]] == ["complete"] * 6
    if sampler == "grid":  # the grid's six points, each once
        assert sorted((t["params"]["x"], t["params"]["k"]) for t in sweep["trials"]) == [
            (x, k) for x in (0.1, 0.5, 0.9) for k in (1, 2)
        ]
    assert sweep["best"]["value"] == min(t["value"] for t in sweep["trials"])
