"""Comparing runs at scale, side by side with MLflow in one run on this machine (issue 31): a filtered, sorted
page of the run table over N runs x 20 parameters x 5 tracked series x 1,000 points, for

- jupyter-trio: ``GET /trio/api/runs?where=&sort=&limit=50`` of a real server. The workspace is made
  in-process through the store's own API (tasks, their runs set completed or failed with times) and each
  run's ``metrics/<host>-<pid>.trk`` written directly with ``_trackfile.encode``, as a job's ``track()``
  would have left it; no job runs. The first query folds every run's points into the ``run_series``
  aggregates (timed on its own: the fold's throughput is the upkeep of the aggregates; ``track()`` in the
  job is unchanged), every later one reads them from SQLite;
- MLflow (PyPI ``mlflow``, installed into bench/.mlflow-venv on first use, its client run by that venv's
  python through bench/mlflow_client.py so its dependencies never meet ours): the same runs and
  parameters in a SQLite backend store, then its own tracking server (``mlflow server --backend-store-uri
  sqlite:///...``) queried with ``MlflowClient.search_runs(max_results=50)``. The first
  ``--mlflow-api-runs`` runs are logged with ``MlflowClient`` (``create_run``, one ``log_batch``,
  ``set_terminated``; MLFLOW_WORKERS processes) and that time is reported per run; MLflow's ORM spends
  30-80 ms of CPU a run on them here, so the others are inserted as the same rows through MLflow's own
  SQLAlchemy models in one transaction (10,000 runs through the client would be 5-13 minutes of setup).
  Only each metric's last point is logged: ``search_runs`` filters and sorts on a metric's latest value
  only, so the other 999 points would cost setup time and change nothing it can answer;
- the compare view in chromium (Playwright, Debian's chromium; skipped with a note without them or with
  ``--no-browser``): the view opened from the palette on every run, then the query typed into it.

The query both tools answer is one MLflow can express (its parameters are strings: an equality on one,
a metric's latest value, the status) and the same page: ``p0 = adam and m1.last > 0.9 and status =
completed`` sorted by ``m2.last`` descending (MLflow: ``params.p0 = 'adam' and metrics.m1 > 0.9 and
attributes.status = 'FINISHED'``, ``order_by=["metrics.m2 DESC"]``). Both pages are checked against the
answer computed here from the generated data. jupyter-trio is also timed on a query MLflow cannot
express (a numeric range on a parameter, a series' maximum), and MLflow on its search as a bare REST call
(no client entities: the server's part). Both servers run at once and the timed queries are interleaved
(after WARMUP searches of MLflow's, whose first ones are slow), so each tool sees the machine as loaded as
the other does.

    .venv/bin/python bench/compare_bench.py --runs 200     # a quick look
    .venv/bin/python bench/compare_bench.py                # the issue's size: 10,000 runs

Goal: jupyter-trio's query p95 <= 50 ms at 10,000 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

import jupyter_trio
from jupyter_trio import _trackfile
from jupyter_trio.domain import NewTask
from jupyter_trio.store import Store
from jupyter_trio.testing import ServerProcess, chromium, free_port

HERE = Path(__file__).parent
MLFLOW_VENV = HERE / ".mlflow-venv"
MLFLOW_VERSION = "3.17.2"
MLFLOW_WORKERS = 2  # processes logging the runs at once (one SQLite file: more only wait on its lock)
WARMUP = 5  # MLflow searches of each kind before the timed ones (its first ones are slow)
MLFLOW_API_RUNS = 500  # logged through MlflowClient, ~30-80 ms a run here: 10,000 would take 5-13 minutes
PARAMS = 20
SERIES = 5
POINTS = 1000
OPTIMIZERS = ["adam", "sgd", "adamw", "rmsprop"]

SAME = {
    "where": "p0 = adam and m1.last > 0.9 and status = completed",
    "sort": "m2.last",
    "order": "desc",
    "limit": 50,
    "columns": "p0,p3,m1.last,m2.last",
}
MLFLOW_FILTER = "params.p0 = 'adam' and metrics.m1 > 0.9 and attributes.status = 'FINISHED'"
MLFLOW_ORDER = "metrics.m2 DESC"
RICHER = {
    "where": "p3 < 0.5 and m1.max > 0.9 and status = completed",
    "sort": "m2.last",
    "order": "desc",
    "limit": 50,
    "columns": "p3,m1.max,m2.last",
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(times: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(pct(times, 95), 2), "n": len(times)}


# ---- the runs: parameters, times and the aggregates of their series, made once for both tools
class Runs:
    def __init__(self, n: int, seed: int = 31):
        self.n = n
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.names = [f"cmp-{i:05d}" for i in range(n)]
        self.failed = [i % 10 == 9 for i in range(n)]
        self.bases = rng.uniform(0.3, 1.0, size=(n, SERIES))  # where each series levels off
        self.params = []
        for i in range(n):
            params: dict[str, float | int | str] = {
                "p0": OPTIMIZERS[i % 4],
                "p1": [16, 32, 64, 128][i // 4 % 4],
            }
            params.update(
                {f"p{k}": round(float(v), 4) for k, v in zip(range(2, PARAMS), rng.random(PARAMS - 2))}
            )
            self.params.append(params)
        began = time.time() - 30 * 86_400
        self.started = [began + 240 * i for i in range(n)]
        self.ended = [t + 120 + i % 60 for i, t in enumerate(self.started)]
        self.steps = list(range(POINTS))
        self.shape = 1 - np.exp(-np.arange(POINTS) / 150)
        self.last = np.zeros((n, SERIES))
        self.max = np.zeros((n, SERIES))

    def series(self, i: int) -> np.ndarray:
        """Run i's series, one row each (deterministic: its own generator)."""
        noise = np.random.default_rng((self.seed, i)).normal(0, 0.01, size=(SERIES, POINTS))
        values = self.bases[i][:, None] * self.shape[None, :] + noise
        self.last[i], self.max[i] = values[:, -1], values.max(axis=1)
        return values

    def times(self, i: int) -> list[float]:
        return [self.started[i] + 0.1 * step for step in self.steps]

    def expected(self, where, key: int) -> tuple[list[str], int]:
        """The page's task names (the greatest m2.last first, 50) and how many runs match."""
        matching = [i for i in range(self.n) if not self.failed[i] and where(i)]
        matching.sort(key=lambda i: -self.last[i, key])
        return [self.names[i] for i in matching[:50]], len(matching)

    def mlflow_json(self, path: Path) -> None:
        rows = [
            {
                "name": self.names[i],
                "params": self.params[i],
                "metrics": {
                    f"m{k}": [
                        float(self.last[i, k]),
                        POINTS - 1,
                        int(1000 * (self.started[i] + 0.1 * (POINTS - 1))),
                    ]
                    for k in range(SERIES)
                },
                "status": "FAILED" if self.failed[i] else "FINISHED",
                "start_ms": int(1000 * self.started[i]),
                "end_ms": int(1000 * self.ended[i]),
            }
            for i in range(self.n)
        ]
        path.write_text(json.dumps(rows))


