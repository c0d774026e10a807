"""What PaddleX's own clients send, and what a user sees when training cannot run or a job dies.

The web client (paddlex_restful_demo.html) posts ``train`` as a JSON string holding the whole parameter
dict it fetched, plus ``backbone: ""`` for models without one, ``use_gpu``, ``cpu_num`` and numbers typed
into form inputs as strings. PaddleX's server ignored the names a task type lacks; so do we, and say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
import time

import pytest

from jupyter_trio.handlers.paddlex.enums import TaskStatus

from dataset_fixtures import TINY_TRAIN
from test_paddlex_tasks import demo, poll

WEB_CLIENT_TRAIN = {
    **TINY_TRAIN,
    "backbone": "",
    "use_gpu": True,
    "cpu_num": 2,
    "num_epochs": "2",
    "batch_size": "16",
    "learning_rate": "0.003",
    "brightness_prob": "0.5",
    "contrast_range": "0.25",
    "image_shape": "32,32",
    "pretrain_weights": "IMAGENET",
    "train_num": 0,
    "vertical_flip_prob": "undefined",
    "lr_decy_epochs": [1],
    "horizontal_flip": "true",
}


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def test_web_client_parameters_create_the_task_and_name_what_was_ignored(px, api):
    _, pid = await demo(px)
    code, out = await px(
        "POST", "project/task", {"pid": pid, "train": json.dumps(WEB_CLIENT_TRAIN), "desc": "web"}
    )
    assert code == 200 and out["status"] == 1, out
    tid, message = out["tid"], out["message"]
    for name in ("backbone", "lr_decy_epochs", "use_gpu", "cpu_num", "IMAGENET"):
        assert name in message, message
    _, params = await px("GET", "project/task/params", {"tid": tid})
    train = params["train"]
    assert (train["num_epochs"], train["batch_size"], train["learning_rate"]) == (2, 16, 0.003)
    assert (train["brightness_prob"], train["contrast_range"], train["image_shape"]) == (0.5, 0.25, [32, 32])
    assert (
        train["pretrain_weights"] is None and train["train_num"] is None and train["horizontal_flip"] is True
    )
    assert "backbone" not in train and "cpu_num" not in train

    # POST params merges onto the task's parameters, as PaddleX's load_from_dict did
    code, out = await px(
        "POST", "project/task/params", {"tid": tid, "train": json.dumps({"num_epochs": "3"})}
    )
    assert code == 200 and out["status"] == 1, out
    _, params = await px("GET", "project/task/params", {"tid": tid})
    assert params["train"]["num_epochs"] == 3 and params["train"]["image_shape"] == [32, 32]

    # a wrong value of a known name is still refused, naming the field; nothing is created
    code, out = await px(
        "POST", "project/task", {"pid": pid, "train": {**TINY_TRAIN, "brightness_prob": "lots"}}
    )
    assert code == 422 and out["status"] == -1 and "brightness_prob" in out["message"]
    code, out = await px("POST", "project/task", {"pid": pid, "train": "{not json"})
    assert code == 422 and out["status"] == -1 and "train" in out["message"]
    _, tasks = await px("GET", "project/task", {"pid": pid})
    assert [t["id"] for t in tasks["tasks"]] == [tid]

    # the native API keeps refusing unknown names
    code, out = await api("POST", f"trio/api/projects/{pid}/tasks", {"train": {**TINY_TRAIN, "cpu_num": 2}})
    assert code == 422 and "cpu_num" in out["error"]["message"]


async def test_use_gpu_false_trains_on_the_cpu(px):
    _, pid = await demo(px)
    code, out = await px(
        "POST",
        "project/task",
        {"pid": pid, "train": {**TINY_TRAIN, "use_gpu": False, "cuda_visible_devices": "0"}},
    )
    assert out["status"] == 1 and "use_gpu false" in out["message"], out
    _, params = await px("GET", "project/task/params", {"tid": out["tid"]})
    assert params["train"]["cuda_visible_devices"] == ""


class TestWithoutPaddle:
    """The trainer's Python cannot import paddle: requests are refused up front, naming the fix."""

    @pytest.fixture
    def trio_config(self, tmp_path_factory):
        folder = tmp_path_factory.mktemp("no-paddle")
        (folder / "sitecustomize.py").write_text(
            "import sys\n"
            "class _NoPaddle:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'paddle' or name.startswith('paddle.'):\n"
            "            raise ModuleNotFoundError(\"No module named 'paddle'\", name=name)\n"
            "sys.meta_path.insert(0, _NoPaddle())\n"
        )
        wrapper = folder / "python"
        wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={folder} exec {sys.executable} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
        return {"demo_images": 40, "python_executable": str(wrapper)}

    async def test_train_is_refused_with_the_fix_and_health_says_so(self, px, api):
        code, health = await api("GET", "trio/api/health")
        assert health["training"]["available"] is False and "PaddlePaddle" in health["training"]["reason"]
        _, system = await px("GET", "system", {"type": "machine_info"})
        assert system["info"]["training_available"] is False
        _, pid = await demo(px)
        code, out = await px("POST", "project/task", {"pid": pid, "train": TINY_TRAIN})
        assert out["status"] == 1  # creating (choosing parameters) needs no trainer
        tid = out["tid"]
        code, out = await px("POST", "project/task/train", {"tid": tid})
        assert code == 409 and out["status"] == -1
        assert "jupyter-trio[paddle]" in out["message"] and "paddlepaddle-gpu" in out["message"], out
        _, one = await px("GET", "project/task", {"tid": tid})
        assert one["task_status"] == TaskStatus.XINIT  # nothing was queued
        code, out = await api("POST", "trio/api/v1/training_runs", {"project_id": pid, "params": TINY_TRAIN})
        assert code == 409 and "jupyter-trio[paddle]" in out["error"]["message"]
        _, runs = await api("GET", "trio/api/v1/training_runs")
        assert [r["training_run_id"] for r in runs["training_runs"]] == [tid]  # the refused run made nothing


