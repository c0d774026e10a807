"""The native twin of PaddleX part 1: /trio/api/datasets and /trio/api/projects with REST verbs."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from dataset_fixtures import make


async def wait_status(api, did, *states):
    for _ in range(1200):
        _, out = await api("GET", f"trio/api/datasets/{did}")
        if out["status"] in states:
            return out
        await asyncio.sleep(0.05)
    raise AssertionError(out)


async def test_dataset_lifecycle(api, jp_root_dir, trio_workspace):
    make("segmentation", jp_root_dir / "seg", 10)
    code, d = await api("POST", "trio/api/datasets", {"name": "shapes", "dataset_type": "segmentation"})
    assert code == 201 and d["id"] == "D0001" and d["status"] == "empty"
    code, d = await api("POST", "trio/api/datasets/D0001/import", {"path": "seg"})
    assert code == 202 and d["status"] in ("checking", "copying", "imported")
    d = await wait_status(api, "D0001", "imported", "check_failed")
    assert (d["status"], d["num_images"], d["num_classes"], d["format"]) == ("imported", 10, 4, "masks")
    code, d = await api(
        "POST", "trio/api/datasets/D0001/split", {"val_split": 0.2, "test_split": 0.1, "seed": 3}
    )
    assert code == 200 and d["status"] == "split"
    code, details = await api("GET", "trio/api/datasets/D0001/details")
    assert (len(details["train_files"]), len(details["val_files"]), len(details["test_files"])) == (7, 2, 1)
    code, png = await api("GET", "trio/api/datasets/D0001/preview/JPEGImages/img_0000.jpg")
    assert code == 200 and Image.open(io.BytesIO(png)).size == (96, 96)
    code, out = await api("GET", "trio/api/datasets/D0001/preview/../../trio.db")
    assert code in (403, 404)
    code, d = await api("PATCH", "trio/api/datasets/D0001", {"name": "renamed"})
    assert d["name"] == "renamed"
    code, listing = await api("GET", "trio/api/datasets")
    assert [x["id"] for x in listing["items"]] == ["D0001"]
    code, _ = await api("DELETE", "trio/api/datasets/D0001")
    assert code == 204 and not (trio_workspace / "datasets" / "D0001").exists()
    code, out = await api("GET", "trio/api/datasets/D0001")
    assert code == 404 and out["error"]["code"] == "not_found"


async def test_dataset_bad_input(api):
    code, out = await api("POST", "trio/api/datasets", {"name": "x", "dataset_type": "audio"})
    assert code == 422 and "dataset_type" in out["error"]["message"]
    code, out = await api(
        "POST", "trio/api/datasets", {"name": "x", "dataset_type": "detection", "colour": 1}
    )
    assert code == 422 and "colour" in out["error"]["message"]
    await api("POST", "trio/api/datasets", {"name": "x", "dataset_type": "detection"})
    code, out = await api("POST", "trio/api/datasets/D0001/split", {"val_split": 0.2})
    assert code == 409  # nothing imported
    code, out = await api("POST", "trio/api/datasets/D0001/split", {"val_split": 1.5})
    assert code == 422
    code, out = await api("POST", "trio/api/datasets/D0001/import", {"path": "/etc"})
    assert code in (403, 422)
    code, out = await api("GET", "trio/api/datasets/D0001/details")
    assert code == 409


async def test_project_lifecycle_and_the_paddlex_view_agrees(api, px):
    await api("POST", "trio/api/datasets", {"name": "d", "dataset_type": "detection"})
    code, p = await api("POST", "trio/api/projects", {"name": "p", "project_type": 1, "dataset_id": "D0001"})
    assert code == 201 and (p["id"], p["project_type"], p["dataset_id"]) == ("P0001", "detection", "D0001")
    code, p = await api("POST", "trio/api/projects", {"name": "c", "project_type": "classification"})
    code, out = await api("PATCH", "trio/api/projects/P0002", {"dataset_id": "D0001"})
    assert code == 422 and "detection" in out["error"]["message"]
    code, out = await api(
        "POST", "trio/api/projects", {"name": "x", "project_type": "classification", "dataset_id": "D0001"}
    )
    assert code == 422
    _, px_view = await px("GET", "project", {"id": "P0001"})
    assert px_view["attr"]["did"] == "D0001" and px_view["attr"]["name"] == "p"
    code, p = await api("PATCH", "trio/api/projects/P0001", {"description": "boxes"})
    _, px_view = await px("GET", "project", {"id": "P0001"})
    assert px_view["attr"]["desc"] == "boxes"
    code, _ = await api("DELETE", "trio/api/projects/P0001")
    assert code == 204
    code, listing = await api("GET", "trio/api/projects")
    assert [x["id"] for x in listing["items"]] == ["P0002"]