# ---- jupyter-trio
def fill_trio(workspace: Path, runs: Runs) -> dict:
    """The tasks and runs through the store's API, then every run's metrics file; seconds of each."""
    began = time.perf_counter()
    store = Store(workspace)
    tasks = [
        NewTask(
            name=runs.names[i], kind="script", owner="bench", script_path="train.py", config=runs.params[i]
        )
        for i in range(runs.n)
    ]
    with store.db.transaction() as conn:
        ids = store.tasks.insert_many(conn, tasks)
        store.tasks.add_runs(conn, ids)
        for i, task_id in enumerate(ids):  # joins the transaction above
            store.tasks.set_run(
                task_id,
                1,
                status="failed" if runs.failed[i] else "completed",
                started_at=runs.started[i],
                ended_at=runs.ended[i],
                exit_code=1 if runs.failed[i] else 0,
            )
    stored = time.perf_counter() - began
    began = time.perf_counter()
    host = socket.gethostname()
    written = 0
    for i, task_id in enumerate(ids):
        values = runs.series(i)
        times = runs.times(i)
        folder = store.layout.run_dir(task_id, 1) / "metrics"
        folder.mkdir(parents=True, exist_ok=True)
        data = b"".join(
            _trackfile.encode(f"m{k}", runs.steps, values[k].tolist(), times) for k in range(SERIES)
        )
        (folder / f"{host}-{20_000 + i}{_trackfile.SUFFIX}").write_bytes(data)
        written += len(data)
    store.close()
    return {"store_s": stored, "files_s": time.perf_counter() - began, "metrics_bytes": written}


def timed_get(http: httpx.Client, params: dict, timeout: float = 30) -> tuple[float, dict]:
    began = time.perf_counter()
    reply = http.get("/trio/api/runs", params=params, timeout=timeout)
    elapsed = (time.perf_counter() - began) * 1000
    assert reply.status_code == 200, reply.text[:500]
    return elapsed, reply.json()


