"""The run table (issue 31) through a live server: the query language (accepted and refused queries, each
refusal a 422 naming the position), series aggregates against a brute-force computation over random
series (with NaN, repeated and out-of-order steps), for runs still writing and after a server restart,
sorting, columns and paging, the CSV export, and ``RestClient.runs_frame`` returning the REST rows."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path

import pytest

from jupyter_trio.client import RestClient
from jupyter_trio.testing import ServerProcess

# Tracks two series of random points (NaN among them, steps repeated and out of order) and writes what it
# tracked beside itself, in the order it tracked it: the brute force reads that.
RANDOM_SERIES = r"""
import json, os, random, sys, time
import jupyter_trio as trio

cfg = trio.read()
rng = random.Random(cfg.seed)
points = {"acc": [], "val_loss": []}

def emit(n):
    for _ in range(n):
        for name in points:
            step = rng.randint(0, 40)
            value = float("nan") if rng.random() < 0.1 else rng.uniform(-5, 5)
            trio.track(name, value, step=step)
            points[name].append([step, value])
    trio.flush()
    with open(f"points-{os.environ['TRIO_TASK_NAME']}.json", "w") as fh:
        json.dump(points, fh)

emit(cfg.n)
if cfg.get("hold"):  # a run still writing: it waits for a file before its second half
    open(f"{cfg.hold}.ready", "w").close()
    while not os.path.exists(cfg.hold):
        time.sleep(0.02)
    emit(cfg.n)
"""


def brute_force(points: list[list[float]], at: int) -> dict[str, float | int | None]:
    """The aggregates of one series, computed from every point: last = the last tracked point of the
    greatest step; min/max skip NaN; best by the series' direction; at(k) = the last point of the greatest
    step <= k."""

    def clean(v: float) -> float | None:
        return None if math.isnan(v) else v

    top = max(s for s, _ in points)
    last = [v for s, v in points if s == top][-1]
    finite = [v for _, v in points if not math.isnan(v)]
    below = [(s, i, v) for i, (s, v) in enumerate(points) if s <= at]
    return {
        "last": clean(last),
        "min": min(finite) if finite else None,
        "max": max(finite) if finite else None,
        "count": len(points),
        "at": clean(max(below)[2]) if below else None,
    }


def expected_row(points: dict, at: int) -> dict[str, float | int | None]:
    row: dict[str, float | int | None] = {}
    for name, series in points.items():
        agg = brute_force(series, at)
        best = agg["min"] if name == "val_loss" else agg["max"]
        row.update({f"{name}.{k}": agg[k] for k in ("last", "min", "max", "count")})
        row[f"{name}.best"] = best
        row[f"{name}.at({at})"] = agg["at"]
    return row


def assert_rows_match(rows: list[dict], root: Path, at: int) -> None:
    assert rows
    for row in rows:
        points = json.loads((root / f"points-{row['task']}.json").read_text())
        want = expected_row(points, at)
        got = {k: row[k] for k in want}
        for key, value in want.items():
            if value is None or got[key] is None:
                assert got[key] is value is None or got[key] == value, (row["task"], key, got[key], value)
            else:
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), (row["task"], key)


AGG_COLUMNS = ",".join(
    f"{s}.{a}" for s in ("acc", "val_loss") for a in ("last", "min", "max", "best", "count", "at(17)")
)


def wait_until(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_aggregates_match_a_brute_force_for_runs_still_writing_and_after_a_restart(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "series.py").write_text(RANDOM_SERIES)
    server = ServerProcess(root, "--TrioApp.max_cpu_jobs=4").start()
    try:
        with server.client() as http:
            assert http.post("/trio/api/workspace/run-root", json={"script_path": "series.py"}).is_success
            body = {
                "name_prefix": "rand",
                "template_value": {"seed": "1 | 2 | 3 | 4", "n": 300},
                "run": True,
            }
            assert http.post("/trio/api/generator/create", json=body).status_code == 201
            held = {"name_prefix": "held", "template_value": {"seed": 9, "n": 200, "hold": "go"}, "run": True}
            assert http.post("/trio/api/generator/create", json=held).status_code == 201

            def rows(where: str) -> list[dict]:
                reply = http.get("/trio/api/runs", params={"where": where, "columns": AGG_COLUMNS})
                assert reply.status_code == 200, reply.text
                return reply.json()["runs"]

            wait_until(lambda: len(rows("task ~ rand and status = completed")) == 4)
            assert_rows_match(rows("task ~ rand"), root, 17)
            # the held run tracked its first half and waits: its row is that half, while it runs
            wait_until(lambda: (root / "go.ready").exists())
            running = rows("task ~ held")
            assert len(running) == 1
            assert http.get("/trio/api/tasks/held_001").json()["status"] == "running"
            assert_rows_match(running, root, 17)
            (root / "go").touch()
            wait_until(lambda: rows("task ~ held and status = completed"))
            assert_rows_match(rows("task ~ held"), root, 17)
            before = rows("")
    finally:
        server.stop()
    again = ServerProcess(root, "--TrioApp.max_cpu_jobs=4").start()  # a new server on the same workspace
    try:
        with again.client() as http:
            after = http.get("/trio/api/runs", params={"columns": AGG_COLUMNS}).json()["runs"]
        assert after == before
        assert_rows_match(after, root, 17)
    finally:
        again.stop()


# ---- the query language, on a small table made once
SCRIPT = r"""
import jupyter_trio as trio
cfg = trio.read()
for step in range(4):
    trio.track("acc", cfg.lr * (step + 1), step=step)
    trio.track("loss", 1 / (1 + cfg.lr * step), step=step)
