"""The TensorBoard mirror (``TRIO_TB_DIR``) writes each run's config and final metrics as HParams that
TensorBoard itself reads: its event accumulator, and the HParams dashboard's own request handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX", reason="the mirror writes through tensorboardX (extra 'tensorboard')")
pytest.importorskip("tensorboard", reason="TensorBoard reads what the mirror wrote (test extra)")

from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, hparams_plugin, metadata, plugin_data_pb2

SCRIPT = """
import jupyter_trio as trio
cfg = trio.read()
for epoch in range(cfg.epochs):
    trio.track(loss=cfg.optimizer.lr / (epoch + 1), acc=0.5 + epoch / 10)
trio.track("eval/f1", 0.75, step=100)
"""

CONFIG = """\
optimizer:
  name: adam
  lr: 0.5
  schedule:
    warmup: 2
model:
  depth: 3
  batch_norm: true
  widths: [64, 32]
  head: null
epochs: 4
"""

HPARAMS = {
    "optimizer.name": "adam",
    "optimizer.lr": 0.5,
    "optimizer.schedule.warmup": 2.0,
    "model.depth": 3.0,
    "model.batch_norm": True,
    "model.widths": "[64, 32]",
    "model.head": "None",
    "epochs": 4.0,
}
FINAL = {"loss": 0.5 / 4, "acc": 0.8, "eval/f1": 0.75}


def value_of(value) -> object:
    """A ``google.protobuf.Value`` as the Python value it holds."""
    return getattr(value, value.WhichOneof("kind"))


def session_of(folder: Path) -> tuple[dict, plugin_data_pb2.SessionEndInfo | None]:
    """The hparams and the end info of the one session in a run folder, read by TensorBoard."""
    acc = EventAccumulator(str(folder))
    acc.Reload()
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    assert metadata.SESSION_START_INFO_TAG in content, content
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    end = content.get(metadata.SESSION_END_INFO_TAG)
    hparams = {name: value_of(v) for name, v in start.hparams.items()}
    return hparams, metadata.parse_session_end_info_plugin_data(end) if end else None


def last_scalars(folder: Path) -> dict[str, float]:
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: acc.Scalars(tag)[-1].value for tag in acc.Tags()["scalars"]}


def dashboard(logdir: Path, route: str, request: dict) -> dict:
    """Ask TensorBoard's HParams plugin what its dashboard shows (its own routes, over WSGI)."""
    from werkzeug.test import Client

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(logdir))
    context = base_plugin.TBContext(logdir=str(logdir), multiplexer=mux, data_provider=provider)
    app = hparams_plugin.HParamsPlugin(context).get_plugin_apps()[route]
    reply = Client(app).post("/", data=json.dumps(request))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return json.loads(reply.get_data(as_text=True))


