"""The native training API (/trio/api/projects/{pid}/tasks, /tasks/{name}/params|resume|jobs/*, /models):
the same services as the PaddleX dialect, with REST verbs and status codes."""

from __future__ import annotations

import json

import pytest

from dataset_fixtures import TINY_TRAIN, load_demo

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def test_native_training_flow(api, wait_task, trio_workspace):
    _, pid = await load_demo(api)
    code, rec = await api("GET", f"trio/api/projects/{pid}/params", params={"model": "ResNet18"})
    assert code == 200 and rec["train"]["model"] == "ResNet18"
    code, task = await api(
        "POST", f"trio/api/projects/{pid}/tasks", {"train": TINY_TRAIN, "description": "native"}
    )
    assert code == 201 and task["kind"] == "train" and task["notes"] == "native"
    name = task["id"]
    await api("POST", f"trio/api/tasks/{name}/run")
    assert (await wait_task(name, "completed", "failed", timeout=240))["status"] == "completed"

    code, out = await api("PUT", f"trio/api/tasks/{name}/params", {"train": {**TINY_TRAIN, "num_epochs": 3}})
    assert code == 200 and out["train"]["num_epochs"] == 3
    code, out = await api("POST", f"trio/api/tasks/{name}/resume", {"epoch": 9})
    assert code == 422 and "9 was not saved" in out["error"]["message"]
    code, out = await api("POST", f"trio/api/tasks/{name}/resume", {"epoch": 2})
    assert code == 202 and out["status"] in ("queued", "running")
    done = await wait_task(name, "completed", "failed", timeout=240)
    assert done["status"] == "completed" and done["run_index"] == 2

    code, job = await api("POST", f"trio/api/tasks/{name}/jobs/evaluate", {"split": "test", "topk": 2})
    assert code == 202 and job["name"] == f"{name}-evaluate" and job["kind"] == "evaluate"
    assert (await wait_task(job["name"], "completed", "failed", timeout=240))["status"] == "completed"
    result = json.loads((trio_workspace / "tasks" / name / "evaluate" / "result.json").read_text())
    assert result["split"] == "test" and "acc2" in result["metrics"]

    image = sorted((trio_workspace / "datasets").rglob("*.jpg"))[0].relative_to(trio_workspace).as_posix()
    code, job = await api("POST", f"trio/api/tasks/{name}/jobs/predict", {"paths": [image]})
    assert (await wait_task(job["name"], "completed", "failed", timeout=240))["status"] == "completed"
    [pred] = json.loads((trio_workspace / "tasks" / name / "predict" / "latest" / "result.json").read_text())
    assert pred["category"] in ("circle", "cross", "square", "triangle")

    code, job = await api(
        "POST", f"trio/api/tasks/{name}/jobs/export", {"save_dir": "exports/native", "quant": True}
    )
    assert (await wait_task(job["name"], "completed", "failed", timeout=240))["status"] == "completed"
    meta = json.loads((trio_workspace / "exports" / "native" / "export.json").read_text())
    assert (trio_workspace / "exports" / "native" / "model.int8.onnx").is_file()
    assert meta["quantization"]["int8_bytes"] < meta["quantization"]["float_bytes"]
    code, model = await api(
        "POST", "trio/api/models", {"kind": "exported", "task_id": name, "path": "exports/native"}
    )
    assert code == 201 and model["id"] == "EM0001" and model["attrs"]["export"]["labels"]
    code, model = await api(
        "POST", "trio/api/models", {"kind": "pretrained", "task_id": name, "name": "p", "epoch": 1}
    )
    assert code == 201 and model["id"] == "PM0001" and model["attrs"]["epoch"] == 1
    code, listing = await api("GET", "trio/api/models", params={"kind": "pretrained"})
    assert [m["id"] for m in listing["items"]] == ["PM0001"]
    code, _ = await api("DELETE", "trio/api/models/PM0001")
    assert code == 204 and not (trio_workspace / "weights" / "PM0001").exists()

    code, out = await api("POST", f"trio/api/tasks/{name}/jobs/dance", {})
    assert code == 422
    code, out = await api("POST", f"trio/api/tasks/{name}/jobs/export", {"save_dir": "/etc/x"})
    assert code == 403
    code, out = await api("POST", f"trio/api/tasks/{name}/jobs/predict", {"paths": ["../../x.jpg"]})
    assert code == 403
    code, out = await api("POST", "trio/api/projects/P0404/tasks", {})
    assert code == 404
    code, _ = await api("DELETE", f"trio/api/tasks/{name}")
    assert code == 204  # the task's jobs go with it
    for job in ("evaluate", "predict", "export"):
        assert (await api("GET", f"trio/api/tasks/{name}-{job}"))[0] == 404
