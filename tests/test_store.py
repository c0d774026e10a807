"""The workspace store: migrations from older schemas, concurrent writers, PaddleX-style ids."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
import time

import pytest

from jupyter_trio.store import SCHEMA_VERSION, SchemaTooNewError, Store
from jupyter_trio.store.db import Database
from jupyter_trio.store.ids import allocate
from jupyter_trio.store.migrations import MIGRATIONS, migrate


def test_new_store_is_wal_and_at_latest_schema(tmp_path):
    store = Store(tmp_path / "ws")
    assert store.schema_version == SCHEMA_VERSION
    assert store.db.scalar("PRAGMA journal_mode") == "wal"
    assert store.db.scalar("PRAGMA foreign_keys") == 1
    tables = {r[0] for r in store.db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "users",
        "datasets",
        "projects",
        "tasks",
        "runs",
        "checkpoints",
        "weights",
        "sessions",
        "samplers",
    } <= tables
    for folder in ("datasets", "projects", "tasks", "weights", "exports", "uploads"):
        assert (tmp_path / "ws" / folder).is_dir()


def test_store_written_by_schema_v1_opens_and_migrates_keeping_data(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    old = Database(ws / "trio.db")
    migrate(old, target=1)
    assert old.scalar("PRAGMA user_version") == 1
    with old.transaction() as conn:
        conn.execute("INSERT INTO users VALUES ('ada', 'Ada', 1.0, 2.0)")
        conn.execute(
            "INSERT INTO tasks(id, name, kind, owner, status, path, created_at, updated_at) "
            "VALUES ('T0007', 'old-task', 'script', 'ada', 'completed', 'tasks/T0007', 1.0, 1.0)"
        )
    old.close()

    store = Store(ws)
    assert store.migrated_from == 1
    assert store.schema_version == SCHEMA_VERSION
    assert store.users.get("ada")["display_name"] == "Ada"
    assert store.db.scalar("SELECT name FROM tasks WHERE id = 'T0007'") == "old-task"
    indexes = {r[0] for r in store.db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "tasks_by_status" in indexes
    assert allocate(store.db, "task") == "T0001"  # v2 counters exist and work


def test_v4_paddlex_status_names_become_native_names(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    old = Database(ws / "trio.db")
    migrate(old, target=4)
    with old.transaction() as conn:
        for did, status in (("D0001", "XSPLITED"), ("D0002", "XCOPYDONE"), ("D0003", "XCHECKFAIL")):
            conn.execute(
                "INSERT INTO datasets(id, owner, name, dataset_type, status, path, created_at, updated_at) "
                "VALUES (?, 'ada', 'd', 'classification', ?, 'datasets/x', 1.0, 1.0)",
                (did, status),
            )
        conn.execute(
            "INSERT INTO weights(id, owner, kind, name, status, path, created_at) "
            "VALUES ('PM0001', 'ada', 'pretrained', 'w', 'XPSAVEDONE', 'weights/PM0001', 1.0)"
        )
    old.close()
    store = Store(ws)
    assert [d.status for d in store.datasets.list()] == ["split", "imported", "check_failed"]
    assert store.weights.get("PM0001").status == "saved"


def test_reopening_an_up_to_date_store_changes_nothing(tmp_path):
    Store(tmp_path / "ws").close()
    again = Store(tmp_path / "ws")
    assert again.migrated_from == SCHEMA_VERSION


def test_store_from_a_newer_release_is_refused_not_damaged(tmp_path):
    ws = tmp_path / "ws"
    Store(ws).close()
    conn = sqlite3.connect(ws / "trio.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="Upgrade jupyter-trio"):
        Store(ws)


def test_every_migration_step_applies_on_its_own(tmp_path):
    for target in range(1, len(MIGRATIONS) + 1):
        db = Database(tmp_path / f"v{target}.db")
        migrate(db, target=target)
        assert db.scalar("PRAGMA user_version") == target
        db.close()


def test_ids_look_like_paddlex_and_never_repeat(tmp_path):
    store = Store(tmp_path / "ws")
    assert [allocate(store.db, "dataset") for _ in range(3)] == ["D0001", "D0002", "D0003"]
    assert allocate(store.db, "project") == "P0001"
    assert allocate(store.db, "pretrained") == "PM0001"
    assert allocate(store.db, "exported") == "EM0001"


WRITES_PER_WORKER = 150


def _hammer(workspace: str, worker: str, out) -> None:
    """Write tasks as fast as possible; report the ids or the error text."""
    try:
        store = Store(workspace)
        ids = []
        for i in range(WRITES_PER_WORKER):
            with store.db.transaction() as conn:
                from jupyter_trio.store.ids import next_id

                task_id = next_id(conn, "task")
                now = time.time()
                conn.execute(
                    "INSERT INTO tasks(id, name, kind, owner, status, path, created_at, updated_at) "
                    "VALUES (?, ?, 'script', ?, 'queued', ?, ?, ?)",
                    (task_id, f"{worker}-{i}", worker, f"tasks/{task_id}", now, now),
                )
            store.users.touch(f"{worker}-{i}")
            ids.append(task_id)
        out.put(("ok", worker, ids))
    except Exception as exc:  # the test asserts there are none
        out.put(("error", worker, repr(exc)))


def test_concurrent_processes_and_threads_write_without_lock_errors(tmp_path):
    workspace = str(tmp_path / "ws")
    Store(workspace).close()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(workspace, f"p{n}", out)) for n in range(4)]
    threads = [threading.Thread(target=_hammer, args=(workspace, f"t{n}", out)) for n in range(4)]
    for worker in procs + threads:
        worker.start()
    results = [out.get(timeout=240) for _ in range(len(procs) + len(threads))]
    for worker in procs:
        worker.join(timeout=60)
    for thread in threads:
        thread.join(timeout=60)

    errors = [r for r in results if r[0] == "error"]
    assert not errors, errors
    all_ids = [task_id for _, _, ids in results for task_id in ids]
    assert len(all_ids) == 8 * WRITES_PER_WORKER
    assert len(set(all_ids)) == len(all_ids)
    store = Store(workspace)
    assert store.db.scalar("SELECT count(*) FROM tasks") == 8 * WRITES_PER_WORKER
    assert store.db.scalar("SELECT count(*) FROM users") == 8 * WRITES_PER_WORKER
    assert store.db.scalar("PRAGMA integrity_check") == "ok"


def _writer_process(workspace: str, seconds: float, out) -> None:
    store = Store(workspace)
    end = time.monotonic() + seconds
    writes = 0
    try:
        while time.monotonic() < end:
            with store.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO settings(owner, key, value) VALUES (?, ?, '1') "
                    "ON CONFLICT(owner, key) DO UPDATE SET value = value + 1",
                    ("bg", f"k{writes % 50}"),
                )
                time.sleep(0.002)  # hold the write lock a little, as a slow writer would
            writes += 1
        out.put(("ok", writes))
    except Exception as exc:
        out.put(("error", repr(exc)))


async def test_http_writes_succeed_while_other_processes_write(api, trio_workspace, jp_root_dir):
    (jp_root_dir / "s.py").write_text("print(1)\n")
    await api("POST", "trio/api/workspace/run-root", {"script_path": "s.py"})
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_writer_process, args=(str(trio_workspace), 4.0, out)) for _ in range(3)]
    for proc in procs:
        proc.start()
    codes = []
    for i in range(60):
        status, body = await api(
            "POST", "trio/api/generator/create", {"name_prefix": f"c{i}", "template_value": {"x": "1:6"}}
        )
        codes.append(status)
        status, body = await api("PATCH", f"trio/api/tasks/c{i}_001/notes", {"notes": "n"})
        codes.append(status)
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert all(r[0] == "ok" and r[1] > 0 for r in results), results
    assert set(codes) == {200, 201}, codes
    _, listed = await api("GET", "trio/api/tasks", params={"limit": 1})
    assert listed["total"] == 300


@pytest.mark.parametrize("broad", [False, True])
def test_name_search_finds_substrings_in_any_case_through_renames_and_deletes(tmp_path, monkeypatch, broad):
    from jupyter_trio.domain import NewTask, TaskQuery
    from jupyter_trio.store import tasks as task_store

    if broad:  # every search counts as broad: its page is read through the sort's index
        monkeypatch.setattr(task_store, "BROAD_MATCH", 0)

    store = Store(tmp_path / "ws")
    names = ["lr_sweep-0.1", "LR_SWEEP-0.01", "resnet50 baseline", 'quote"d run', "ab"]
    with store.db.transaction() as conn:
        ids = store.tasks.insert_many(conn, [NewTask(name=n, kind="shell", owner="me") for n in names])

    def found(text: str) -> list[str]:
        tasks, total = store.tasks.list(TaskQuery(name=text, sort="name", descending=False))
        assert total == len(tasks)
        _, with_filter = store.tasks.list(TaskQuery(name=text, status="pending"))
        assert with_filter == total
        return [t.name for t in tasks]

    assert found("sweep") == ["LR_SWEEP-0.01", "lr_sweep-0.1"]
    assert found("Sweep-0.01") == ["LR_SWEEP-0.01"]
    assert found('e"d') == ['quote"d run'] and found("net50 b") == ["resnet50 baseline"]
    assert found("ab") == ["ab"] and found("b") == ["ab", "resnet50 baseline"]  # shorter than a trigram
    assert found("nowhere") == []
    store.tasks.update(ids[2], name="mobilenet baseline")
    assert found("resnet") == [] and found("mobilenet") == ["mobilenet baseline"]
    store.tasks.delete(ids[0])
    assert found("sweep") == ["LR_SWEEP-0.01"]


def test_start_up_indexes_only_runs_that_may_have_written_since_the_last_start(tmp_path):
    import json as _json

    from jupyter_trio.domain import NewTask
    from jupyter_trio.services.checkpoints import CheckpointService

    store = Store(tmp_path / "ws")
    with store.db.transaction() as conn:
        ids = store.tasks.insert_many(
            conn, [NewTask(name=f"t{i}", kind="train", owner="me") for i in range(4)]
        )

    def checkpoint(task_id: str, epoch: int) -> None:
        folder = store.layout.task_dir(task_id) / "checkpoints" / f"epoch_{epoch}"
        folder.mkdir(parents=True)
        (folder / "state.json").write_text(_json.dumps({"epoch": epoch, "time": time.time()}))
        (folder / "model.pdopt").write_bytes(b"o")
        (folder / "model.pdparams").write_bytes(b"w")

    for task_id in ids:
        checkpoint(task_id, 1)
    service = CheckpointService(store)
    assert service.sync_on_start() == 4  # the first start indexes everything once
    assert len(store.checkpoints.for_task(ids[0])) == 1

    # while no server runs: one run ends having written a checkpoint; the other tasks are left as they were
    time.sleep(0.01)
    index = store.tasks.add_run(ids[1])
    checkpoint(ids[1], 2)
    store.tasks.set_run(ids[1], index, status="completed", started_at=time.time(), ended_at=time.time())
    assert service.sync_on_start() == 1  # only the run that may have written
    assert [r.id for r in store.checkpoints.for_task(ids[1])] == ["epoch_1", "epoch_2"]


def test_a_number_past_sqlite_integers_is_a_client_error(tmp_path):
    """A fuzzer's ``?run=306323003049703697809408`` reached SQLite and was a 500 (OverflowError)."""
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.store import Store

    store = Store(tmp_path / "ws")
    try:
        with pytest.raises(ValidationFailed, match="out of range"):
            store.tasks.run("T0001", 306323003049703697809408)
        with pytest.raises(ValidationFailed, match="out of range"), store.db.transaction() as conn:
            conn.execute("SELECT ?", (10**30,))
    finally:
        store.close()
