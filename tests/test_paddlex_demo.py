"""PaddleX /demo: generate ("download") a demo dataset per type, watch its progress, load it as a split
dataset + bound project — and the native /trio/api/demos twin."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_trio.handlers.paddlex.enums import DownloadStatus


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def wait_demo(px, prj_type, timeout=60.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = []
    while loop.time() < deadline:
        _, out = await px("GET", "demo", {"prj_type": prj_type})
        seen.append(out["attr"]["status"])
        if out["attr"]["status"] in (DownloadStatus.XDDECOMPRESSED, DownloadStatus.XDDOWNLOADFAIL):
            return out, seen
        await asyncio.sleep(0.02)
    raise AssertionError(seen[-5:])


@pytest.mark.parametrize(
    "prj_type, name",
    [(0, "classification"), (1, "detection"), ("segmentation", "segmentation"), (3, "instance_segmentation")],
)
async def test_download_then_load_each_type(px, trio_workspace, prj_type, name):
    code, out = await px("GET", "demo", {"prj_type": prj_type})
    assert code == 404 and out["status"] == -1 and "download" in out["message"]
    code, out = await px("POST", "demo", {"type": "load", "prj_type": prj_type})
    assert code == 409 and out["status"] == -1  # not downloaded yet
    code, out = await px("POST", "demo", {"type": "download", "prj_type": prj_type})
    assert out == {"status": 1}
    done, seen = await wait_demo(px, prj_type)
    assert done["attr"] == {"status": 3, "progress": 1.0, "message": "40 images"}, seen
    code, loaded = await px("POST", "demo", {"type": "load", "prj_type": prj_type})
    assert loaded["status"] == 1 and loaded["did"] == "D0001" and loaded["pid"] == "P0001"
    _, ds = await px("GET", "dataset", {"did": "D0001"})
    assert ds["dataset_status"] == 6 and ds["attr"]["type"] == name and ds["attr"]["pids"] == ["P0001"]
    _, prj = await px("GET", "project", {"id": "P0001"})
    assert prj["attr"]["type"] == name and prj["attr"]["did"] == "D0001"
    _, det = await px("GET", "dataset/details", {"did": "D0001"})
    assert len(det["details"]["file_info"]) == 40 and det["details"]["val_files"]
    code, again = await px("POST", "demo", {"type": "load", "prj_type": name})  # by name, a second time
    assert (again["status"], again["did"], again["pid"]) == (1, "D0001", "P0001")
    assert "already exist" in again["loading_status"]
    assert (trio_workspace / "demo_datasets" / name / ".complete").is_file()


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"type": "download"}, "prj_type is required"),
        ({"type": "download", "prj_type": 9}, "unknown project type"),
        ({"type": "explode", "prj_type": 0}, "'download' or 'load'"),
    ],
)
async def test_demo_bad_input(px, body, needle):
    code, out = await px("POST", "demo", body)
    assert 400 <= code < 500 and out["status"] == -1 and needle in out["message"]


async def test_native_demos(api):
    code, out = await api("GET", "trio/api/demos")
    assert code == 200 and [d["status"] for d in out["items"]] == ["not_started"] * 5
    assert out["items"][-1]["type"] == "remote_segmentation"
    code, out = await api("POST", "trio/api/demos/detection/download")
    assert code == 202 and out["type"] == "detection"
    for _ in range(600):
        _, out = await api("GET", "trio/api/demos/detection")
        if out["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    assert out["status"] == "ready" and out["progress"] == 1.0
    code, loaded = await api("POST", "trio/api/demos/detection/load")
    assert code == 200 and loaded == {"dataset_id": "D0001", "project_id": "P0001", "created": True}
    code, again = await api("POST", "trio/api/demos/detection/load")
    assert again["created"] is False and again["dataset_id"] == "D0001"
    code, out = await api("GET", "trio/api/demos/pointclouds")
    assert code == 422


async def test_a_finished_demo_survives_a_restart(px, trio_app):
    from jupyter_trio.services.demo_datasets import DemoService

    await px("POST", "demo", {"type": "download", "prj_type": 0})
    await wait_demo(px, 0)
    fresh = DemoService(trio_app.store, trio_app.projects)
    assert fresh.status("classification").status == "ready"
