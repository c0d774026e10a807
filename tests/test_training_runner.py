"""Train tasks through the real runner: a `train` task runs jupyter_trio.trainers.job as a supervised
subprocess, tracks its loss, writes checkpoints and records, and resumes from a chosen epoch."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from dataset_fixtures import TINY_TRAIN as TINY

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def demo_project(trio_app, kind="classification"):
    trio_app.demo_datasets.download(kind)
    trio_app.demo_datasets.wait(kind, 60)
    return (
        await asyncio.get_running_loop().run_in_executor(None, trio_app.demo_datasets.load, kind, "me")
    ).project_id


async def finish(trio_app, api, wait_task, tid: str, timeout: float = 240) -> tuple[dict, str]:
    """Wait for the task to end (the service woke the runner); (task, its log tail)."""
    done = await wait_task(tid, "completed", "failed", timeout=timeout)
    _, logs = await api("GET", f"trio/api/tasks/{tid}/logs", params={"tail": 400})
    return done, logs["content"]


async def test_train_task_runs_tracks_checkpoints_and_resumes(trio_app, api, wait_task):
    pid = await demo_project(trio_app)
    task = trio_app.training.create("me", pid, TINY, "tiny run")
    assert task.kind == "train" and task.name == task.id and task.notes == "tiny run"
    trio_app.training.start(task.id)
    done, text = await finish(trio_app, api, wait_task, task.id)
    assert done["status"] == "completed", text[-3000:]
    assert "[TRAIN] Epoch=2/2" in text and "[EVAL] Epoch=2" in text
    _, series = await api("GET", f"trio/api/tasks/{task.id}/metrics")
    names = set(series["series"])
    assert {"loss", "lr", "speed", "eta_s", "eval_acc1"} <= names, names
    _, record = await api("GET", f"trio/api/tasks/{task.id}/records")
    rec = record["record"]
    assert rec["stage"] == "done" and rec["best"]["metric"] == "acc1" and rec["epoch"] == 2
    resumable, last = trio_app.training.resume_info(task.id)
    assert (resumable, last) == (False, 2)  # finished: nothing left to resume

    # more epochs, then resume from epoch 1: the second run continues from there
    trio_app.training.set_params(task.id, {**TINY, "num_epochs": 3})
    assert trio_app.training.resume_info(task.id) == (True, 2)
    with pytest.raises(Exception, match="epoch: 7 was not saved"):
        trio_app.training.resume(task.id, 7)
    trio_app.training.resume(task.id, 1)
    again, text = await finish(trio_app, api, wait_task, task.id)
    assert again["status"] == "completed" and again["run_index"] == 2, text[-3000:]
    assert "resumed from epoch 1" in text and "[TRAIN] Epoch=2/3" in text and "[TRAIN] Epoch=1/3" not in text


async def test_training_refuses_a_project_without_a_split_dataset(trio_app):
    from jupyter_trio.errors import Conflict

    project = trio_app.projects.create_project("me", "p", "", "classification")
    with pytest.raises(Conflict, match="no dataset"):
        trio_app.training.create("me", project.id, TINY)
    dataset = trio_app.projects.create_dataset("me", "d", "", "classification")
    trio_app.projects.bind_dataset(project.id, dataset.id)
    with pytest.raises(Conflict, match="not split"):
        trio_app.training.create("me", project.id, TINY)


async def test_sensitivity_analysis_then_prune_task(trio_app, api, wait_task):
    pid = await demo_project(trio_app)
    task = trio_app.training.create("me", pid, TINY)
    trio_app.training.start(task.id)
    assert (await wait_task(task.id, "completed", "failed", timeout=240))["status"] == "completed"

    analysis = trio_app.training.analyse("me", task.id, ratios=[0.3, 0.6], max_layers=3)
    assert analysis.kind == "analysis" and analysis.parent_id == task.id
    done = await wait_task(analysis.id, "completed", "failed", timeout=240)
    _, logs = await api("GET", f"trio/api/tasks/{analysis.id}/logs", params={"tail": 50})
    assert done["status"] == "completed", logs["content"][-3000:]
    folder = trio_app.store.layout.task_dir(task.id) / "prune"
    import json

    sens = json.loads((folder / "sensitivities.json").read_text())
    assert len(sens["sensitivities"]) == 3 and (folder / "sensitivities.png").is_file()

    # weights named by pretrain_weights start the parent; the fine-tune starts from the parent's own
    foreign = trio_app.store.root / "foreign-weights"
    shutil.copytree(trio_app.store.layout.task_dir(task.id) / "checkpoints" / "best_model", foreign)
    pruned = trio_app.training.create(
        "me",
        pid,
        {**TINY, "num_epochs": 1, "eval_metric_loss": 1.0, "pretrain_weights": "foreign-weights"},
        parent_id=task.id,
    )
    assert pruned.kind == "prune" and pruned.config["action"] == "prune"
    trio_app.training.start(pruned.id)
    finished = await wait_task(pruned.id, "completed", "failed", timeout=240)
    _, logs = await api("GET", f"trio/api/tasks/{pruned.id}/logs", params={"tail": 80})
    assert finished["status"] == "completed", logs["content"][-3000:]
    _, record = await api("GET", f"trio/api/tasks/{pruned.id}/records")
    rec = record["record"]
    assert rec["params_after"] < rec["params_before"] and rec["flops_after"] < rec["flops_before"]
    assert set(rec["ratios"]) == set(sens["sensitivities"]) and "[PRUNE]" in logs["content"]
    assert f"tensors from {trio_app.store.layout.task_dir(task.id)}" in logs["content"]
    assert "foreign-weights" not in logs["content"]


async def test_evaluate_predict_export_jobs(trio_app, api, wait_task, trio_workspace):
    import json

    pid = await demo_project(trio_app)
    task = trio_app.training.create("me", pid, TINY)
    trio_app.training.start(task.id)
    assert (await wait_task(task.id, "completed", "failed", timeout=240))["status"] == "completed"
    tdir = trio_app.store.layout.task_dir(task.id)

    async def child(kind, **settings):
        job = trio_app.training.start_child("me", task.id, kind, **settings)
        done = await wait_task(job.id, "completed", "failed", timeout=240)
        _, record = await api("GET", f"trio/api/tasks/{job.id}/records")
        _, logs = await api("GET", f"trio/api/tasks/{job.id}/logs", params={"tail": 60})
        return done, record["record"], logs["content"]

    done, rec, log = await child("evaluate", epoch=1, split="test", topk=2)
    assert done["status"] == "completed", log[-2000:]
    result = json.loads((tdir / "evaluate" / "result.json").read_text())
    assert result["epoch"] == 1 and result["split"] == "test" and "acc2" in result["metrics"]
    assert rec["result"]["metrics"]["acc1"] == result["metrics"]["acc1"]

    image = sorted((trio_workspace / "datasets").rglob("*.jpg"))[0]
    done, rec, log = await child(
        "predict", inputs=[str(image)], out_dir=str(tdir / "predict" / "1"), score_thresh=0.5
    )
    assert done["status"] == "completed", log[-2000:]
    [prediction] = json.loads((tdir / "predict" / "1" / "result.json").read_text())
    assert prediction["category"] in ("circle", "cross", "square", "triangle")
    assert (tdir / "predict" / "1" / f"{image.stem}_result.png").is_file()

    done, rec, log = await child("export", type="onnx", save_dir=str(trio_workspace / "exports" / "cls"))
    assert done["status"] == "completed", log[-2000:]
    assert {"model.json", "model.pdiparams", "export.json", "model.onnx"} <= {
        p.name for p in (trio_workspace / "exports" / "cls").iterdir()
    }

    done, rec, log = await child("export", type="lite", save_dir=str(trio_workspace / "exports" / "lite"))
    assert done["status"] == "failed" and "ONNX" in rec["error"] and "not supported" in rec["error"]

    with pytest.raises(Exception, match="epoch: 9 was not saved"):
        trio_app.training.start_child("me", task.id, "evaluate", epoch=9)


async def test_data_parallel_training_on_two_cpu_processes_and_resume(trio_app, api, wait_task):
    """cpu_processes=2: the job launches two gloo ranks; rank 0 alone logs, tracks and saves; they end with
    identical weights; a resumed run is data-parallel too."""
    pid = await demo_project(trio_app)
    params = {**TINY, "cpu_processes": 2, "batch_size": 8}
    task = trio_app.training.create("me", pid, params)
    trio_app.training.start(task.id)
    done, text = await finish(trio_app, api, wait_task, task.id, 300)
    assert done["status"] == "completed", text[-3000:]
    assert "data-parallel over 2 processes (gloo)" in text
    assert "the 2 processes ended with identical weights" in text
    assert text.count("[TRAIN] Epoch=1/2, Step=1/") == 1  # rank 1 stays quiet
    _, series = await api("GET", f"trio/api/tasks/{task.id}/metrics")
    assert {"loss", "speed", "eval_acc1"} <= set(series["series"])
    _, record = await api("GET", f"trio/api/tasks/{task.id}/records")
    assert record["record"]["stage"] == "done" and record["record"]["epoch"] == 2

    trio_app.training.set_params(task.id, {**params, "num_epochs": 3})
    trio_app.training.resume(task.id, 1)
    again, text = await finish(trio_app, api, wait_task, task.id, 300)
    assert again["status"] == "completed", text[-3000:]
    assert text.count("resumed from epoch 1") == 1 and "[TRAIN] Epoch=3/3" in text
    assert "the 2 processes ended with identical weights" in text


async def test_a_dead_data_parallel_rank_fails_the_task_and_ends_the_others(trio_app, api, wait_task):
    import psutil

    pid = await demo_project(trio_app)
    task = trio_app.training.create(
        "me", pid, {**TINY, "cpu_processes": 2, "batch_size": 8, "num_epochs": 50}
    )
    trio_app.training.start(task.id)
    await wait_task(task.id, "running")

    def ranks() -> dict[int, psutil.Process]:
        found = {}
        for proc in psutil.process_iter(["environ"]):
            env = proc.info.get("environ") or {}
            if env.get("TRIO_TASK_ID") == task.id and "PADDLE_TRAINER_ID" in env:
                found[int(env["PADDLE_TRAINER_ID"])] = proc
        return found

    deadline = asyncio.get_running_loop().time() + 120
    while len(found := ranks()) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the ranks never started"
        await asyncio.sleep(0.2)
    # killed once both are in the process group: a rank lost before that is started again (new ports)
    sync_dir = Path(found[0].info["environ"]["TRIO_DP_SYNC_DIR"])
    while not all((sync_dir / f"joined-{r}").exists() for r in range(2)):
        assert asyncio.get_running_loop().time() < deadline, "the ranks never joined"
        await asyncio.sleep(0.1)
    found[1].kill()
    done = await wait_task(task.id, "failed", "completed", timeout=60)
    assert done["status"] == "failed"
    _, record = await api("GET", f"trio/api/tasks/{task.id}/records")
    assert record["record"]["error"] == "data-parallel rank 1 was killed by signal 9"
    gone, alive = psutil.wait_procs(list(found.values()), timeout=15)
    assert not alive, alive


def test_batch_too_small_to_split_is_refused_naming_batch_size():
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.trainers.params import validate

    with pytest.raises(ValidationFailed, match="batch_size 3 is too small to split over 2"):
        validate("classification", {**TINY, "cpu_processes": 2, "batch_size": 3})
    with pytest.raises(ValidationFailed, match="over 4 data-parallel"):
        validate("classification", {**TINY, "cuda_visible_devices": "0,1,2,3", "batch_size": 6})