def trio_first(http: httpx.Client, runs: Runs) -> dict:
    """The first query, which folds every run's points into ``run_series`` (a page of one row: the fold is
    its cost), then each query once, its page checked against the answer computed from the data."""
    first_ms, page = timed_get(http, {"limit": 1}, timeout=1800)
    assert page["total"] == runs.n, page["total"]
    out: dict = {"first_fold_s": first_ms / 1000, "after_fold_ms": timed_get(http, {"limit": 1})[0]}
    for label, params, where in (
        ("same", SAME, lambda i: runs.params[i]["p0"] == "adam" and runs.last[i, 1] > 0.9),
        ("richer", RICHER, lambda i: runs.params[i]["p3"] < 0.5 and runs.max[i, 1] > 0.9),
    ):
        names, total = runs.expected(where, 2)
        first, page = timed_get(http, params)
        assert [r["task"] for r in page["runs"]] == names, (label, page["runs"][:3], names[:3])
        assert page["total"] == total, (label, page["total"], total)
        out[label] = {"first_ms": first, "total": total, "names": names}
    return out


class MlflowSession:
    """bench/mlflow_client.py's ``session``: one search a call, timed in that process."""

    def __init__(self, url: str, experiment: str):
        self.proc = subprocess.Popen(
            [str(ensure_mlflow()), str(HERE / "mlflow_client.py"), "session", url, experiment]
            + [MLFLOW_FILTER, MLFLOW_ORDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def search(self, how: str) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(how + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"mlflow_client.py session ended ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def this_build_first(tmp: Path) -> None:
    """The extension as this checkout last built it first on the server's JUPYTER_PATH (an editable
    install's copy under ``sys.prefix/share`` is the one of its install time), as the browser tests do."""
    built = Path(jupyter_trio.__file__).parent / "labextension"
    if (built / "package.json").is_file():
        data = tmp / "jupyter-path"
        (data / "labextensions").mkdir(parents=True)
        (data / "labextensions" / "jupyter-trio").symlink_to(built, target_is_directory=True)
        paths = [str(data), os.environ.get("JUPYTER_PATH", "")]
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)


def browser_figures(server: ServerProcess, runs: Runs, where: str, where_total: int) -> dict | None:
    """The compare view on every run (up to its 10,000), then on ``where`` typed into it: the view's own
    clock (fetch + table + parallel coordinates, ``data-render-ms``) and the time until the table showed
    every row, seen from here."""
    if not (HERE.parent / "labextension" / "src" / "compareview.ts").exists():
        print("compare view: skipped (no labextension/src/compareview.ts in this checkout)", flush=True)
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("compare view: skipped (pip install playwright)", flush=True)
        return None
    executable = chromium()
    if executable is None:
        print("compare view: skipped (no chromium: apt-get install chromium, or TRIO_CHROMIUM)", flush=True)
        return None
    shown = min(runs.n, 10_000)
    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"{server.url}/lab?token={server.token}")
            page.wait_for_selector('.jp-SideBar [data-id="trio-sidebar"]', timeout=120_000)
            # the app in the page (--LabApp.expose_app_in_browser) runs the command: the palette's shortcut
            # can go unheard while JupyterLab still starts
            page.wait_for_function(
                "() => window.jupyterapp?.commands.hasCommand('trio:compare-runs')", timeout=120_000
            )
            loaded = (
                "([rows, total]) => { const v = document.querySelector('.jp-trio-compare');"
                " const t = v && v.querySelector('.jp-trio-runtable');"
                " return !!t && v.dataset.loading === undefined && v.dataset.renderMs !== undefined"
                " && t.dataset.rows === String(rows) && t.dataset.total === String(total); }"
            )
            began = time.perf_counter()
            page.evaluate("() => void window.jupyterapp.commands.execute('trio:compare-runs')")
            page.wait_for_function(loaded, arg=[shown, runs.n], timeout=600_000, polling=20)
            seen = (time.perf_counter() - began) * 1000
            view = page.locator(".jp-trio-compare")
            out["every run"] = {
                "rows": shown,
                "render_ms": float(view.get_attribute("data-render-ms")),
                "seen_ms": round(seen, 1),
            }
            box = view.locator(".jp-trio-compare-where")
            box.fill(where)
            page.evaluate("() => { delete document.querySelector('.jp-trio-compare').dataset.renderMs; }")
            began = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(
                loaded, arg=[min(where_total, 10_000), where_total], timeout=120_000, polling=20
            )
            seen = (time.perf_counter() - began) * 1000
            out["the query"] = {
                "rows": where_total,
                "render_ms": float(view.get_attribute("data-render-ms")),
                "seen_ms": round(seen, 1),
            }
            # the figures: about 1,000 runs (p2 is uniform in [0, 1)), first render, then brushes
            thousand = sum(1 for params in runs.params if params["p2"] < 0.1)
            box.fill("p2 < 0.1")
            page.evaluate("() => { delete document.querySelector('.jp-trio-compare').dataset.renderMs; }")
            began = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(loaded, arg=[thousand, thousand], timeout=120_000, polling=20)
            seen = (time.perf_counter() - began) * 1000
            out["about 1,000 runs"] = {
                "rows": thousand,
                "render_ms": float(view.get_attribute("data-render-ms")),
                "seen_ms": round(seen, 1),
                "brush_ms": brushes(page, view),
            }
        finally:
            browser.close()
    return out


def brushes(page, view) -> list[float]:
    """Drag along the parallel coordinates' last axis (the colouring metric: numeric) five times, each brush
    replacing the last: the view's own time for each (filter, plot, table, scatter: ``data-brush-ms``)."""
    canvas = view.locator("canvas.jp-trio-compare-parallel")
    layout = json.loads(canvas.get_attribute("data-layout"))
    key, x = layout["axes"][-1]
    frame = canvas.bounding_box()
    times = []
    for low in (0.5, 0.3, 0.6, 0.4, 0.2):
        canvas.evaluate("el => { delete el.dataset.brushMs; }")
        y = [frame["y"] + layout["bottom"] - p * (layout["bottom"] - layout["top"]) for p in (1.0, low)]
        page.mouse.move(frame["x"] + x, y[0])
        page.mouse.down()
        for i in range(1, 11):
            page.mouse.move(frame["x"] + x, y[0] + (y[1] - y[0]) * i / 10)
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('canvas.jp-trio-compare-parallel').dataset.brushMs !== undefined",
            timeout=10_000,
        )
        times.append(float(canvas.get_attribute("data-brush-ms")))
    return times