async def test_a_failed_script_says_why(api, script_workspace, wait_task):
    await script_workspace("import sys\nprint('working')\nraise RuntimeError('the data folder is empty')\n")
    _, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "boom", "template_value": {"x": 1}, "run": True}
    )
    task = await wait_task(created["items"][0]["name"], "failed")
    assert task["error"] == "RuntimeError: the data folder is empty" == task["message"]
    await script_workspace("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", name="killed.py")
    _, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "kill", "template_value": {"x": 1}, "run": True}
    )
    task = await wait_task(created["items"][0]["name"], "failed")
    assert task["error"] == "killed by SIGKILL (signal 9)", task
    await script_workspace("import sys\nsys.exit(3)\n", name="quiet.py")
    _, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "quiet", "template_value": {"x": 1}, "run": True}
    )
    task = await wait_task(created["items"][0]["name"], "failed")
    assert task["error"] == "exited with code 3", task


@pytest.mark.slow
async def test_a_killed_training_says_why_in_every_dialect(px, api, trio_workspace):
    pytest.importorskip("paddle")
    _, pid = await demo(px)
    _, out = await px("POST", "project/task", {"pid": pid, "train": {**TINY_TRAIN, "num_epochs": 50}})
    tid = out["tid"]
    await px("POST", "project/task/train", {"tid": tid})
    shim = trio_workspace / "tasks" / tid / "runs" / "1" / "shim.json"
    deadline = time.monotonic() + 60
    while not shim.is_file():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    os.kill(json.loads(shim.read_text())["child_pid"], signal.SIGKILL)  # e.g. the kernel's OOM killer
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] == TaskStatus.XTRAINFAIL)
    assert done["message"] == "killed by SIGKILL (signal 9)", done
    _, metrics = await px("GET", "project/task/metrics", {"tid": tid, "type": "train"})
    assert metrics["train_log"]["train_error"] == "killed by SIGKILL (signal 9)"
    _, native = await api("GET", f"trio/api/tasks/{tid}")
    assert native["error"] == "killed by SIGKILL (signal 9)"
    _, run = await api("GET", f"trio/api/v1/training_runs/{tid}")
    assert run["error"] == "killed by SIGKILL (signal 9)" and run["corrupted"] is True
