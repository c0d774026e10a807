"""Notebook jobs, side by side in one run on this machine (issue 32): one 10-cell notebook (a
``parameters`` cell, then nine cheap cells, the first of which writes ``time.time()`` into
``<out_dir>/t0_<tool>.txt``), run with the same two parameters by

- papermill bare: ``python -m papermill`` of this environment in a subprocess, the floor every tool
  pays (a fresh interpreter, a kernel, the executed notebook written; no HTML);
- jupyter-scheduler (PyPI ``jupyter-scheduler``, in its own environment ``bench/.scheduler-venv``):
  ``jupyter server`` of that environment on 127.0.0.1, ``POST /scheduler/jobs`` (outputs ipynb and
  html), ``GET /scheduler/jobs/{id}`` until ``COMPLETED``;
- jupyter-trio: a server started here, ``POST /trio/api/notebook-jobs`` (``run: true``),
  ``GET /trio/api/tasks/{name}`` until ``completed`` (its outputs: the executed notebook and its HTML).

Each repetition runs the tools one after the other (both servers stay up, so a noisy neighbour
slows every tool of a repetition alike); the figures are medians over the repetitions:

- first cell: from the moment the create request is sent (papermill: the subprocess started) to the
  ``time.time()`` the first cell after the parameters wrote;
- total: from the same moment until the job is seen done (papermill: the process exited), polled
  every 20 ms;
- overhead: total minus papermill's total.

    .venv/bin/python bench/notebook_job_bench.py --setup     # make bench/.scheduler-venv (needs PyPI, once)
    .venv/bin/python bench/notebook_job_bench.py --reps 5    # all three; no network beyond 127.0.0.1
    .venv/bin/python bench/notebook_job_bench.py --tools papermill,scheduler --reps 3

The jupyter-scheduler environment gets the same ipykernel version as this one, so the kernels match.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import nbformat

from jupyter_trio.testing import ServerProcess, free_port

SCHEDULER_VENV = Path(__file__).parent / ".scheduler-venv"
SCHEDULER_VERSION = "2.12.1"
NOTEBOOK = "bench.ipynb"
CELLS = 10
POLL = 0.02
TOOLS = {"papermill": "papermill bare", "scheduler": "jupyter-scheduler", "trio": "jupyter-trio"}


def make_notebook(path: Path, cells: int = CELLS) -> None:
    """The notebook: a ``parameters`` cell and ``cells - 1`` cheap cells; the first writes the mark."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('out_dir = "."\ntool = "none"')
    params.metadata["tags"] = ["parameters"]
    first = nbformat.v4.new_code_cell(
        "import pathlib, time\n"
        'pathlib.Path(out_dir, f"t0_{tool}.txt").write_text(repr(time.time()))\n'
        "x = 1 * 2\nprint(x)"
    )
    rest = [nbformat.v4.new_code_cell(f"x = {i} * 2\nprint(x)") for i in range(2, cells)]
    nb.cells = [params, first, *rest]
    nbformat.write(nb, str(path))


def check_executed(path: Path, cells: int = CELLS) -> None:
    """The executed notebook ran every cell: its last one printed ``(cells - 1) * 2``."""
    nb = nbformat.read(str(path), as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    text = "".join(o.get("text", "") for o in last.get("outputs", []))
    if text.strip() != str((cells - 1) * 2):
        raise RuntimeError(f"{path}: the last cell printed {text!r}")


def first_cell_at(marks: Path, tool: str, timeout: float = 10) -> float:
    """The ``time.time()`` the first cell wrote (the job is done, so the file is there or never will be)."""
    mark = marks / f"t0_{tool}.txt"
    deadline = time.monotonic() + timeout
    while not (mark.exists() and mark.read_text()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tool}: the first cell wrote no {mark.name}")
        time.sleep(POLL)
    return float(mark.read_text())


class Papermill:
    name = "papermill"

    def __init__(self, root: Path, marks: Path):
        self.root, self.marks = root / "papermill", marks
        self.root.mkdir()
        make_notebook(self.root / NOTEBOOK)

    def run(self, rep: int) -> tuple[float, float]:
        out = self.root / f"out-{rep}.ipynb"
        cmd = [sys.executable, "-m", "papermill", NOTEBOOK, out.name, "--log-level", "WARNING"]
        cmd += ["-p", "out_dir", str(self.marks), "-p", "tool", self.name]
        sent, started = time.time(), time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True)
        total = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"papermill failed: {proc.stderr[-2000:]}")
        check_executed(out)
        return first_cell_at(self.marks, self.name) - sent, total

    def close(self) -> None:
        pass


