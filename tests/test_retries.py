"""Retries (issue 34): ``max_retries`` and ``retry_on`` per task, set at creation (the generator) or with a
run request; a run ending in a ``retry_on`` way is queued again after a back-off that doubles, each attempt
a run of the task's history that names the run it retries; a cancel is never retried; a training task with
a saved checkpoint resumes from it."""

from __future__ import annotations

import pytest

from jupyter_trio.domain import Run, RunState, ScheduledRun
from jupyter_trio.services.retries import RetryPolicy, reason_of

DELAY = 0.3


@pytest.fixture
def trio_config() -> dict:
    return {"retry_delay": DELAY}


async def shell(api, command: str, **extra) -> str:
    await api("POST", "trio/api/workspace/shell")
    body = {"name_prefix": "r", "mode": "shell", "shell_text": command, "run": True, **extra}
    status, created = await api("POST", "trio/api/generator/create", body)
    assert status == 201, created
    return created["items"][0]["name"]


async def settled(api, wait_task, name: str, runs: int, status: str) -> dict:
    """The task once it has ``runs`` runs and the last ended ``status``."""
    import asyncio
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, task = await api("GET", f"trio/api/tasks/{name}")
        if len(task["runs"]) == runs and task["runs"][-1]["status"] == status:
            await asyncio.sleep(3 * DELAY * 2**runs)  # and no further retry comes
            _, task = await api("GET", f"trio/api/tasks/{name}")
            return task
        await asyncio.sleep(0.05)
    raise AssertionError(task)


async def test_a_failing_script_gets_its_retries_then_stays_failed(api, wait_task):
    name = await shell(api, "echo attempt; exit 3", max_retries=2)
    task = await settled(api, wait_task, name, 3, "failed")
    assert task["max_retries"] == 2 and task["retry_on"] == ["failed", "interrupted"]
    runs = task["runs"]
    assert len(runs) == 3 and [r["status"] for r in runs] == ["failed"] * 3
    assert [r["retry_of"] for r in runs] == [None, 1, 2]
    assert all(r["exit_code"] == 3 for r in runs)
    # the back-off doubles: each retry waited at least its delay after the run it retries ended
    assert runs[1]["started_at"] - runs[0]["ended_at"] >= DELAY - 0.05
    assert runs[2]["started_at"] - runs[1]["ended_at"] >= 2 * DELAY - 0.05
    assert runs[1]["not_before"] >= runs[0]["ended_at"] + DELAY - 0.05


async def test_a_retry_that_succeeds_ends_the_chain(api, wait_task, tmp_path):
    marker = tmp_path / "tried"
    name = await shell(
        api, f"if [ -e {marker} ]; then echo ok; else touch {marker}; exit 1; fi", max_retries=3
    )
    task = await settled(api, wait_task, name, 2, "completed")
    assert [r["status"] for r in task["runs"]] == ["failed", "completed"] and task["status"] == "completed"


async def test_reasons_not_listed_and_cancels_are_not_retried(api, wait_task):
    name = await shell(api, "exit 1", max_retries=2, retry_on=["interrupted"])
    task = await settled(api, wait_task, name, 1, "failed")
    assert len(task["runs"]) == 1
    name = await shell(api, "sleep 30", max_retries=2)
    await wait_task(name, "running")
    await api("POST", f"trio/api/tasks/{name}/cancel")
    task = await settled(api, wait_task, name, 1, "cancelled")
    assert len(task["runs"]) == 1


async def test_a_run_request_sets_the_budget_and_bad_budgets_are_refused(api, wait_task):
    name = await shell(api, "exit 2")
    task = await settled(api, wait_task, name, 1, "failed")
    status, _ = await api("POST", f"trio/api/tasks/{name}/run", {"max_retries": 1})
    assert status == 202
    task = await settled(api, wait_task, name, 3, "failed")  # the new run, and its one retry
    assert task["max_retries"] == 1 and [r["retry_of"] for r in task["runs"]] == [None, None, 2]
    for body in ({"max_retries": 21}, {"max_retries": -1}, {"retry_on": ["sometimes"]}):
        status, error = await api("POST", f"trio/api/tasks/{name}/run", body)
        assert status == 422, (body, error)
    await api("POST", "trio/api/workspace/shell")
    status, error = await api(
        "POST", "trio/api/generator/create", {"mode": "shell", "shell_text": "true", "retry_on": ["never"]}
    )
    assert status == 422, error


def test_the_reasons_of_a_runs_end():
    def run(status: RunState, message: str = "") -> Run:
        return Run(task_id="T1", run_index=1, status=status, queued_at=0.0, message=message)

    assert reason_of(run(RunState.FAILED, "exit 1")) == "failed"
    assert reason_of(run(RunState.INTERRUPTED)) == "interrupted"
    assert reason_of(run(RunState.FAILED, "GPU lease lost: the arbiter ended it")) == "lost_lease"
    assert reason_of(run(RunState.CANCELLED, "GPU lease lost (410)")) == "lost_lease"
    assert [reason_of(run(s)) for s in (RunState.COMPLETED, RunState.CANCELLED, RunState.PRUNED)] == [
        None
    ] * 3


def test_a_training_task_with_a_checkpoint_resumes_on_retry(tmp_path):
    """The policy's choice for a train task: resume (from its last saved epoch) when there is one, else start
    over; the runner and training service are stand-ins recording what they were asked."""
    from jupyter_trio.domain import Task, TaskKind, TaskState
    from jupyter_trio.store import Store

    store = Store(tmp_path / "ws")

    class Asked:
        def __init__(self, resumable: bool):
            self.resumable, self.calls = resumable, []

        def resume_info(self, tid):
            return self.resumable, 3

        def resume(self, tid, **submit):
            self.calls.append(("resume", tid, submit))

        def submit(self, task, **submit):
            self.calls.append(("submit", task.id, submit))

    task = Task(
        id="T0001",
        name="train-1",
        kind=TaskKind.TRAIN,
        owner="me",
        status=TaskState.FAILED,
        path="tasks/T0001",
        created_at=0.0,
        updated_at=0.0,
        max_retries=1,
    )
    for resumable, expected in ((True, "resume"), (False, "submit")):
        fake = Asked(resumable)
        policy = RetryPolicy(store, fake, fake, delay_s=1.0)  # type: ignore[arg-type]
        policy._queue(task, 1, 123.0, "retry 1 of 1")
        [(what, tid, submit)] = fake.calls
        assert (what, tid) == (expected, "T0001")
        assert submit == {"retry_of": 1, "not_before": 123.0, "message": "retry 1 of 1"}
    store.close()


def test_the_chain_of_attempts_is_counted_back(tmp_path):
    from jupyter_trio.domain import NewTask
    from jupyter_trio.store import Store

    store = Store(tmp_path / "ws")
    with store.db.transaction() as conn:
        [tid] = store.tasks.insert_many(conn, [NewTask(name="t", kind="shell", owner="me", command="true")])
    first = store.tasks.add_run(tid)
    second = store.tasks.add_run(tid, retry_of=first)
    third = store.tasks.add_run(tid, retry_of=second)
    policy = RetryPolicy(store, None, None)  # type: ignore[arg-type]
    assert [policy.attempts_before(tid, store.tasks.run(tid, i)) for i in (first, second, third)] == [0, 1, 2]
    item = ScheduledRun(run=store.tasks.run(tid, third), task_name="t", kind="shell", priority=0, gpu_count=0)
    assert item.run.retry_of == second
    store.close()
