"""System metrics on and off, side by side in one run (issue 34): what a run's supervisor sampling its
process tree every second (``runner/sysmetrics.py``, the ``sys/*`` series) costs the job and the launch.

    .venv/bin/python bench/sysmetrics_bench.py                # the default run, about 2.5 minutes
    .venv/bin/python bench/sysmetrics_bench.py --quick        # a smoke test: few repetitions, a 4 s job

Two servers are started here: one with the default ``c.LocalExecutor.system_metrics_interval`` (1 s:
sampling on) and one with ``--LocalExecutor.system_metrics_interval=0`` (off). Every figure is taken on
both, alternating on/off per repetition (the first side alternating too), and reported as the median;
each timed run waits ``--settle`` seconds first, so both servers' spare shims (started again at each run)
are up and idle:

- ``track()`` calls/s: a script task makes N = 200,000 buffered ``trio.track(loss=...)`` calls and a final
  flush, timed inside the job (as ``track_bench.py``) from 1 s after its start (by then the spare shim its
  launch started again is up, and the sampler of the "on" side samples every second); every point is
  checked to be stored;
- launch latency: run request -> the job's first statement (as ``runner_bench.py``), for a script task (a
  Python job, forked by the zygote's supervisor) and a shell task (``echo $EPOCHREALTIME``);
- the supervisor's own CPU: a script task sleeps ``--cpu-seconds``, reading its parent's (the shim's: the
  run folder's ``shim.json`` names it) CPU time at its first statement, 2 s later and at its end: the sum
  of ``/proc/<shim>/task/*/schedstat`` (nanoseconds on a CPU, every thread: the sampler is a thread of the
  shim). Reported: the shim's CPU from second 2 to the end in % of one core (steady sampling: the relay
  loop alone when off), over the first 2 s (loading the sampler, its first samples), and in all since its
  interpreter started (the spare's start-up and the hand-over included). One job on each server at once,
  ``--cpu-reps`` times; the "on" runs must have a ``sys/cpu`` series and the "off" runs none.

Goal: track() calls/s and launch latency within 2% of each other with sampling on and off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from jupyter_trio.testing import ServerProcess

OFF_ARG = "--LocalExecutor.system_metrics_interval=0"
DONE = ("completed", "failed", "cancelled", "interrupted")
TRACK_AFTER_S = 1.0  # the track job's timed loop starts this long after the job

# The first statement stamps the start (the launch figure); the rest is the job the config names.
JOB = """
import time
print("START " + repr(time.time()), flush=True)
import json, os
import jupyter_trio as trio


def shim_cpu():
    # the parent (the shim): nanoseconds on a CPU of each of its threads, and its cumulative ticks
    ppid = os.getppid()
    ns = 0
    for tid in os.listdir(f"/proc/{ppid}/task"):
        try:
            with open(f"/proc/{ppid}/task/{tid}/schedstat") as fh:
                ns += int(fh.read().split()[0])
        except (OSError, ValueError):
            pass
    with open(f"/proc/{ppid}/stat", "rb") as fh:
        stat = fh.read()
    fields = stat[stat.rfind(b")") + 2 :].split()
    return ns, int(fields[11]) + int(fields[12]), time.monotonic()


cfg = trio.load()
if cfg.kind == "track":
    time.sleep(cfg.seconds)  # the spare shim this launch started again is up by then
    start = time.perf_counter()
    for i in range(cfg.n):
        trio.track(loss=1.0 / (i + 1))
    trio.flush()
    result = {"n": cfg.n, "seconds": time.perf_counter() - start}
elif cfg.kind == "idle":
    first = shim_cpu()
    time.sleep(2.0)  # the sampler's start (loading it, its first sample) is over by then
    steady = shim_cpu()
    time.sleep(cfg.seconds - 2.0)
    last = shim_cpu()
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:
        cmdline = fh.read().replace(b"\\0", b" ").decode()
    with open(os.path.join(os.environ["TRIO_RUN_DIR"], "shim.json")) as fh:
        shim_json_pid = json.load(fh)["shim_pid"]
    result = {
        "shim_pid": os.getppid(),
        "shim_json_pid": shim_json_pid,
        "shim_cmdline": cmdline,
        "start_ns": steady[0] - first[0],
        "window_s": last[2] - steady[2],
        "window_ns": last[0] - steady[0],
        "total_ns": last[0],
        "total_ticks": last[1],
        "ticks_per_s": os.sysconf("SC_CLK_TCK"),
    }
else:
    result = {}
