"""FasterRCNN and MaskRCNN through the three dialects: PaddleX (by PaddleX's names, trained, evaluated,
predicted, exported in parts), the native API (no feature pyramid; a backbone it never took refused) and
v1 (a MaskRCNN training run to completion, its checkpoints listed)."""

from __future__ import annotations

import base64
import json

import pytest

from jupyter_trio.handlers.paddlex.enums import PredictStatus, TaskStatus

from test_paddlex_tasks import poll
from test_v1_api import wait_run

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow

SMALL = {
    "image_shape": [64, 64],
    "batch_size": 8,
    "num_epochs": 1,
    "learning_rate": 0.0005,
    "warmup_steps": 0,
    "train_num": 16,
}


@pytest.fixture
def trio_config():
    return {"demo_images": 24}


async def demo_project(px, prj_type: int) -> tuple[str, str]:
    await px("POST", "demo", {"type": "download", "prj_type": prj_type})
    await poll(px, "demo", {"prj_type": prj_type}, lambda o: o["attr"]["status"] == 3)
    _, loaded = await px("POST", "demo", {"type": "load", "prj_type": prj_type})
    return loaded["did"], loaded["pid"]


async def test_faster_rcnn_paddlex_and_native(px, api, trio_workspace):
    did, pid = await demo_project(px, 1)
    _, params = await px("GET", "project/task/params", {"pid": pid, "model_type": "FasterRCNN"})
    assert params["train"]["model"] == "FasterRCNN" and params["train"]["with_fpn"] is True
    train = {"model": "FasterRCNN", "backbone": "ResNet50", "pretrain_weights": "COCO", **SMALL}
    code, out = await px("POST", "project/task", {"pid": pid, "train": json.dumps(train)})
    assert code == 200 and "COCO" in out["message"], out
    tid = out["tid"]
    await px("POST", "project/task/train", {"tid": tid})
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE, done
    await px("POST", "project/task/evaluate", {"tid": tid, "score_thresh": 0.05})
    ev = await poll(px, "project/task/evaluate", {"tid": tid}, lambda o: o["evaluate_status"] in (5, 12))
    assert ev["evaluate_status"] == TaskStatus.XEVALUATED and 0 <= ev["result"]["bbox_map"] <= 1, ev
    image = sorted((trio_workspace / "datasets" / did).rglob("*.jpg"))[0]
    await px(
        "POST",
        "project/task/predict",
        {"tid": tid, "image_data": base64.b64encode(image.read_bytes()).decode(), "score_thresh": 0.0},
    )
    st = await poll(px, "project/task/predict", {"tid": tid}, lambda o: o["predict_status"] != 0)
    assert st["predict_status"] == PredictStatus.XPREDONE, st
    await px("POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": "exports/frcnn"})
    st = await poll(px, "project/task/export", {"tid": tid}, lambda o: o["export_status"] != 0)
    assert st["export_status"] == PredictStatus.XPREDONE, st
    meta = json.loads((trio_workspace / "exports" / "frcnn" / "export.json").read_text())
    assert (
        meta["two_stage"]["with_fpn"] and (trio_workspace / "exports" / "frcnn" / "box_head.json").is_file()
    )
    code, out = await px("POST", "project/task/export", {"tid": tid, "type": "onnx", "save_dir": "exports/x"})
    assert code == 422 and out["status"] == -1 and "ONNX" in out["message"], out

    # the native API: the stride-16 variant; a backbone FasterRCNN never took is refused, naming its own
    code, task = await api(
        "POST",
        f"trio/api/projects/{pid}/tasks",
        {"train": {"model": "FasterRCNN", "with_fpn": False, **SMALL}},
    )
    params = task["config"]["params"]
    assert code == 201 and params["backbone"] == "ResNet18" and params["with_fpn"] is False, task
    code, out = await api(
        "POST", f"trio/api/projects/{pid}/tasks", {"train": {"model": "FasterRCNN", "backbone": "DarkNet53"}}
    )
    message = out["error"]["message"]
    assert code == 422 and "not one of FasterRCNN's" in message and "HRNet_W18" in message, out
    code, out = await api("POST", f"trio/api/projects/{pid}/tasks", {"train": {"model": "MaskRCNN"}})
    assert code == 422 and "MaskRCNN" in out["error"]["message"], out


async def test_mask_rcnn_v1_training_run(px, api):
    _, pid = await demo_project(px, 3)
    code, run = await api(
        "POST",
        "trio/api/v1/training_runs",
        {"project_id": pid, "params": {"model": "MaskRCNN", **SMALL}, "description": "two-stage"},
    )
    assert code == 201 and run["base_model"] == "MaskRCNN", run
    run = await wait_run(api, run["training_run_id"], "completed", "failed")
    assert run["status"] == "completed", run
    code, listing = await api("GET", f"trio/api/v1/training_runs/{run['training_run_id']}/checkpoints")
    assert code == 200 and any(c["checkpoint_id"] == "best_model" for c in listing["checkpoints"]), listing
