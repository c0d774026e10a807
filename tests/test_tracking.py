"""The in-job API: read/load look-up, record/track storage under concurrency, signals, the server view."""

from __future__ import annotations

import asyncio
import math
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import jupyter_trio as trio
from jupyter_trio import tracking
from jupyter_trio._trackfile import decode, encode
from jupyter_trio.store.metrics import MetricsReader, Series, downsample

JOB_ENV_KEYS = (
    "TRIO_CONFIG",
    "TRIO_RUN_DIR",
    "TRIO_TASK_DIR",
    "TRIO_RUN_INDEX",
    "TRIO_WORKSPACE",
    "TRIO_TB_DIR",
)


@pytest.fixture(autouse=True)
def clean_tracking_state(monkeypatch):
    for key in JOB_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    tracking.config.use_config(None)
    yield
    tracking.config.use_config(None)


def run_job(code: str, run_dir: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "TRIO_RUN_DIR": str(run_dir), **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ---- read / load
def test_read_prefers_the_runner_config_then_file_path_then_workspace_default(tmp_path, monkeypatch):
    runner_cfg = tmp_path / "runner.yaml"
    runner_cfg.write_text("source: runner\n")
    explicit = tmp_path / "explicit.json"
    explicit.write_text('{"source": "explicit", "model": {"name": "mlp"}}')
    workspace = tmp_path / "ws"
    (workspace / "scripts" / "train").mkdir(parents=True)
    (workspace / "scripts" / "train" / "config_default.yaml").write_text("source: default\n")
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "train.py")])
    monkeypatch.setenv("TRIO_WORKSPACE", str(workspace))

    assert trio.read().source == "default"
    assert trio.read(explicit).source == "explicit"
    assert trio.load().model.name == "mlp"
    monkeypatch.setenv("TRIO_CONFIG", str(runner_cfg))
    assert trio.read(explicit).source == "runner"
    assert trio.load()["source"] == "runner"