# ---- MLflow
def ensure_mlflow() -> Path:
    python = MLFLOW_VENV / "bin" / "python"
    if not (MLFLOW_VENV / "bin" / "mlflow").exists():
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        subprocess.run(
            [str(MLFLOW_VENV / "bin" / "pip"), "install", "-q", f"mlflow=={MLFLOW_VERSION}"], check=True
        )
    return python


def mlflow_call(*args: str) -> dict:
    done = subprocess.run(
        [str(ensure_mlflow()), str(HERE / "mlflow_client.py"), *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow_client.py {args[0]}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fill_mlflow(root: Path, runs: Runs, workers: int, api_runs: int) -> tuple[str, str, dict]:
    """Every run into a SQLite backend store: the first ``api_runs`` through ``MlflowClient`` (``workers``
    processes), the others through MLflow's own models in one transaction. (Its URI, the experiment, the
    seconds of each part.)"""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    runs_json = root / "runs.json"
    runs.mlflow_json(runs_json)
    began = time.perf_counter()
    experiment = mlflow_call("init", uri)["experiment_id"]
    init_s = time.perf_counter() - began
    api_runs = max(1, min(api_runs, runs.n))
    bounds = [api_runs * w // workers for w in range(workers + 1)]
    began = time.perf_counter()
    procs = [
        subprocess.Popen(
            [str(ensure_mlflow()), str(HERE / "mlflow_client.py"), "fill", uri, experiment, str(runs_json)]
            + [str(bounds[w]), str(bounds[w + 1])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    logged = 0
    for proc in procs:
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"mlflow_client.py fill: {stderr[-3000:]}")
        logged += json.loads(stdout.strip().splitlines()[-1])["runs"]
    api_s = time.perf_counter() - began
    began = time.perf_counter()
    if api_runs < runs.n:
        logged += mlflow_call("bulk", uri, experiment, str(runs_json), str(api_runs), str(runs.n))["runs"]
    bulk_s = time.perf_counter() - began
    assert logged == runs.n, logged
    return uri, experiment, {"init_s": init_s, "api_runs": api_runs, "api_s": api_s, "bulk_s": bulk_s}


class MlflowServer:
    def __init__(self, root: Path, uri: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "mlflow-server.log"
        self.proc = subprocess.Popen(
            [str(MLFLOW_VENV / "bin" / "mlflow"), "server", "--backend-store-uri", uri]
            + ["--host", "127.0.0.1", "--port", str(self.port)],
            cwd=root,
            stdout=open(self.log, "wb"),  # noqa: SIM115 - the server process holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        began = time.perf_counter()
        deadline = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"mlflow server did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        self.start_s = time.perf_counter() - began

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=50, help="timed queries of each kind")
    parser.add_argument("--mlflow-workers", type=int, default=MLFLOW_WORKERS)
    parser.add_argument(
        "--mlflow-api-runs",
        type=int,
        default=MLFLOW_API_RUNS,
        help="runs logged through MlflowClient (timed); the rest go in through MLflow's models at once",
    )
    parser.add_argument("--no-browser", action="store_true", help="leave out the compare view in chromium")
    args = parser.parse_args()
    runs = Runs(args.runs)
    points = runs.n * SERIES * POINTS
    result: dict = {"runs": runs.n, "params": PARAMS, "series": SERIES, "points_per_series": POINTS}
    print(
        f"{runs.n:,} runs x {PARAMS} params x {SERIES} series x {POINTS:,} points ({points:,} points)",
        flush=True,
    )
    ensure_mlflow()

    with tempfile.TemporaryDirectory(prefix="trio-compare-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        # ---- jupyter-trio: the workspace, the server, the first fold
        fill = fill_trio(root / ".trio", runs)
        trio_setup = fill["store_s"] + fill["files_s"]
        print(
            f"jupyter-trio setup: store {fill['store_s']:.1f} s (tasks + runs), metrics files "
            f"{fill['files_s']:.1f} s ({fill['metrics_bytes'] / 2**20:,.0f} MiB)",
            flush=True,
        )
        if not args.no_browser:
            this_build_first(Path(tmp))
        server = ServerProcess(root, "--TrioApp.gpus=none", "--LabApp.expose_app_in_browser=True")
        began = time.perf_counter()
        server.start(timeout=600)
        trio_start = time.perf_counter() - began
        mlflow = session = None
        try:
            http = server.client()
            trio = trio_first(http, runs)
            fold_rate = points / trio["first_fold_s"]
            print(
                f"jupyter-trio server start {trio_start:.1f} s; first fold of {runs.n:,} runs / {points:,} "
                f"points: {trio['first_fold_s']:.1f} s (the first query; {fold_rate / 1e6:.2f} M points/s, "
                f"{1e9 / fold_rate:.0f} ns a point); a query after it {trio['after_fold_ms']:.1f} ms",
                flush=True,
            )
            view = None
            if not args.no_browser:
                view = browser_figures(server, runs, SAME["where"], trio["same"]["total"])
            for label, v in (view or {}).items():
                print(
                    f"compare view, {label} ({v['rows']:,} rows): rendered in {v['render_ms']:.0f} ms "
                    f"(its clock: fetch + table + plots), seen after {v['seen_ms']:.0f} ms",
                    flush=True,
                )
                if "brush_ms" in v:
                    median = statistics.median(v["brush_ms"])
                    print(
                        f"compare view, a brush on {v['rows']:,} runs: median {median:.0f} ms "
                        f"(each: {', '.join(f'{t:.0f}' for t in v['brush_ms'])}); goals: first render "
                        f"<= 1 s: {'met' if v['render_ms'] <= 1000 else 'NOT met'}, a brush <= 100 ms: "
                        f"{'met' if median <= 100 else 'NOT met'}",
                        flush=True,
                    )

            # ---- MLflow: the store, its server
            uri, experiment, setup = fill_mlflow(Path(tmp), runs, args.mlflow_workers, args.mlflow_api_runs)
            per_run = setup["api_s"] / setup["api_runs"]
            print(
                f"MLflow {MLFLOW_VERSION} setup (each metric's last point only): {setup['api_runs']:,} runs "
                f"through MlflowClient (create_run, log_batch, set_terminated) in {setup['api_s']:.1f} s, "
                f"{args.mlflow_workers} processes: {1000 * per_run:.1f} ms a run, "
                f"{runs.n * per_run / 60:.1f} min for all {runs.n:,}"
                + (
                    f"; the other {runs.n - setup['api_runs']:,} inserted through MLflow's own models in "
                    f"{setup['bulk_s']:.1f} s"
                    if setup["api_runs"] < runs.n
                    else ""
                ),
                flush=True,
            )
            mlflow = MlflowServer(Path(tmp), uri)
            session = MlflowSession(mlflow.url, experiment)
            first = session.search("client")
            assert first["names"] == trio["same"]["names"], (first["names"][:3], trio["same"]["names"][:3])
            for _ in range(WARMUP):
                session.search("client")
                session.search("rest")
            print(
                f"MLflow server start {mlflow.start_s:.1f} s; its first search_runs {first['ms']:.0f} ms "
                f"(the same runs as jupyter-trio's page)",
                flush=True,
            )

            # ---- the timed queries, interleaved: each tool sees the machine as the other does
            times: dict[str, list[float]] = {"same": [], "richer": [], "client": [], "rest": []}
            for _ in range(args.repeats):
                times["same"].append(timed_get(http, SAME)[0])
                times["richer"].append(timed_get(http, RICHER)[0])
                times["client"].append(session.search("client")["ms"])
                times["rest"].append(session.search("rest")["ms"])
            http.close()
        finally:
            if session is not None:
                session.close()
            if mlflow is not None:
                mlflow.close()
            server.stop()

    figures = {
        "same": {**summary(times["same"]), "first_ms": round(trio["same"]["first_ms"], 2)},
        "richer": {**summary(times["richer"]), "first_ms": round(trio["richer"]["first_ms"], 2)},
        "mlflow": {**summary(times["client"]), "first_ms": round(first["ms"], 2)},
        "mlflow_rest": summary(times["rest"]),
    }
    same = figures["same"]
    ratio = figures["mlflow"]["p95_ms"] / same["p95_ms"]
    print(
        f"\nfiltered, sorted page of 50 over {runs.n:,} runs ({args.repeats} queries each, interleaved), ms"
    )
    print(f"{'tool, query':50} {'matches':>8} {'first':>8} {'p50':>7} {'p95':>7}")
    for label, key, total in (
        ("jupyter-trio, the shared query", "same", trio["same"]["total"]),
        ("jupyter-trio, p3 < 0.5 and m1.max > 0.9", "richer", trio["richer"]["total"]),
        (f"MLflow {MLFLOW_VERSION} search_runs, the shared query", "mlflow", trio["same"]["total"]),
        (f"MLflow {MLFLOW_VERSION}, the same as a bare REST call", "mlflow_rest", trio["same"]["total"]),
    ):
        q = figures[key]
        shown = f"{q['first_ms']:8.1f}" if "first_ms" in q else f"{'-':>8}"
        print(f"{label:50} {total:8,} {shown} {q['p50_ms']:7.1f} {q['p95_ms']:7.1f}")
    print(f"  jupyter-trio: where={SAME['where']!r} sort={SAME['sort']} desc limit=50")
    print(f"  MLflow: filter_string={MLFLOW_FILTER!r} order_by=[{MLFLOW_ORDER!r}] max_results=50")
    print(
        f"MLflow p95 / jupyter-trio p95: {ratio:.1f}x; "
        f"goal p95 <= 50 ms: {'met' if same['p95_ms'] <= 50 else 'MISSED'}"
    )
    print(
        f"setup: jupyter-trio {trio_setup:.1f} s (store API + metrics files written directly); MLflow "
        f"{1000 * per_run:.1f} ms a run through its client ({runs.n * per_run / 60:.1f} min for {runs.n:,})"
    )
    print(
        f"aggregate upkeep: {fold_rate / 1e6:.2f} M points folded a second on the server "
        f"({1e9 / fold_rate:.0f} ns a point, once per point); the job's track() is unchanged"
    )
    result.update(
        {
            "trio": {
                "setup_s": round(trio_setup, 2),
                "server_start_s": round(trio_start, 2),
                "first_fold_s": round(trio["first_fold_s"], 2),
                "fold_points_per_s": round(fold_rate),
                "fold_ns_per_point": round(1e9 / fold_rate, 1),
                "same": {**figures["same"], "total": trio["same"]["total"]},
                "richer": {**figures["richer"], "total": trio["richer"]["total"]},
                "compare_view": view,
            },
            "mlflow": {
                "version": MLFLOW_VERSION,
                "setup": {k: round(v, 2) for k, v in setup.items()},
                "api_ms_per_run": round(1000 * per_run, 1),
                "server_start_s": round(mlflow.start_s, 2),
                "same": figures["mlflow"],
                "same_rest": figures["mlflow_rest"],
            },
            "p95_ratio": round(ratio, 2),
        }
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