async def test_a_job_shows_its_config_and_final_metrics_in_tensorboards_hparams_dashboard(
    api, script_workspace, wait_task, tmp_path
):
    logdir = tmp_path / "tensorboard"
    await script_workspace(SCRIPT, CONFIG)
    _, out = await api("POST", "trio/api/generator/create", {"name_prefix": "hp"})
    assert len(out["items"]) == 1, out
    name = out["items"][0]["name"]
    status, _ = await api("PATCH", f"trio/api/tasks/{name}/env", {"env": {"TRIO_TB_DIR": str(logdir / name)}})
    assert status == 200
    await api("POST", f"trio/api/tasks/{name}/run")
    task = await wait_task(name, "completed", "failed", timeout=120)
    assert task["status"] == "completed", task

    # the run folder, as TensorBoard's event accumulator reads it
    hparams, end = session_of(logdir / name)
    assert hparams == pytest.approx(HPARAMS)
    assert end is not None and end.status == api_pb2.STATUS_SUCCESS and end.end_time_secs > 0
    assert last_scalars(logdir / name) == pytest.approx(FINAL)
    # ... the same final values as jupyter-trio's own metrics
    for series, value in FINAL.items():
        _, points = await api("GET", f"trio/api/tasks/{name}/metrics/{series}")
        assert points["values"][-1] == pytest.approx(value)

    # the HParams dashboard: its columns (hparams and metrics) and its one row, this run
    experiment = dashboard(logdir, "/experiment", {"experimentName": ""})
    assert {h["name"] for h in experiment["hparamInfos"]} == set(HPARAMS)
    assert {m["name"]["tag"] for m in experiment["metricInfos"]} == set(FINAL)
    statuses = ["STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
    groups = dashboard(
        logdir, "/session_groups", {"startIndex": 0, "sliceSize": 10, "allowedStatuses": statuses}
    )["sessionGroups"]
    assert [g["name"] for g in groups] == [name]
    assert groups[0]["hparams"] == pytest.approx(HPARAMS)
    assert {m["name"]["tag"]: m["value"] for m in groups[0]["metricValues"]} == pytest.approx(FINAL)
    assert groups[0]["sessions"][0]["status"] == "STATUS_SUCCESS"


# ---- jobs without a server: where the config comes from, failures, workers
def run_job(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRIO_")}
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "job.py"  # a file, not -c: spawned workers import the job's __main__ again
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        env={**base, "TRIO_RUN_DIR": str(tmp_path / "run"), "TRIO_TB_DIR": str(tmp_path / "tb"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_job_that_read_no_config_gets_the_runners_and_a_crash_ends_its_session_as_failed(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("data:\n  root: /datasets/x\n  shuffle: false\n")
    out = run_job(
        """
        import jupyter_trio as trio
        trio.track(loss=2.0)
        trio.track(loss=1.0)
        raise RuntimeError("diverged")
        """,
        tmp_path,
        TRIO_CONFIG=str(config),
    )
    assert out.returncode == 1 and "diverged" in out.stderr
    hparams, end = session_of(tmp_path / "tb")
    assert hparams == {"data.root": "/datasets/x", "data.shuffle": False}
    assert end is not None and end.status == api_pb2.STATUS_FAILURE
    assert last_scalars(tmp_path / "tb") == {"loss": 1.0}


def test_no_config_writes_no_hparams_and_a_broken_one_never_fails_the_job(tmp_path):
    job = "import jupyter_trio as trio\ntrio.track(loss=0.5)\n"
    out = run_job(job, tmp_path)
    assert out.returncode == 0, out.stderr
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert acc.Tags()["tensors"] == [] and acc.Tags()["scalars"] == ["loss"]

    broken = tmp_path / "broken.yaml"
    broken.write_text("- not\n- a mapping\n")
    out = run_job(job, tmp_path / "broken", TRIO_CONFIG=str(broken))
    assert out.returncode == 0, out.stderr
    assert "TensorBoard HParams not written" in out.stderr and "mapping" in out.stderr
    assert last_scalars(tmp_path / "broken" / "tb") == {"loss": 0.5}


def test_only_the_main_process_writes_the_session_its_workers_mirror_their_points(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"workers": 2}')
    out = run_job(
        """
        import multiprocessing
        import jupyter_trio as trio

        def work(rank):
            trio.track(**{f"worker{rank}": float(rank)})

        if __name__ == "__main__":
            trio.read()
            trio.track(loss=1.0)
            for rank, start in ((1, "fork"), (2, "spawn")):
                worker = multiprocessing.get_context(start).Process(target=work, args=(rank,))
                worker.start()
                worker.join()
        """,
        tmp_path,
        TRIO_CONFIG=str(config),
    )
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "tb").glob("events.out.tfevents.*"))
    sessions = [
        value.tag
        for path in files
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
        if value.tag == metadata.SESSION_START_INFO_TAG
    ]
    assert len(files) == 3 and len(sessions) == 1
    assert session_of(tmp_path / "tb")[0] == {"workers": 2.0}
    assert last_scalars(tmp_path / "tb") == {"loss": 1.0, "worker1": 1.0, "worker2": 2.0}