def test_read_without_any_config_says_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["nothing.py"])
    with pytest.raises(FileNotFoundError, match="no config"):
        trio.read()
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        trio.read(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        trio.read(tmp_path / "list.yaml")


def test_config_node_access_errors_repr_and_to_dict(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.1\nmodel:\n  name: resnet\n  layers: [1, 2]\n  head: {dim: 8}\n")
    cfg = trio.read(path)
    assert cfg.lr == 0.1 and cfg["model"]["name"] == "resnet" and cfg.model.head.dim == 8
    assert cfg.model.layers == [1, 2]
    assert "model" in cfg and len(cfg) == 2 and cfg.get("missing", 5) == 5
    assert cfg.to_dict() == {"lr": 0.1, "model": {"name": "resnet", "layers": [1, 2], "head": {"dim": 8}}}
    with pytest.raises(trio.ConfigKeyError, match="'model.depth'") as err:
        _ = cfg.model.depth
    assert "name, layers, head" in str(err.value)
    with pytest.raises(KeyError):
        cfg["nope"]
    assert not hasattr(cfg, "nope")  # AttributeError too, so hasattr/getattr work
    assert "resnet" in repr(cfg) and "ConfigNode" in repr(cfg)


# ---- outside a run
def test_outside_a_run_everything_is_silent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert trio.get_task_dir() is None and trio.get_run_index() is None
    trio.record(a=1)
    trio.track(loss=0.5)
    assert list(tmp_path.iterdir()) == []


# ---- storage
def test_record_merges_into_the_run(tmp_path):
    out = run_job(
        """
        import jupyter_trio as trio
        trio.record(acc=0.5, epoch=1)
        trio.record({"acc": 0.9}, best="yes")
        trio.record(epoch=2)
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert MetricsReader().record(tmp_path) == {"acc": 0.9, "epoch": 2, "best": "yes"}


def test_track_forms_steps_and_timestamps(tmp_path):
    out = run_job(
        """
        import jupyter_trio as trio
        trio.track(loss=0.8)
        trio.track(loss=0.6)
        trio.track("acc", 0.91)
        trio.track("acc", 0.95, step=10)
        trio.track({"lr": 0.1}, lr2=0.2)
        trio.track(loss=float("nan"))
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    reader = MetricsReader()
    assert reader.series_names(tmp_path) == {"acc": 2, "loss": 3, "lr": 1, "lr2": 1}
    loss = reader.series(tmp_path, "loss")
    assert loss.steps == [0, 1, 2] and loss.values[:2] == [0.8, 0.6] and math.isnan(loss.values[2])
    assert reader.series(tmp_path, "acc").steps == [0, 10]
    assert all(abs(t - time.time()) < 60 for t in loss.times)


def test_sixteen_processes_times_ten_thousand_points_none_lost_or_torn(tmp_path):
    code = """
        import os, sys
        import jupyter_trio as trio
        worker = int(sys.argv[1])
        for i in range(10_000):
            trio.track("x", worker * 1_000_000 + i, step=i)
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(w)],
            env={**os.environ, "TRIO_RUN_DIR": str(tmp_path), "TRIO_TRACK_FLUSH_S": "0.05"},
        )
        for w in range(16)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0] * 16
    series = MetricsReader().series(tmp_path, "x")
    assert len(series.values) == 160_000
    assert sorted(series.values) == sorted(w * 1_000_000 + i for w in range(16) for i in range(10_000))
    assert len(list((tmp_path / "metrics").glob("*.trk"))) == 16  # one file per process
    for path in (tmp_path / "metrics").glob("*.trk"):  # every block whole, nothing skipped
        blocks, used, skipped = decode(path.read_bytes())
        assert used == path.stat().st_size and skipped == 0


def test_forked_workers_write_their_own_points_without_duplicating_the_parent(tmp_path):
    out = run_job(
        """
        import multiprocessing as mp
        import jupyter_trio as trio
        for i in range(100):
            trio.track(parent=i)          # still buffered when the workers fork
        def work(n):
            for i in range(1000):
                trio.track(child=n * 10_000 + i)
        ctx = mp.get_context("fork")
        workers = [ctx.Process(target=work, args=(n,)) for n in range(4)]
        [w.start() for w in workers]
        [w.join() for w in workers]
        assert all(w.exitcode == 0 for w in workers)
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    reader = MetricsReader()
    assert reader.series_names(tmp_path) == {"child": 4000, "parent": 100}


def test_flush_true_writes_before_returning(tmp_path):
    out = run_job(
        """
        import os, signal
        import jupyter_trio as trio
        trio.track(durable=1.0, flush=True)
        trio.track(buffered=2.0)
        os.kill(os.getpid(), signal.SIGKILL)   # no exit handler can run
    """,
        tmp_path,
        TRIO_TRACK_FLUSH_S="3600",
    )
    assert out.returncode == -9
    assert MetricsReader().series_names(tmp_path) == {"durable": 1}


def test_sigterm_flushes_before_the_process_dies(tmp_path):
    code = """
        import sys, time
        import jupyter_trio as trio
        for i in range(5000):
            trio.track(i=i)
        print("ready", flush=True)
        time.sleep(60)
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRIO_RUN_DIR": str(tmp_path), "TRIO_TRACK_FLUSH_S": "3600"},
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.terminate()
    assert proc.wait(timeout=30) == -15  # still dies by SIGTERM, as the runner expects
    assert MetricsReader().series(tmp_path, "i").steps == list(range(5000))


# ---- downsampling
def test_downsampling_keeps_the_true_min_and_max():
    rng = random.Random(7)
    values = [rng.gauss(0, 1) for _ in range(100_000)]
    values[12_345], values[77_777] = -50.0, 80.0
    series = Series(list(range(100_000)), values, [0.0] * 100_000)
    small = downsample(series, 500)
    assert len(small.values) <= 500
    assert min(small.values) == -50.0 and max(small.values) == 80.0
    assert small.steps == sorted(small.steps)
    assert 12_345 in small.steps and 77_777 in small.steps


def test_reader_waits_for_a_half_written_block_and_skips_damage(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    path = folder / "h-1.trk"
    second = encode("a", [1, 2], [2.0, 3.0], [2.0, 3.0])
    path.write_bytes(encode("a", [0], [1.0], [1.0]) + second[:10])
    reader = MetricsReader()
    assert reader.series(tmp_path, "a").values == [1.0]
    with open(path, "ab") as fh:
        fh.write(second[10:] + b"garbage!" + encode("a", [3], [4.0], [4.0]))
    assert reader.series(tmp_path, "a").values == [1.0, 2.0, 3.0, 4.0]


# ---- notebook runs
async def test_init_opens_a_tracked_run_through_the_server(
    jp_serverapp, jp_http_port, jp_base_url, trio_workspace, trio_app, api
):
    """A kernel's trio.init() asks its server to open the run (the kernel never opens the store) and tracks
    into the run folder the server names; finish() and process exit close it through the server."""
    code = textwrap.dedent(
        f"""
        import jupyter_trio as trio
        info = trio.init("nb-experiment", workspace={str(trio_workspace)!r}, config={{"lr": 0.1}})
        assert trio.get_run_index() == 1 and trio.load().lr == 0.1
        trio.track(loss=1.0)
        trio.track(loss=0.5)
        trio.record(note="from a notebook")
        trio.finish()
        info = trio.init("nb-experiment")
        assert trio.get_run_index() == 2
        trio.track(loss=0.1)
        try:
            trio.init("nb-2", workspace="/somewhere/else")
        except ValueError as exc:
            print("refused:", exc)
    """
    )
    env = {
        **os.environ,
        "TRIO_SERVER_URL": f"http://localhost:{jp_http_port}{jp_base_url}",
        "TRIO_TOKEN": jp_serverapp.identity_provider.token,
    }
    env.pop("TRIO_RUN_DIR", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert b"refused: workspace /somewhere/else is not this server's workspace" in out
    store = trio_app.store
    task = store.tasks.get("nb-experiment")
    assert task.kind == "notebook" and task.run_index == 2
    runs = store.tasks.runs(task.id)
    assert [r.status for r in runs] == ["completed", "completed"]  # the second closed at exit
    reader = MetricsReader()
    assert reader.series(store.layout.run_dir(task.id, 1), "loss").values == [1.0, 0.5]
    assert reader.record(store.layout.run_dir(task.id, 1)) == {"note": "from a notebook"}
    assert reader.series(store.layout.run_dir(task.id, 2), "loss").values == [0.1]
    status, reply = await api("POST", "trio/api/notebook-runs", {"name": "bad name!", "pid": 1})
    assert status == 422 and reply["error"]["message"]
    # what schemathesis's stateful phase sent (a 500 before): a pid past SQLite's integers, lone surrogates
    for raw in (b'{"pid": 101376509163656038064324608}', b'{"config": {"a\\uda7f": [1]}, "pid": 5}'):
        status, reply = await api("POST", "trio/api/notebook-runs", raw=raw)
        assert status == 422 and reply["error"]["message"], reply
    status, _ = await api("POST", "trio/api/notebook-runs/nb-experiment/finish", {"run": 9})
    assert status == 404


# ---- TensorBoard mirror
def test_track_mirrors_into_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboardX")
    tb = tmp_path / "tb"
    out = run_job(
        """
        import jupyter_trio as trio
        for i in range(5):
            trio.track(loss=1.0 / (i + 1))
    """,
        tmp_path / "run",
        TRIO_TB_DIR=str(tb),
    )
    assert out.returncode == 0, out.stderr
    from tensorboardX.proto.event_pb2 import Event

    events = []
    for path in tb.rglob("events.out.tfevents.*"):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            length = int.from_bytes(data[pos : pos + 8], "little")
            events.append(Event.FromString(data[pos + 12 : pos + 12 + length]))
            pos += 12 + length + 4
    scalars = [(e.step, v.simple_value) for e in events for v in e.summary.value if v.tag == "loss"]
    assert [s for s, _ in scalars] == [0, 1, 2, 3, 4]
    assert scalars[1][1] == pytest.approx(0.5)