"""


async def make_table(api, script_workspace, wait_task) -> list[dict]:
    """Six script runs: lr 0.1 | 0.2 | 0.3 times optimizer.name adam | sgd, each tracking acc and loss."""
    await script_workspace(SCRIPT)
    body = {
        "name_prefix": "q",
        "template_value": {
            "lr": "0.1 | 0.2 | 0.3",
            "optimizer": {"name": "(adam | sgd)"},
            "tag": "resnet-50",
        },
        "run": True,
    }
    status, created = await api("POST", "trio/api/generator/create", body)
    assert status == 201 and created["count"] == 6
    for item in created["items"]:
        await wait_task(item["name"], "completed")
    return created["items"]


async def query(api, **params) -> tuple[int, dict]:
    return await api("GET", "trio/api/runs", params={k: str(v) for k, v in params.items()})


ACCEPTED = [
    ("lr < 0.15", {"q_001", "q_002"}),
    ("lr <= 0.2 and optimizer.name = sgd", {"q_002", "q_004"}),
    ("acc.max > 0.85 or loss.last >= 0.75", {"q_001", "q_002", "q_005", "q_006"}),
    ('status = completed and task ~ "Q_00"', {f"q_00{i}" for i in range(1, 7)}),
    ("not (optimizer.name = adam)", {"q_002", "q_004", "q_006"}),
    ("task in (q_001, 'q_003', \"q_006\")", {"q_001", "q_003", "q_006"}),
    ("acc.at(1) = 0.4", {"q_003", "q_004"}),
    ("acc.best >= 1.2 and loss.best < 0.53", {"q_005", "q_006"}),
    ("sweep is null and notes = '' and pinned = false and run = 1", {f"q_00{i}" for i in range(1, 7)}),
    ("tag ~ resnet and tag !~ vgg and duration >= 0", {f"q_00{i}" for i in range(1, 7)}),
    ("missing.param = 3 or optimizer.name > 5", set()),  # absent -> no match; text is never > a number
    ("", {f"q_00{i}" for i in range(1, 7)}),
]


async def test_accepted_queries_select_the_runs_they_say(api, script_workspace, wait_task):
    items = await make_table(api, script_workspace, wait_task)
    assert [(i["config"]["lr"], i["config"]["optimizer"]["name"]) for i in items[:2]] == [
        (0.1, "adam"),
        (0.1, "sgd"),
    ]
    for where, expected in ACCEPTED:
        status, page = await query(api, where=where)
        assert status == 200, (where, page)
        assert {row["task"] for row in page["runs"]} == expected, where
        assert page["total"] == len(expected), where


REFUSED = [
    ("lr <", 4, "a value"),
    ("lr < 1 and", 10, "a column name"),
    ("lr 3", 3, "an operator"),
    ("(lr < 1", 7, "')'"),
    ("lr ~ 3", 5, "a text"),
    ("and = 1", 0, "a column name"),
    ('x = "abc', 4, "a closing"),
    ("lr < 1e-3 extra", 10, "'and', 'or'"),
    ("acc.at(x) > 1", 7, "a whole step number"),
    ("lr < null", 5, "a value to compare"),
    ("x in ()", 6, "a value"),
    ("lr ! 3", 3, "an operator"),
]


@pytest.mark.parametrize(("where", "position", "expected"), REFUSED)
async def test_refused_queries_answer_422_naming_the_position(api, where, position, expected):
    status, error = await query(api, where=where)
    assert status == 422, error
    message = error["error"]["message"] if "error" in error else error["message"]
    assert f"at position {position}:" in message and expected in message, message


async def test_sort_columns_and_pages(api, script_workspace, wait_task):
    await make_table(api, script_workspace, wait_task)
    status, page = await query(api, sort="acc.max", order="asc", columns="lr,acc.max,optimizer.name", limit=4)
    assert status == 200
    assert [r["acc.max"] for r in page["runs"]] == pytest.approx([0.4, 0.4, 0.8, 0.8])
    assert set(page["runs"][0]) == {"task", "task_id", "run", "lr", "acc.max", "optimizer.name"}
    assert [c["name"] for c in page["columns"]] == ["lr", "acc.max", "optimizer.name"]
    assert [c["kind"] for c in page["columns"]] == ["param", "metric", "param"]
    assert [c["type"] for c in page["columns"]] == ["number", "number", "string"]
    status, rest = await query(api, sort="acc.max", order="asc", columns="lr", limit=4, offset=4)
    assert [r["lr"] for r in rest["runs"]] == pytest.approx([0.3, 0.3]) and rest["total"] == 6
    status, by_param = await query(api, sort="optimizer.name", order="desc", columns="optimizer.name")
    assert [r["optimizer.name"] for r in by_param["runs"]] == ["sgd"] * 3 + ["adam"] * 3
    # every column when none are named: attributes, the flattened params, each series' aggregates
    status, full = await query(api, where="task = q_001")
    (row,) = full["runs"]
    assert row["status"] == "completed" and row["kind"] == "script" and row["optimizer.name"] == "adam"
    assert row["acc.last"] == pytest.approx(0.4) and row["loss.best"] == pytest.approx(1 / 1.3)
    names = [c["name"] for c in full["columns"]]
    assert names.index("status") < names.index("lr") < names.index("acc.last") < names.index("acc.min")
    for bad in ({"limit": 0}, {"limit": 10_001}, {"order": "up"}, {"sort": "a b"}, {"columns": "a,,b"}):
        status, error = await query(api, **bad)
        assert status == 422, (bad, error)


async def test_csv_export_has_every_matching_run(api, script_workspace, wait_task, jp_fetch):
    await make_table(api, script_workspace, wait_task)
    response = await jp_fetch(
        "trio", "api", "runs", params={"where": "lr >= 0.2", "format": "csv", "sort": "lr", "order": "asc"}
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert [r["task"] for r in rows] == ["q_003", "q_004", "q_005", "q_006"]
    assert [float(r["acc.max"]) for r in rows] == pytest.approx([0.8, 0.8, 1.2, 1.2])
    assert rows[0]["optimizer.name"] == "adam" and rows[0]["sweep"] == ""


async def test_runs_frame_returns_the_rest_rows(
    api, script_workspace, wait_task, jp_serverapp, http_server_client, jp_http_port, jp_base_url
):
    pandas = pytest.importorskip("pandas")
    await make_table(api, script_workspace, wait_task)
    import asyncio

    status, page = await query(api, where="lr > 0.1", columns="lr,acc.max,optimizer.name", sort="lr")
    url = f"http://localhost:{jp_http_port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token

    def frame():
        with RestClient(url, token) as rest:
            return rest.runs_frame(where="lr > 0.1", columns="lr,acc.max,optimizer.name", sort="lr")

    df = await asyncio.to_thread(frame)
    assert isinstance(df, pandas.DataFrame)
    assert list(df.columns) == ["task", "task_id", "run", "lr", "acc.max", "optimizer.name"]
    assert df.to_dict("records") == page["runs"]


async def test_pyruns_export_csv_has_pyruns_columns_then_params_and_aggregates(
    api, script_workspace, wait_task, jp_fetch
):
    """pyruns 0.3.17's ``POST /api/tasks/export/csv`` (``{"task_names"}``; pyruns/core/report.py's columns:
    name, status, run, start_time, finish_time, duration_seconds, exit_code, pid, then its monitor data),
    answered from the run table: ours are the parameters and the series aggregates."""
    await make_table(api, script_workspace, wait_task)
    response = await jp_fetch(
        "trio",
        "api",
        "tasks",
        "export",
        "csv",
        method="POST",
        body=json.dumps({"task_names": ["q_003", "q_001"]}),
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.body.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    assert header[:8] == [
        "name",
        "status",
        "run",
        "start_time",
        "finish_time",
        "duration_seconds",
        "exit_code",
        "pid",
    ]
    assert [r["name"] for r in rows] == ["q_003", "q_001"]  # in the order asked
    assert rows[0]["status"] == "completed" and rows[0]["exit_code"] == "0" and int(rows[0]["pid"]) > 0
    assert float(rows[0]["finish_time"]) >= float(rows[0]["start_time"])
    assert float(rows[0]["lr"]) == 0.2 and float(rows[0]["acc.max"]) == pytest.approx(0.8)
    assert rows[1]["optimizer.name"] == "adam" and "notes" not in header
    for body, code in (
        ({"task_names": ["nope"]}, 404),
        ({"task_names": []}, 400),
        ({"task_names": [" "]}, 400),
    ):
        status, error = await api("POST", "trio/api/tasks/export/csv", body)
        assert status == code, (body, error)


def test_csv_cells_a_spreadsheet_would_run_are_quoted():
    from jupyter_trio.store.run_table import spreadsheet_safe

    assert [spreadsheet_safe(v) for v in ("=1+2", "+x", "-y", "@z", "\tq", "ok", -3, None)] == [
        "'=1+2",
        "'+x",
        "'-y",
        "'@z",
        "'\tq",
        "ok",
        -3,
        "",
    ]
