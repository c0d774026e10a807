"""RestClient call latency on loopback with 10,000 training runs in the store.

    .venv/bin/python bench/client.py                 # 10,000 runs, 300 calls per kind
    .venv/bin/python bench/client.py --runs 2000 --calls 100

A real ``jupyter server`` with jupyter-trio serves a workspace filled beforehand: ``--runs`` train tasks,
one in ten with three checkpoint folders on disk (two training, one sampler), and 100 client sessions.
Each RestClient call kind is timed ``--calls`` times with random ids and offsets; the floor beside it is
jupyter_server's own ``GET /api/status`` through the same HTTP client (auth, routing, JSON, loopback),
so ``ratio = call / floor`` is what jupyter-trio adds on top of the server it lives in.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jupyter_trio.client import RestClient
from jupyter_trio.domain import NewTask
from jupyter_trio.services.users import local_owner
from jupyter_trio.store import Store
from jupyter_trio.testing import ServerProcess


def fill(workspace: Path, runs: int) -> tuple[list[str], list[str], list[str]]:
    store = Store(workspace)
    owner = local_owner()
    with store.db.transaction() as conn:
        ids = store.tasks.insert_many(
            conn,
            [
                NewTask(
                    name=f"run-{i:05d}",
                    kind="train",
                    owner=owner,
                    params={"model": "ResNet18", "num_epochs": 2},
                    config={"task_type": "classification"},
                )
                for i in range(runs)
            ],
        )
        conn.execute("UPDATE tasks SET status = 'completed'")
    with_ckpt = ids[::10]
    now = time.time()
    for n, tid in enumerate(with_ckpt):
        root = store.layout.task_dir(tid) / "checkpoints"
        for k, name in enumerate(("epoch_1", "epoch_2", "best_model")):
            folder = root / name
            folder.mkdir(parents=True)
            (folder / "model.pdparams").write_bytes(b"\0" * 4096)
            if name != "best_model":
                (folder / "model.pdopt").write_bytes(b"\0" * 8192)
            (folder / "state.json").write_text(
                json.dumps(
                    {
                        "epoch": 2 if name == "best_model" else k + 1,
                        "time": now + n + k / 10,
                        "params": {"model": "ResNet18"},
                        "eval_metrics": {"acc1": 0.5},
                    }
                )
            )
    sessions = [store.sessions.create(owner, f"k{i}", f"nb{i}.ipynb")["id"] for i in range(100)]
    store.close()
    return ids, with_ckpt, sessions


def timed(fn, calls: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        t0 = time.perf_counter()
        ids, with_ckpt, sessions = fill(root / ".trio", args.runs)
        print(
            f"filled {args.runs} runs ({len(with_ckpt)} with 3 checkpoints), 100 sessions in "
            f"{time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
        t0 = time.perf_counter()
        server = ServerProcess(root).start(timeout=300)
        started = time.perf_counter() - t0
        rest = RestClient(server.url, server.token)
        try:
            floor = timed(
                lambda: rest.http_client.get(f"{server.url}/api/status").raise_for_status(), args.calls
            )
            cases = {
                "list_training_runs(limit=20, offset=random)": lambda: rest.list_training_runs(
                    20, rng.randrange(args.runs - 20)
                ),
                "get_training_run(random)": lambda: rest.get_training_run(rng.choice(ids)),
                "list_checkpoints(random run with 3)": lambda: rest.list_checkpoints(rng.choice(with_ckpt)),
                "list_user_checkpoints(limit=100, offset=random)": lambda: rest.list_user_checkpoints(
                    100, rng.randrange(len(with_ckpt) * 3 - 100)
                ),
                "get_checkpoint_info(trio path)": lambda: rest.get_checkpoint_info(
                    f"trio://{rng.choice(with_ckpt)}/weights/epoch_2"
                ),
                "list_sessions(limit=20)": lambda: rest.list_sessions(20, rng.randrange(80)),
                "get_session(random)": lambda: rest.get_session(rng.choice(sessions)),
                "get_user_info()": rest.get_user_info,
            }
            total = rest.list_training_runs(1, 0)["cursor"]["total_count"]
            assert total == args.runs, total
            floor_p50 = statistics.median(floor)
            print(
                f"\nRestClient latency on loopback, {args.runs} runs in the store, {args.calls} calls each "
                f"(server start with that store: {started:.1f}s)"
            )
            print(f"{'call':<48} {'p50 ms':>8} {'p95 ms':>8} {'ratio p50 / floor':>18}")
            print(
                f"{'floor: GET /api/status (jupyter_server)':<48} {floor_p50:>8.2f} "
                f"{p95(floor):>8.2f} {1.0:>18.2f}"
            )
            results = {"floor": {"p50": floor_p50, "p95": p95(floor)}}
            for name, fn in cases.items():
                ms = timed(fn, args.calls)
                results[name] = {"p50": statistics.median(ms), "p95": p95(ms)}
                print(
                    f"{name:<48} {results[name]['p50']:>8.2f} {results[name]['p95']:>8.2f} "
                    f"{results[name]['p50'] / floor_p50:>18.2f}"
                )
            print(
                json.dumps(
                    {"runs": args.runs, "calls": args.calls, "server_start_s": started, "results": results}
                )
            )
        finally:
            rest.close()
            server.stop()


if __name__ == "__main__":
    main()