print("RESULT " + json.dumps(result), flush=True)
"""


def median(values: list[float]) -> float:
    return statistics.median(values)


class Side:
    """One server (sampling on or off) and the calls the bench makes to it."""

    def __init__(self, label: str, root: Path, *extra: str):
        self.label, self.root = label, root
        root.mkdir()
        (root / "job.py").write_text(JOB)
        (root / "config.yaml").write_text("kind: none\nn: 0\nseconds: 0\n")
        self.server = ServerProcess(root, *extra).start()
        self.http = self.server.client()
        self.count = 0

    def close(self) -> None:
        self.http.close()
        self.server.stop()

    def script_mode(self) -> None:
        self.http.post("/trio/api/workspace/run-root", json={"script_path": "job.py"}).raise_for_status()

    def shell_mode(self) -> None:
        self.http.post("/trio/api/workspace/shell").raise_for_status()

    def create(self, body: dict) -> str:
        self.count += 1
        reply = self.http.post("/trio/api/generator/create", json={"name_prefix": f"b{self.count}", **body})
        reply.raise_for_status()
        return reply.json()["items"][0]["name"]

    def script_task(self, **values) -> str:
        return self.create({"template_value": {"kind": "none", "n": 0, "seconds": 0, **values}})

    def run(self, name: str) -> float:
        """Ask for the run; the time of the request (the launch figure's start)."""
        sent = time.time()
        self.http.post(f"/trio/api/tasks/{name}/run").raise_for_status()
        return sent

    def wait(self, name: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.http.get(f"/trio/api/tasks/{name}").json()
            if task["status"] in DONE:
                log = self.http.get(f"/trio/api/tasks/{name}/logs").json()["content"]
                if task["status"] != "completed":
                    raise RuntimeError(f"{self.label} {name}: {task['status']}\n{log[-2000:]}")
                return log
            time.sleep(0.02)
        raise RuntimeError(f"{self.label} {name} did not finish")

    def series(self, name: str) -> dict[str, int]:
        return self.http.get(f"/trio/api/tasks/{name}/metrics").json()["series"]


def tagged(log: str, tag: str) -> str:
    return next(line for line in log.splitlines() if line.startswith(tag + " "))[len(tag) + 1 :]


def pairs(sides: tuple[Side, Side], reps: int):
    """(repetition, side) in the order they run: on/off alternating, the first of each pair too."""
    for i in range(reps):
        for side in sides if i % 2 == 0 else sides[::-1]:
            yield i, side


def track_rates(sides: tuple[Side, Side], n: int, reps: int, settle: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {s.label: [] for s in sides}
    for _, side in pairs(sides, reps):
        name = side.script_task(kind="track", n=n, seconds=TRACK_AFTER_S)
        time.sleep(settle)  # the other server's spare shim, started at its last run, is up and idle
        side.run(name)
        result = json.loads(tagged(side.wait(name), "RESULT"))
        out[side.label].append(result["n"] / result["seconds"])
        stored = side.series(name).get("loss")
        assert stored == n, f"{side.label} {name}: {stored} points stored, {n} tracked"
    return out


def launches(sides: tuple[Side, Side], kind: str, reps: int, settle: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {s.label: [] for s in sides}
    for side in sides:
        if kind == "shell":
            side.shell_mode()
        else:
            side.script_mode()
    for _, side in pairs(sides, reps):
        if kind == "shell":
            name = side.create({"mode": "shell", "shell_text": "echo START $EPOCHREALTIME"})
        else:
            name = side.script_task()
        time.sleep(settle)  # the last launch's spare shims started again on both servers, and idle
        sent = side.run(name)
        started = float(tagged(side.wait(name), "START"))
        out[side.label].append((started - sent) * 1000)
    for side in sides:
        side.script_mode()
    return out


def supervisor_cpu(sides: tuple[Side, Side], seconds: float, reps: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {s.label: [] for s in sides}
    for i in range(reps):
        order = sides if i % 2 == 0 else sides[::-1]
        names = {side.label: side.script_task(kind="idle", seconds=seconds) for side in order}
        for side in order:  # both jobs at once: each sleeps, so neither takes CPU from the other
            side.run(names[side.label])
        for side in order:
            name = names[side.label]
            result = json.loads(tagged(side.wait(name, timeout=seconds + 120), "RESULT"))
            assert result["shim_pid"] == result["shim_json_pid"], result
            assert "shim.py" in result["shim_cmdline"], result["shim_cmdline"]
            samples = side.series(name).get("sys/cpu", 0)
            if side.label == "on":
                assert samples > 0, f"on {name}: no sys/cpu series"
            else:
                assert samples == 0, f"off {name}: {samples} sys/cpu points with sampling off"
            result["sys_cpu_points"] = samples
            out[side.label].append(result)
    return out


def iqr_pct(values: list[float]) -> float:
    """The interquartile range in % of the median (0 for fewer than 2 values)."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return 100.0 * (q3 - q1) / median(values)


def pct_diff(on: float, off: float) -> float:
    return 100.0 * (on - off) / off


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="track() calls per job")
    parser.add_argument("--track-reps", type=int, default=8, help="track jobs per side")
    parser.add_argument("--launches", type=int, default=20, help="launches per side and kind")
    parser.add_argument("--settle", type=float, default=0.6, help="seconds of quiet before each run")
    parser.add_argument("--cpu-seconds", type=float, default=20.0, help="length of the sleeping job")
    parser.add_argument("--cpu-reps", type=int, default=3, help="sleeping jobs per side")
    parser.add_argument("--quick", action="store_true", help="a smoke test: few repetitions, small jobs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.track_reps, args.launches, args.cpu_seconds, args.cpu_reps = 20_000, 2, 3, 4.0, 1
    if args.cpu_seconds < 4:
        parser.error("--cpu-seconds: at least 4 (the first 2 s are the sampler's start)")
    begun = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        on = off = None
        try:
            on = Side("on", Path(tmp) / "on")  # the default interval: no argument
            off = Side("off", Path(tmp) / "off", OFF_ARG)
            sides = (on, off)
            for side in sides:
                side.script_mode()
            # one job each first: the first run of a server pays for things later ones do not
            for side in sides:
                name = side.script_task()
                side.run(name)
                side.wait(name)
            rates = track_rates(sides, args.n, args.track_reps, args.settle)
            python = launches(sides, "python", args.launches, args.settle)
            shell = launches(sides, "shell", args.launches, args.settle)
            cpu = supervisor_cpu(sides, args.cpu_seconds, args.cpu_reps)
        except httpx.HTTPError as exc:
            raise SystemExit(f"request failed: {exc}") from exc
        finally:
            for side in (on, off):
                if side is not None:
                    side.close()
    wall = time.monotonic() - begun

    def share(r: dict) -> float:  # the shim's CPU over the job, % of one core
        return 100.0 * r["window_ns"] / 1e9 / r["window_s"]

    figures = {
        f"track() calls/s, N = {args.n:,} (median of {args.track_reps})": (
            median(rates["on"]),
            median(rates["off"]),
            "{:,.0f}",
        ),
        f"run request -> first statement, script task, p50 of {args.launches} (ms)": (
            median(python["on"]),
            median(python["off"]),
            "{:.2f}",
        ),
        f"run request -> first statement, shell task, p50 of {args.launches} (ms)": (
            median(shell["on"]),
            median(shell["off"]),
            "{:.2f}",
        ),
        f"supervisor CPU, seconds 2-{args.cpu_seconds:g} of the job, % of one core": (
            median([share(r) for r in cpu["on"]]),
            median([share(r) for r in cpu["off"]]),
            "{:.3f}",
        ),
        "supervisor CPU, the job's first 2 s (ms)": (
            median([r["start_ns"] / 1e6 for r in cpu["on"]]),
            median([r["start_ns"] / 1e6 for r in cpu["off"]]),
            "{:.1f}",
        ),
        "supervisor CPU since its start, whole run (ms)": (
            median([r["total_ns"] / 1e6 for r in cpu["on"]]),
            median([r["total_ns"] / 1e6 for r in cpu["off"]]),
            "{:.1f}",
        ),
    }
    spread = {  # the interquartile range of the single values, in % of the median: the noise
        k: (iqr_pct(vs["on"]), iqr_pct(vs["off"]))
        for k, vs in zip(
            figures,
            (
                rates,
                python,
                shell,
                {k: [share(r) for r in rs] for k, rs in cpu.items()},
                {k: [r["start_ns"] for r in rs] for k, rs in cpu.items()},
                {k: [r["total_ns"] for r in rs] for k, rs in cpu.items()},
            ),
        )
    }
    width = max(len(k) for k in figures)
    print(f"\n{'figure':<{width}} {'on (1 s)':>12} {'off':>12} {'on vs off':>10} {'IQR on / off':>14}")
    for key, (a, b, fmt) in figures.items():
        noise = "{:.0f}% / {:.0f}%".format(*spread[key])
        print(f"{key:<{width}} {fmt.format(a):>12} {fmt.format(b):>12} {pct_diff(a, b):>+9.1f}% {noise:>14}")

    def ms(label: str, key: str) -> float:
        return median([r[key] / 1e6 for r in cpu[label]])

    steady = ms("on", "window_ns") - ms("off", "window_ns")
    whole = ms("on", "total_ns") - ms("off", "total_ns")
    window = median([r["window_s"] for r in cpu["on"]])
    points = median([r["sys_cpu_points"] for r in cpu["on"]])
    print(
        f"\nthe sampler: {steady:.1f} ms of CPU over {window:.1f} s of steady sampling "
        f"({100 * steady / 1e3 / window:.3f}% of one core, {1000 * steady / window:.0f} us a sample); "
        f"{whole:.1f} ms over the whole {args.cpu_seconds:g} s run, its start included "
        f"({points:.0f} sys/cpu points a run); {wall:.0f} s in all"
    )
    print(
        "on vs off = (on - off) / off; IQR = the interquartile range of the single runs in % of their "
        "median (the noise). Goal: track() calls/s and launch latency within 2%."
    )
    print(
        json.dumps(
            {
                "n": args.n,
                "cpu_seconds": args.cpu_seconds,
                "medians": {k: {"on": round(a, 4), "off": round(b, 4)} for k, (a, b, _) in figures.items()},
                "iqr_pct": {k: {"on": round(a, 1), "off": round(b, 1)} for k, (a, b) in spread.items()},
                "track_calls_per_s": {k: [round(v) for v in vs] for k, vs in rates.items()},
                "launch_script_ms": {k: [round(v, 2) for v in vs] for k, vs in python.items()},
                "launch_shell_ms": {k: [round(v, 2) for v in vs] for k, vs in shell.items()},
                "supervisor_cpu": cpu,
                "wall_s": round(wall, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
