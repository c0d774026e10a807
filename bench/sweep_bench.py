"""Sweeps, side by side in one run on this machine (issue 30): N trials of a fixed-length objective, 2 at
once, wall time against the ideal (N x length / 2), for

- jupyter-trio: a sweep of a server started here (random sampler, no pruner): each trial is a task of
  the runner, a Python process (forked by the server's zygote) that reads its config, sleeps the trial's
  length and tracks its value;
- Optuna's own ``study.optimize(n_jobs=2)``, each trial the same script run as a subprocess;
- Ray Tune (``ray[tune]``: ``pip install "ray[tune]"``; skipped with a note when missing), a local Ray of
  2 CPUs, ``max_concurrent_trials=2``, each trial the same script run as a subprocess.

    .venv/bin/python bench/sweep_bench.py                       # 200 trials of 50 ms, 200 trials of 1 s
    .venv/bin/python bench/sweep_bench.py --trials 2000 --lengths 0.05,1   # the issue's full size

Goal: overhead <= 5% at 1 s trials, and lower than Ray Tune's at 50 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_trio.testing import ServerProcess

PARALLEL = 2
TRIAL = """
import sys, time
if len(sys.argv) > 2:                       # the peers: x and the length on the command line
    x, length = float(sys.argv[1]), float(sys.argv[2])
    time.sleep(length)
    print((x - 0.3) ** 2)
else:                                       # jupyter-trio: the trial's config, its value tracked
    import jupyter_trio as trio
    cfg = trio.read()
    time.sleep(cfg["length"])
    trio.track("loss", (cfg["x"] - 0.3) ** 2, step=0)
"""


def run_trial(script: Path, x: float, length: float) -> float:
    out = subprocess.run([sys.executable, str(script), str(x), str(length)], capture_output=True, text=True)
    return float(out.stdout.strip())


def jupyter_trio_sweep(root: Path, trials: int, length: float) -> float:
    (root / "trial.py").write_text(TRIAL)
    # the zygote forks every trial's supervisor and job; the spares (one per trial slot) take a run only
    # while the zygote is not ready (the sweeps guide, "Short trials")
    server = ServerProcess(
        root, f"--TrioApp.max_cpu_jobs={PARALLEL}", f"--LocalExecutor.spare_shims={PARALLEL}"
    ).start()
    try:
        with server.client() as http:
            body = {
                "name": f"bench-{int(length * 1000)}ms",
                "script_path": "trial.py",
                "space": {"x": "uniform(0, 1)", "length": length},
                "objective": {"metric": "loss"},
                "n_trials": trials,
                "parallel": PARALLEL,
                "sampler": "random",
                "pruner": "none",
            }
            started = time.time()
            reply = http.post("/trio/api/sweeps", json=body)
            assert reply.status_code == 201, reply.text
            # A sweep's reply lists every trial: polled every 50 ms at 2,000 trials it took a third of a
            # core from the trials themselves (the bench's own load, not the sweep's). Poll once a second and
            # take the end from the server: the sweep's updated_at is when it was marked completed.
            while (sweep := http.get(f"/trio/api/sweeps/{body['name']}").json())["state"] == "running":
                time.sleep(1.0)
            wall = sweep["updated_at"] - started
            assert sweep["state"] == "completed" and sweep["trials_done"] == trials, sweep["message"]
            assert all(t["state"] == "complete" for t in sweep["trials"])
            return wall
    finally:
        server.stop()


def optuna_subprocess(root: Path, trials: int, length: float) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    script = root / "trial.py"
    script.write_text(TRIAL)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler())
    started = time.perf_counter()
    study.optimize(
        lambda t: run_trial(script, t.suggest_float("x", 0, 1), length), n_trials=trials, n_jobs=PARALLEL
    )
    wall = time.perf_counter() - started
    assert len(study.trials) == trials
    return wall


def ray_tune(root: Path, trials: int, length: float) -> float | None:
    """Ray Tune in a process of its own: a second ray.init() in one process (after ray.shutdown()) times
    out waiting for its GCS here, so each length gets a fresh Python."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return None
    out = subprocess.run(
        [sys.executable, __file__, "--ray-once", str(trials), str(length), str(root)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"Ray Tune failed: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def ray_tune_here(root: Path, trials: int, length: float) -> float:
    import ray
    from ray import tune

    script = root / "trial.py"
    script.write_text(TRIAL)

    def trainable(config: dict) -> dict:
        return {"loss": run_trial(script, config["x"], length)}

    # ray.init() (Ray 2.60) writes ~/.ray/auth_token when there is none, and every Ray head started later
    # on this machine then answers its dashboard API with 401 (the Ray tests' heads, RayExecutor): the
    # bench takes away a token it made
    token = Path.home() / ".ray" / "auth_token"
    had_token = token.exists()
    ray.init(num_cpus=PARALLEL, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"x": tune.uniform(0, 1)},
            tune_config=tune.TuneConfig(
                num_samples=trials, max_concurrent_trials=PARALLEL, reuse_actors=True
            ),
            run_config=tune.RunConfig(storage_path=str(root / "ray_results"), verbose=0),
        )
        started = time.perf_counter()
        results = tuner.fit()
        wall = time.perf_counter() - started
        assert len(results) == trials
        return wall
    finally:
        ray.shutdown()
        if not had_token:
            token.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="trials per length")
    parser.add_argument("--lengths", default="0.05,1", help="trial lengths in seconds")
    parser.add_argument("--tools", default="trio,optuna,ray", help="which of trio, optuna, ray to run")
    parser.add_argument("--ray-once", nargs=3, metavar=("TRIALS", "LENGTH", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ray_once:  # the child process of ray_tune()
        trials, length, folder = args.ray_once
        print(ray_tune_here(Path(folder), int(trials), float(length)), flush=True)
        return
    tools = set(args.tools.split(","))
    rows = []
    for length in (float(v) for v in args.lengths.split(",")):
        trials = args.trials
        ideal = trials * length / PARALLEL
        for tool, name, fn in (
            ("trio", "jupyter-trio", jupyter_trio_sweep),
            ("optuna", "Optuna n_jobs=2", optuna_subprocess),
            ("ray", "Ray Tune", ray_tune),
        ):
            if tool not in tools:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                wall = fn(Path(tmp), trials, length)
            if wall is None:
                print(f"{name}: skipped (pip install 'ray[tune]')", flush=True)
                continue
            overhead = (wall - ideal) / ideal
            rows.append(
                {
                    "tool": name,
                    "trials": trials,
                    "length_s": length,
                    "wall_s": round(wall, 2),
                    "ideal_s": round(ideal, 2),
                    "overhead": round(overhead, 4),
                    "per_trial_ms": round(1000 * (wall - ideal) * PARALLEL / trials, 1),
                }
            )
            print(
                f"{name:16s} {trials:5d} x {length:5.2f} s: wall {wall:8.2f} s, ideal {ideal:8.2f} s, "
                f"overhead {100 * overhead:6.1f}% ({rows[-1]['per_trial_ms']} ms a trial)",
                flush=True,
            )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