def ensure_scheduler() -> Path:
    """bench/.scheduler-venv with jupyter-scheduler and this environment's ipykernel (PyPI, first use)."""
    python = SCHEDULER_VENV / "bin" / "python"
    stamp = SCHEDULER_VENV / "bench-stamp.txt"
    wanted = f"jupyter-scheduler=={SCHEDULER_VERSION} ipykernel=={version('ipykernel')}"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SCHEDULER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted.split()], check=True)
    stamp.write_text(wanted)
    return python


class Scheduler:
    """jupyter-scheduler's own server, its config, data, staging area and database under ``root``."""

    name = "scheduler"

    def __init__(self, root: Path, marks: Path):
        self.root, self.marks = root / "scheduler", marks
        serve = self.root / "serve"
        serve.mkdir(parents=True)
        make_notebook(serve / NOTEBOOK)
        self.staging = self.root / "staging"
        self.port, self.token = free_port(), "bench-token"
        # a private config and data folder: no extension or setting of this machine's user is loaded
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.root / "config"),
            "JUPYTER_DATA_DIR": str(self.root / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.root / "runtime"),
        }
        cmd = [
            str(ensure_scheduler()),
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={serve}",
            f"--IdentityProvider.token={self.token}",
            f"--SchedulerApp.db_url=sqlite:///{self.root / 'scheduler.sqlite'}",
            f"--Scheduler.staging_path={self.staging}",
        ]
        if os.getuid() == 0:
            cmd.append("--allow-root")
        self.log = self.root / "server.log"
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the server process holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"jupyter-scheduler did not start: {self.log.read_text()[-3000:]}")
            try:
                reply = self.http.get("/scheduler/runtime_environments")
                if reply.status_code == 200:
                    self.environment = reply.json()[0]["name"]
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def run(self, rep: int) -> tuple[float, float]:
        body = {
            "input_uri": NOTEBOOK,
            "input_filename": NOTEBOOK,
            "runtime_environment_name": self.environment,
            "output_formats": ["ipynb", "html"],
            "name": f"bench-{rep}",
            # jupyter-scheduler injects ``name = value`` with the value as source text
            "parameters": {"out_dir": repr(str(self.marks)), "tool": repr(self.name)},
        }
        sent, started = time.time(), time.perf_counter()
        reply = self.http.post("/scheduler/jobs", json=body)
        assert reply.status_code == 200, reply.text
        job_id = reply.json()["job_id"]
        # a new job reads STOPPED (the table's default) until its process marks it IN_PROGRESS: only a
        # job that started can have been stopped
        while True:
            job = self.http.get(f"/scheduler/jobs/{job_id}").json()
            if job["status"] in ("COMPLETED", "FAILED") or (
                job["status"] == "STOPPED" and job.get("start_time")
            ):
                break
            time.sleep(POLL)
        total = time.perf_counter() - started
        if job["status"] != "COMPLETED":
            raise RuntimeError(f"jupyter-scheduler job {job['status']}: {job.get('status_message')}")
        folder = self.staging / job_id
        if not list(folder.glob("*.html")):
            raise RuntimeError(f"jupyter-scheduler wrote no HTML in {folder}")
        check_executed(next(p for p in folder.glob("*.ipynb") if p.name != NOTEBOOK))
        return first_cell_at(self.marks, self.name) - sent, total

    def close(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Trio:
    name = "trio"

    def __init__(self, root: Path, marks: Path):
        self.root, self.marks = root / "trio", marks
        self.root.mkdir()
        make_notebook(self.root / NOTEBOOK)
        self.server = ServerProcess(self.root, "--TrioApp.max_cpu_jobs=2").start()
        self.http = self.server.client()

    def run(self, rep: int) -> tuple[float, float]:
        body = {
            "notebook": NOTEBOOK,
            "parameters": {"out_dir": str(self.marks), "tool": self.name},
            "name": f"bench-{rep}",
            "run": True,
        }
        sent, started = time.time(), time.perf_counter()
        reply = self.http.post("/trio/api/notebook-jobs", json=body)
        if reply.status_code == 404:
            raise NotImplementedError("this jupyter-trio has no POST /trio/api/notebook-jobs")
        assert reply.status_code == 201, reply.text
        name = reply.json()["name"]
        while (task := self.http.get(f"/trio/api/tasks/{name}").json())["status"] not in (
            "completed",
            "failed",
            "cancelled",
            "interrupted",
        ):
            time.sleep(POLL)
        total = time.perf_counter() - started
        if task["status"] != "completed":
            raise RuntimeError(f"jupyter-trio job {task['status']}: {task.get('message', '')}")
        outputs = self.http.get(f"/trio/api/tasks/{name}/outputs").json()["outputs"]
        kinds = {o["kind"]: o["path"] for o in outputs}
        if not {"notebook", "html"} <= kinds.keys():
            raise RuntimeError(f"jupyter-trio outputs: {outputs}")
        executed = self.root.parent / f"trio-out-{rep}.ipynb"
        executed.write_bytes(self.http.get(f"/trio/api/files/{kinds['notebook']}").content)
        check_executed(executed)
        return first_cell_at(self.marks, self.name) - sent, total

    def close(self) -> None:
        self.http.close()
        self.server.stop()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def show(results: dict[str, dict[str, list[float]]]) -> list[dict]:
    floor = median(results.get("papermill", {}).get("total", []))
    rows = []
    print(f"\n{'tool':<20} {'reps':>4} {'first cell (s)':>15} {'total (s)':>10} {'overhead (s)':>13}")
    for tool, runs in results.items():
        first, total = median(runs["first"]), median(runs["total"])
        overhead = total - floor
        rows.append(
            {
                "tool": TOOLS[tool],
                "reps": len(runs["total"]),
                "first_cell_s": round(first, 3),
                "total_s": round(total, 3),
                "overhead_s": None if floor != floor else round(overhead, 3),  # NaN: no papermill row
                "first_cell_all_s": [round(v, 3) for v in runs["first"]],
                "total_all_s": [round(v, 3) for v in runs["total"]],
            }
        )
        shown = "-" if tool == "papermill" or floor != floor else f"{overhead:+.2f}"
        print(f"{TOOLS[tool]:<20} {len(runs['total']):>4} {first:>15.2f} {total:>10.2f} {shown:>13}")
    if "trio" in results and "scheduler" in results:
        ours, peer = results["trio"], results["scheduler"]
        ratios = [median(ours[k]) / median(peer[k]) for k in ("first", "total")]
        over = (median(ours["total"]) - floor) / (median(peer["total"]) - floor)
        print(f"{'trio / scheduler':<20} {'':>4} {ratios[0]:>14.2f}x {ratios[1]:>9.2f}x {over:>12.2f}x")
        print(
            "\nratio = jupyter-trio / jupyter-scheduler on the medians: below 1 means jupyter-trio is faster."
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each tool")
    parser.add_argument(
        "--tools", default="papermill,scheduler,trio", help="which of papermill, scheduler, trio"
    )
    parser.add_argument("--setup", action="store_true", help="only make bench/.scheduler-venv, then stop")
    args = parser.parse_args()
    if args.setup:
        print(ensure_scheduler())
        return
    wanted = [t for t in TOOLS if t in args.tools.split(",")]
    results: dict[str, dict[str, list[float]]] = {t: {"first": [], "total": []} for t in wanted}
    with tempfile.TemporaryDirectory() as tmp:
        marks = Path(tmp) / "marks"
        marks.mkdir()
        targets = []
        try:
            for tool in wanted:
                cls = {"papermill": Papermill, "scheduler": Scheduler, "trio": Trio}[tool]
                targets.append(cls(Path(tmp), marks))
            for rep in range(args.reps):
                for target in list(targets):
                    (marks / f"t0_{target.name}.txt").unlink(missing_ok=True)
                    try:
                        first, total = target.run(rep)
                    except NotImplementedError as e:
                        print(f"{TOOLS[target.name]}: skipped ({e})", flush=True)
                        targets.remove(target)
                        target.close()
                        del results[target.name]
                        continue
                    results[target.name]["first"].append(first)
                    results[target.name]["total"].append(total)
                    print(
                        f"rep {rep + 1}/{args.reps} {TOOLS[target.name]:<18} first cell {first:6.2f} s, "
                        f"total {total:6.2f} s",
                        flush=True,
                    )
        finally:
            for target in targets:
                target.close()
    print(json.dumps(show(results)))


if __name__ == "__main__":
    main()
