"""track() throughput inside a task, side by side with pyruns 0.3.17.

    .venv/bin/python bench/track_bench.py            # N = 1,000 / 10,000 / 100,000
    .venv/bin/python bench/track_bench.py --quick    # N = 1,000 / 10,000

Each figure comes from a real task started by each tool's own runner: the task times N calls of
``track(loss=...)`` and prints calls per second. jupyter-trio is measured twice: with its default
buffering, and with ``flush=True`` on every call (each point written through to the OS before the call
returns, like pyruns does). The time of the final flush is included in the buffered figure.
pyruns is installed into bench/.peer-venv on first use (see peer_pyruns.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from jupyter_trio.testing import ServerProcess

TRIO_JOB = """
import json, time
import jupyter_trio as trio
cfg = trio.load()
flush = bool(cfg.durable)
start = time.perf_counter()
for i in range(cfg.n):
    trio.track(loss=1.0 / (i + 1), flush=flush)
trio.flush()
elapsed = time.perf_counter() - start
print("RESULT " + json.dumps({"n": cfg.n, "seconds": elapsed}), flush=True)
"""

PYRUNS_JOB = """
import json, time
import pyruns
pyruns.read()
cfg = pyruns.load()
start = time.perf_counter()
for i in range(cfg.n):
    pyruns.track(loss=1.0 / (i + 1))
elapsed = time.perf_counter() - start
print("RESULT " + json.dumps({"n": cfg.n, "seconds": elapsed}), flush=True)
"""


def result_of(log: str) -> float:
    line = next(x for x in log.splitlines() if x.startswith("RESULT "))
    data = json.loads(line[len("RESULT ") :])
    return data["n"] / data["seconds"]


def trio_rates(root: Path, sizes: list[int]) -> dict[tuple[int, bool], float]:
    (root / "track_job.py").write_text(TRIO_JOB)
    (root / "config.yaml").write_text("n: 1\ndurable: false\n")
    rates = {}
    with ServerProcess(root) as server, server.client() as http:
        http.post("/trio/api/workspace/run-root", json={"script_path": "track_job.py"})
        for n in sizes:
            for durable in (False, True):
                name = http.post(
                    "/trio/api/generator/create",
                    json={
                        "name_prefix": f"n{n}-{'durable' if durable else 'buffered'}",
                        "run": True,
                        "template_value": {"n": n, "durable": durable},
                    },
                ).json()["items"][0]["name"]
                while (task := http.get(f"/trio/api/tasks/{name}").json())["status"] in ("queued", "running"):
                    time.sleep(0.05)
                log = http.get(f"/trio/api/tasks/{name}/logs").json()["content"]
                if task["status"] != "completed":
                    raise RuntimeError(log[-2000:])
                rates[(n, durable)] = result_of(log)
                points = http.get(f"/trio/api/tasks/{name}/metrics").json()["series"].get("loss")
                assert points == n, f"{name}: {points} points stored, {n} tracked"
    return rates


def pyruns_rates(root: Path, sizes: list[int]) -> dict[int, float]:
    from peer_pyruns import PyrunsServer

    server = PyrunsServer(root, "track_job.py", PYRUNS_JOB, "n: 1\n")
    rates = {}
    try:
        server.open_script_workspace()
        for n in sizes:
            name = server.create(name_prefix=f"n{n}", mode="form", yaml_text=f"n: {n}\n")[0]["name"]
            rates[n] = result_of(server.run_and_log(name))
    finally:
        server.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip N = 100,000")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "trio").mkdir()
        (Path(tmp) / "pyruns").mkdir()
        ours = trio_rates(Path(tmp) / "trio", sizes)
        peer = pyruns_rates(Path(tmp) / "pyruns", sizes)
    print(
        f"\n{'N':>8} {'pyruns calls/s':>15} {'trio buffered':>15} {'ratio':>9} "
        f"{'trio flush=True':>16} {'ratio':>8}"
    )
    for n in sizes:
        buffered, durable, base = ours[(n, False)], ours[(n, True)], peer[n]
        print(
            f"{n:>8} {base:>15,.0f} {buffered:>15,.0f} {buffered / base:>8.0f}x {durable:>16,.0f} "
            f"{durable / base:>7.0f}x"
        )
    print(
        "\nratio = jupyter-trio calls/s / pyruns calls/s in the same run. Goals: >= 1000x buffered, "
        ">= 10x with flush=True, flat as N grows."
    )


if __name__ == "__main__":
    main()
