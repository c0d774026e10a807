"""PaddleX dialect, part 2, end to end over HTTP as the seed's examples do: demo → project → params →
train → metrics while running → stop → resume → evaluate → predict → export; prune; bad input."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import pytest
from PIL import Image

from jupyter_trio.handlers.paddlex.enums import PredictStatus, PruneStatus, TaskStatus

from dataset_fixtures import TINY_TRAIN as TINY

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def poll(px, path, body, done, timeout=240.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        code, out = await px("GET", path, body)
        assert code == 200, out
        if done(out):
            return out
        assert loop.time() < deadline, out
        await asyncio.sleep(0.1)


async def demo(px):
    await px("POST", "demo", {"type": "download", "prj_type": 0})
    await poll(px, "demo", {"prj_type": 0}, lambda o: o["attr"]["status"] == 3)
    _, loaded = await px("POST", "demo", {"type": "load", "prj_type": 0})
    return loaded["did"], loaded["pid"]


async def test_classification_end_to_end(px, raw_fetch, trio_workspace):
    did, pid = await demo(px)
    code, params = await px("GET", "project/task/params", {"pid": pid})
    assert params["status"] == 1 and params["train"]["model"] == "MobileNetV3_small"
    assert params["train"]["image_shape"] == [64, 64]  # from the 64 px demo images
    _, other = await px("GET", "project/task/params", {"pid": pid, "model_type": "ResNet18"})
    assert other["train"]["model"] == "ResNet18"

    code, out = await px("POST", "project/task", {"pid": pid, "train": TINY, "desc": "first"})
    assert out["status"] == 1 and out["tid"] == "T0001"
    tid = out["tid"]
    _, one = await px("GET", "project/task", {"tid": tid})
    assert (one["task_status"], one["type"]) == (TaskStatus.XINIT, "classification")
    _, mine = await px("GET", "project/task/params", {"tid": tid})
    assert mine["train"]["num_epochs"] == 2

    assert (await px("POST", "project/task/train", {"tid": tid}))[1] == {"status": 1}
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE, done
    _, metrics = await px("GET", "project/task/metrics", {"tid": tid, "type": "train"})
    log = metrics["train_log"]
    assert log["eval_done"] and "acc1" in log["eval_metrics"] and log["train_metrics"]["loss"] > 0
    assert log["train_error"] is None and log["download_status"] == 3

    _, vdl = await px("GET", "project/task/vdl", {"tid": tid})
    assert (
        vdl["status"] == 1
        and vdl["url"].startswith("http")
        and vdl["url"].endswith(f"/trio/api/tasks/{tid}/view")
    )
    page = await raw_fetch(f"trio/api/tasks/{tid}/view")
    assert page.code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"] and b"/metrics" in page.body
    assert (await raw_fetch(f"trio/api/tasks/{tid}/view", headers={"Authorization": ""})).code == 403

    # longer training, stopped once a checkpoint is there, then resumed from epoch 1
    await px("POST", "project/task/params", {"tid": tid, "train": {**TINY, "num_epochs": 40}})
    await px("PUT", "project/task/train", {"tid": tid, "act": "resume", "epoch": 2})
    running = await poll(
        px,
        "project/task/metrics",
        {"tid": tid, "type": "train"},
        lambda o: (o["train_log"]["train_metrics"]["epoch"] or 0) >= 3,
    )
    assert running["train_log"]["eta"] is None or ":" in running["train_log"]["eta"]
    assert (await px("PUT", "project/task/train", {"tid": tid, "act": "stop"}))[1] == {"status": 1}
    stopped = await poll(px, "project/task", {"tid": tid, "resume": ""}, lambda o: o["task_status"] != 3)
    assert stopped["task_status"] == TaskStatus.XTRAINEXIT and stopped["resumable"] is True
    assert stopped["max_saved_epochs"] >= 3
    code, out = await px("PUT", "project/task/train", {"tid": tid, "act": "resume", "epoch": 99})
    assert code == 422 and out["status"] == -1 and "99 was not saved" in out["message"]
    await px("POST", "project/task/params", {"tid": tid, "train": {**TINY, "num_epochs": 4}})
    await px("PUT", "project/task/train", {"tid": tid, "act": "resume", "epoch": 3})
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE

    await px(
        "POST",
        "project/task/evaluate",
        {"tid": tid, "epoch": None, "topk": 2, "score_thresh": None, "overlap_thresh": None},
    )
    ev = await poll(px, "project/task/evaluate", {"tid": tid}, lambda o: o["evaluate_status"] in (5, 12))
    assert (
        ev["evaluate_status"] == TaskStatus.XEVALUATED
        and 0 <= ev["result"]["acc1"] <= ev["result"]["acc2"] <= 1
    )
    _, task = await px("GET", "project/task", {"tid": tid})
    assert task["task_status"] == TaskStatus.XEVALUATED
    # the same refined status wherever a task's status shows: /workspace attrs and the project's task list
    _, attrs = await px("GET", "workspace", {"struct": "task", "id": tid, "attr_list": ["status"]})
    _, project = await px("GET", "project", {"id": pid})
    assert attrs.get("attr", {}).get("status") == TaskStatus.XEVALUATED, attrs
    assert TaskStatus.XEVALUATED in project.get("attr", {}).get("tasks", []), project
    _, em = await px("GET", "project/task/metrics", {"tid": tid, "type": "eval"})
    assert em["eval_metrics"]["metrics"]["acc1"] == ev["result"]["acc1"]

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, format="JPEG")
    _, pred = await px(
        "POST", "project/task/predict", {"tid": tid, "image_data": base64.b64encode(buf.getvalue()).decode()}
    )
    assert pred["status"] == 1 and pred["path"].endswith("input_result.png")
    st = await poll(px, "project/task/predict", {"tid": tid}, lambda o: o["predict_status"] != 0)
    assert st["predict_status"] == PredictStatus.XPREDONE
    _, img = await px("GET", "file", {"path": pred["path"]})
    assert Image.open(io.BytesIO(base64.b64decode(img["img_data"]))).size == (64, 64)

    _, exp = await px(
        "POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": "exports/t1", "quant": False}
    )
    assert exp["status"] == 1 and exp["save_dir"] == str((trio_workspace / "exports" / "t1").resolve())
    # PaddleX's web client registers the model at once, while the export job still runs
    exported = {"pid": pid, "tid": tid, "type": "exported", "path": "exports/t1", "exported_type": 0}
    code, reg = await px("POST", "model", {**exported, "name": "shapes-infer"})
    assert (code, reg) == (200, {"status": 1, "emid": "EM0001"}), reg
    st = await poll(px, "project/task/export", {"tid": tid}, lambda o: o["export_status"] != 0)
    assert (
        st["export_status"] == PredictStatus.XPREDONE
        and (trio_workspace / "exports" / "t1" / "model.json").is_file()
    )
    _, task = await px("GET", "project/task", {"tid": tid})
    assert task["task_status"] == TaskStatus.XEXPORTED
    code, out = await px("POST", "project/task/export", {"tid": tid, "type": "lite", "save_dir": "exports/l"})
    assert code == 422 and out["status"] == -1 and "not supported" in out["message"]
    code, out = await px("POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": "/etc/x"})
    assert code == 403 and out["status"] == -1

    # post-training quantization: an int8 ONNX model beside the float one, and how closely it follows it
    _, exp = await px(
        "POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": "exports/q", "quant": True}
    )
    assert exp["status"] == 1
    st = await poll(px, "project/task/export", {"tid": tid}, lambda o: o["export_status"] != 0)
    assert st["export_status"] == PredictStatus.XPREDONE, st
    _, result = await px("GET", "project/task/export", {"tid": tid, "quant": "result"})
    quant = result["quant_result"]
    assert (trio_workspace / "exports" / "q" / quant["file"]).is_file() and quant["calibration_images"] > 0
    assert quant["int8_bytes"] < quant["float_bytes"] / 2 and 0 <= quant["argmax_agreement"] <= 1
    _, log = await px("GET", "project/task/export", {"tid": tid, "quant": "log"})
    assert any("argmax agreement" in line for line in log["quant_log"]["log"])
    code, out = await px("GET", "project/task/export", {"tid": tid, "quant": "nope"})
    assert code == 422 and out["status"] == -1

    # models: save the trained task as pretrained, register the export, start a task from the weights
    _, saved = await px("POST", "model", {"pid": pid, "tid": tid, "name": "shapes", "type": "pretrained"})
    assert (
        saved == {"status": 1, "pmid": "PM0001"}
        and (trio_workspace / "weights" / "PM0001" / "model.pdparams").is_file()
    )
    # the registration made while exporting is ready now; a folder no export writes into is refused
    code, out = await px("POST", "model", {**exported, "name": "nothing", "path": "exports/none"})
    assert code == 422 and out["status"] == -1 and "no export of" in out["message"], out
    _, pre = await px("GET", "model", {"type": "pretrained"})
    assert [m["id"] for m in pre["pretrained_models"]] == ["PM0001"] and pre["pretrained_models"][0][
        "status"
    ] == 3
    _, one = await px("GET", "model", {"mid": "PM0001"})
    assert (
        one["task_params"]["num_epochs"] == 4
        and "acc1" in one["eval_result"]
        and one["dataset_attr"]["id"] == did
    )
    _, ex = await px("GET", "model", {"type": "exported"})
    assert ex["exported_models"][0]["path"] == "exports/t1"
    assert ex["exported_models"][0]["status"] == 3 and ex["exported_models"][0]["model"]
    code, out = await px(
        "POST", "project/task", {"pid": pid, "train": {**TINY, "pretrain_weights": "weights/PM0001"}}
    )
    assert out["status"] == 1
    from_weights = out["tid"]
    code, out = await px(
        "POST", "project/task", {"pid": pid, "train": {**TINY, "pretrain_weights": "weights/PM0404"}}
    )
    assert code == 422 and "pretrain_weights" in out["message"]
    code, out = await px("POST", "model", {"tid": tid, "name": "x", "type": "exported", "path": "/etc"})
    assert code == 403 and out["status"] == -1
    assert (await px("DELETE", "model", {"type": "pretrained", "pmid": "PM0001"}))[1] == {"status": 1}
    assert not (trio_workspace / "weights" / "PM0001").exists()
    code, out = await px("DELETE", "model", {"type": "exported", "emid": "PM0001"})
    assert code == 404
    assert (await px("DELETE", "model", {"type": "exported", "emid": "EM0001"}))[1] == {"status": 1}

    # prune: sensitivity analysis of T0001, then a prune task that fine-tunes the pruned model
    await px("POST", "project/task/prune", {"tid": tid})
    pr = await poll(
        px, "project/task/prune", {"tid": tid}, lambda o: o["prune_status"] in (2, 3, 4), timeout=400
    )
    assert pr["prune_status"] == PruneStatus.XSPRUNEDONE
    _, sens = await px("GET", "project/task/metrics", {"tid": tid, "type": "sensitivities"})
    png = Image.open(io.BytesIO(base64.b64decode(sens["sensitivities_loss_img"]["img_data"])))
    assert png.format == "PNG" and sens["sensitivities_loss_img"]["sensitivities"]["sensitivities"]
    _, child = await px(
        "POST", "project/task", {"pid": pid, "train": {**TINY, "num_epochs": 1}, "parent_id": tid}
    )
    ptid = child["tid"]
    await px("POST", "project/task/train", {"tid": ptid, "eval_metric_loss": 0.5})
    done = await poll(px, "project/task", {"tid": ptid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE
    _, plog = await px("GET", "project/task/metrics", {"tid": ptid, "type": "prune"})
    assert plog["prune_log"]["prune"]["params_after"] <= plog["prune_log"]["prune"]["params_before"]

    _, listing = await px("GET", "project/task", {"pid": pid})
    assert [t["id"] for t in listing["tasks"]] == [tid, from_weights, ptid]  # child jobs are not listed
    assert listing["tasks"][1]["type"] == "classification"
    assert (await px("DELETE", "project/task", {"tid": ptid}))[1] == {"status": 1}
    code, out = await px("GET", "project/task", {"tid": ptid})
    assert code == 404 and out["status"] == -1


@pytest.mark.parametrize(
    "path, body, code, needle",
    [
        ("project/task", {"tid": "T0404"}, 404, "T0404"),
        ("project/task/params", {"pid": "P0404"}, 404, "P0404"),
    ],
)
async def test_unknown_ids(px, path, body, code, needle):
    got, out = await px("GET", path, body)
    assert got == code and out["status"] == -1 and needle in out["message"]


async def test_bad_task_input(px):
    did, pid = await demo(px)
    code, out = await px("POST", "project/task", {"pid": pid, "train": {"model": "VGG16"}})
    assert code == 422 and "model" in out["message"]
    code, out = await px("POST", "project/task", {"pid": pid, "train": {**TINY, "batch_size": "lots"}})
    assert code == 422 and "batch_size" in out["message"]
    code, out = await px(
        "POST", "project/task", {"pid": pid, "train": '{"model": "ResNet18", "num_epochs": 1}'}
    )
    assert out["status"] == 1  # a JSON string, as PaddleX accepted
    code, out = await px("POST", "project", {"name": "empty", "project_type": 0})
    code, out = await px("POST", "project/task", {"pid": out["pid"], "train": TINY})
    assert code == 409 and "no dataset" in out["message"]
    code, out = await px("PUT", "project/task/train", {"tid": "T0001", "act": "resume"})
    assert code == 409 and "no saved checkpoint" in out["message"]
    code, out = await px("PUT", "project/task/train", {"tid": "T0001", "act": "dance"})
    assert code == 422
    code, out = await px("POST", "project/task/predict", {"tid": "T0001", "image_data": "bm90IGFuIGltYWdl"})
    assert code == 422 and "image" in out["message"]
    code, out = await px("POST", "project/task/evaluate", {"tid": "T0001"})
    assert code == 409 and "train it first" in out["message"]
    code, out = await px("GET", "system", {"type": "machine_info"})
    assert out["status"] == 1  # still serving


OTHER_TYPES = {  # tiny budgets: the flow is under test, not the accuracy
    1: (
        "detection",
        {
            "model": "YOLOv3",
            "image_shape": [64, 64],
            "batch_size": 8,
            "num_epochs": 1,
            "save_interval_epochs": 1,
            "learning_rate": 0.002,
            "warmup_steps": 0,
        },
        "bbox_map",
    ),
    2: (
        "segmentation",
        {
            "model": "UNet",
            "image_shape": [32, 32],
            "batch_size": 8,
            "num_epochs": 1,
            "save_interval_epochs": 1,
            "learning_rate": 0.01,
        },
        "miou",
    ),
    3: (
        "instance_segmentation",
        {
            "image_shape": [64, 64],
            "batch_size": 8,
            "num_epochs": 1,
            "save_interval_epochs": 1,
            "learning_rate": 0.002,
            "warmup_steps": 0,
        },
        "segm_map",
    ),
}


@pytest.mark.parametrize("prj_type", list(OTHER_TYPES))
async def test_other_task_types_end_to_end(px, trio_workspace, prj_type):
    kind, train, metric = OTHER_TYPES[prj_type]
    await px("POST", "demo", {"type": "download", "prj_type": prj_type})
    await poll(px, "demo", {"prj_type": prj_type}, lambda o: o["attr"]["status"] == 3)
    _, loaded = await px("POST", "demo", {"type": "load", "prj_type": prj_type})
    _, params = await px("GET", "project/task/params", {"pid": loaded["pid"]})
    assert (
        params["train"]["model"]
        == {"detection": "YOLOv3", "segmentation": "UNet", "instance_segmentation": "MaskYOLO"}[kind]
    )
    _, out = await px("POST", "project/task", {"pid": loaded["pid"], "train": train})
    tid = out["tid"]
    await px("POST", "project/task/train", {"tid": tid})
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE and done["type"] == kind
    _, log = await px("GET", "project/task/metrics", {"tid": tid, "type": "train"})
    assert metric in log["train_log"]["eval_metrics"]
    # stop a resumed run straight away, then resume again from the saved epoch and finish
    await px("POST", "project/task/params", {"tid": tid, "train": {**train, "num_epochs": 50}})
    await px("PUT", "project/task/train", {"tid": tid, "act": "resume", "epoch": 1})
    assert (await px("PUT", "project/task/train", {"tid": tid, "act": "stop"}))[1] == {"status": 1}
    stopped = await poll(
        px, "project/task", {"tid": tid, "resume": ""}, lambda o: o["task_status"] not in (1, 3)
    )
    assert (
        stopped["task_status"] == TaskStatus.XTRAINEXIT
        and stopped["resumable"]
        and stopped["max_saved_epochs"] >= 1
    )
    await px("POST", "project/task/params", {"tid": tid, "train": {**train, "num_epochs": 2}})
    await px("PUT", "project/task/train", {"tid": tid, "act": "resume", "epoch": 1})
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE
    await px("POST", "project/task/evaluate", {"tid": tid, "score_thresh": 0.3, "overlap_thresh": 0.5})
    ev = await poll(px, "project/task/evaluate", {"tid": tid}, lambda o: o["evaluate_status"] in (5, 12))
    assert ev["evaluate_status"] == TaskStatus.XEVALUATED and 0 <= ev["result"][metric] <= 1
    image = sorted((trio_workspace / "datasets" / loaded["did"]).rglob("*.jpg"))[0]
    _, pred = await px(
        "POST",
        "project/task/predict",
        {"tid": tid, "image_data": base64.b64encode(image.read_bytes()).decode(), "score_thresh": 0.1},
    )
    st = await poll(px, "project/task/predict", {"tid": tid}, lambda o: o["predict_status"] != 0)
    assert st["predict_status"] == PredictStatus.XPREDONE
    _, img = await px("GET", "file", {"path": pred["path"]})
    assert Image.open(io.BytesIO(base64.b64decode(img["img_data"]))).size == Image.open(image).size
    await px("POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": f"exports/{kind}"})
    st = await poll(px, "project/task/export", {"tid": tid}, lambda o: o["export_status"] != 0)
    assert st["export_status"] == PredictStatus.XPREDONE
    assert (trio_workspace / "exports" / kind / "export.json").is_file()
    code, out = await px(
        "POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": "exports/q", "quant": True}
    )
    if kind == "segmentation":  # int8 ONNX, its argmax compared pixel by pixel with the float model's
        st = await poll(px, "project/task/export", {"tid": tid}, lambda o: o["export_status"] != 0)
        _, result = await px("GET", "project/task/export", {"tid": tid, "quant": "result"})
        assert st["export_status"] == PredictStatus.XPREDONE and result["quant_result"]["held_out_images"] > 0
    else:
        assert code == 422 and out["status"] == -1 and "classification and segmentation" in out["message"]
    _, reg = await px(
        "POST", "model", {"tid": tid, "name": kind, "type": "exported", "path": f"exports/{kind}"}
    )
    _, models = await px("GET", "model", {"type": "exported"})
    assert [m["id"] for m in models["exported_models"]] == [reg["emid"]] and models["exported_models"][0][
        "type"
    ] == kind


async def test_ppyolo_by_its_paddlex_names(px):
    """A PaddleX client picks PP-YOLO by name: recommended parameters name its backbone, the SSLD and COCO
    names train from scratch saying so, it trains to the end, and a backbone it never took is refused."""
    await px("POST", "demo", {"type": "download", "prj_type": 1})
    await poll(px, "demo", {"prj_type": 1}, lambda o: o["attr"]["status"] == 3)
    _, loaded = await px("POST", "demo", {"type": "load", "prj_type": 1})
    pid = loaded["pid"]
    _, params = await px("GET", "project/task/params", {"pid": pid, "model_type": "PPYOLO"})
    assert params["train"]["model"] == "PPYOLO" and params["train"]["backbone"] == "ResNet50_vd_ssld"
    assert params["train"]["use_ema"] is True
    train = {
        "model": "PPYOLO",
        "backbone": "ResNet50_vd_ssld",
        "pretrain_weights": "COCO",
        "image_shape": [64, 64],
        "batch_size": 8,
        "num_epochs": 1,
        "learning_rate": 0.001,
        "warmup_steps": 0,
    }
    code, out = await px("POST", "project/task", {"pid": pid, "train": json.dumps(train)})
    assert code == 200 and "ResNet50_vd" in out["message"] and "COCO" in out["message"], out
    tid = out["tid"]
    await px("POST", "project/task/train", {"tid": tid})
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE, done
    _, log = await px("GET", "project/task/metrics", {"tid": tid, "type": "train"})
    assert 0 <= log["train_log"]["eval_metrics"]["bbox_map"] <= 1
    code, out = await px("POST", "project/task", {"pid": pid, "train": {**train, "backbone": "DarkNet53"}})
    assert code == 422 and out["status"] == -1 and "not one of PPYOLO's" in out["message"], out
