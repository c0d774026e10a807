"""The RestClient dialect (/trio/api/v1) over HTTP: training runs, checkpoints (list, archive, delete with
its guard), weights, sessions, samplers; pagination while runs are being created; bad input."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile
import time
from pathlib import Path

import pytest
from PIL import Image

from jupyter_trio.domain import NewTask
from jupyter_trio.services.users import local_owner

from dataset_fixtures import TINY_TRAIN, load_demo


@pytest.fixture
def trio_config():
    return {"demo_images": 40, "archive_url_ttl": 60.0}


async def fetch_archive(raw_fetch, jp_base_url: str, url: str):
    path = url.split(jp_base_url, 1)[1]
    return await raw_fetch(path)


def untar(data: bytes, target: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(target, filter="data")
    [top] = list(target.iterdir())
    return top


async def wait_run(api, run_id: str, *states: str, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        code, run = await api("GET", f"trio/api/v1/training_runs/{run_id}")
        assert code == 200, run
        if run["status"] in states:
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_training_run_checkpoints_archives_and_samplers(
    api, raw_fetch, jp_base_url, trio_app, trio_workspace, tmp_path
):
    pytest.importorskip("paddle")
    did, pid = await load_demo(api)
    code, session = await api(
        "POST",
        "trio/api/v1/sessions",
        {"kernel_id": "k-1", "notebook_path": "a.ipynb", "user_metadata": {"purpose": "test"}},
    )
    assert (
        code == 201 and session["training_run_ids"] == [] and session["user_metadata"] == {"purpose": "test"}
    )
    sid = session["session_id"]

    code, run = await api(
        "POST",
        "trio/api/v1/training_runs",
        {"project_id": pid, "params": TINY_TRAIN, "session_id": sid, "description": "v1"},
    )
    assert code == 201 and run["base_model"] == "MobileNetV3_small" and run["model_owner"] == local_owner()
    run_id = run["training_run_id"]
    run = await wait_run(api, run_id, "completed", "failed")
    assert run["status"] == "completed" and not run["corrupted"]
    assert run["last_checkpoint"]["trio_path"] == f"trio://{run_id}/weights/epoch_2"
    assert run["last_sampler_checkpoint"]["checkpoint_type"] == "sampler"
    assert run["metadata"]["task_type"] == "classification" and run["session_id"] == sid

    code, session = await api("GET", f"trio/api/v1/sessions/{sid}")
    assert session["training_run_ids"] == [run_id]

    code, listed = await api("GET", f"trio/api/v1/training_runs/{run_id}/checkpoints")
    ids = {c["checkpoint_id"]: c for c in listed["checkpoints"]}
    assert set(ids) == {"epoch_1", "epoch_2", "best_model"}
    assert ids["epoch_1"]["checkpoint_type"] == "training" and ids["epoch_1"]["size_bytes"] > 1000
    assert ids["best_model"]["trio_path"] == f"trio://{run_id}/sampler_weights/best_model"
    code, mine = await api("GET", "trio/api/v1/checkpoints", params={"limit": 2})
    assert mine["cursor"] == {"offset": 0, "limit": 2, "total_count": 3} and len(mine["checkpoints"]) == 2

    code, info = await api(
        "GET", "trio/api/v1/weights_info", params={"path": f"trio://{run_id}/weights/epoch_2"}
    )
    assert code == 200 and info["epoch"] == 2 and info["checkpoint_type"] == "training"
    assert (
        sorted(info["labels"]) == ["circle", "cross", "square", "triangle"]
        and info["training_run_id"] == run_id
    )
    code, err = await api(
        "GET", "trio/api/v1/weights_info", params={"path": f"trio://{run_id}/weights/best_model"}
    )
    assert code == 404  # best_model is a sampler checkpoint, not under weights/
    code, err = await api("GET", "trio/api/v1/weights_info", params={"path": "../../etc"})
    assert code == 403
    code, err = await api("GET", "trio/api/v1/weights_info", params={"path": "trio://x"})
    assert code == 422 and "trio://<run>/weights/<id>" in err["error"]["message"]

    # archive: download, unpack, compare; expired and altered links refused
    code, link = await api("GET", f"trio/api/v1/training_runs/{run_id}/checkpoints/epoch_2/archive")
    assert code == 200 and link["url"].startswith("http") and "signature=" in link["url"]
    resp = await fetch_archive(raw_fetch, jp_base_url, link["url"])
    assert resp.code == 200 and resp.headers["Content-Type"] == "application/gzip"
    unpacked = untar(resp.body, tmp_path / "dl")
    original = trio_workspace / "tasks" / run_id / "checkpoints" / "epoch_2"
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(p.name for p in original.iterdir())
    assert (unpacked / "model.pdparams").read_bytes() == (original / "model.pdparams").read_bytes()
    import paddle

    state = paddle.load(str(unpacked / "model.pdparams"))
    assert state and all(hasattr(v, "shape") for v in state.values())

    target = f"checkpoints/{run_id}/epoch_2"
    query, _ = trio_app.archive_signer.sign(target, now=time.time() - 3600)
    resp = await raw_fetch(f"trio/api/v1/archives/{target}?{query}")
    assert resp.code == 403 and "expired" in json.loads(resp.body)["error"]["message"]
    tampered = link["url"].replace("epoch_2", "epoch_1")
    resp = await fetch_archive(raw_fetch, jp_base_url, tampered)
    assert resp.code == 403 and "altered" in json.loads(resp.body)["error"]["message"]
    resp = await fetch_archive(raw_fetch, jp_base_url, link["url"][:-3] + "000")
    assert resp.code == 403

    # delete: refused while a resumed run needs the checkpoint, allowed after
    code, _ = await api("PUT", f"trio/api/tasks/{run_id}/params", {"train": {**TINY_TRAIN, "num_epochs": 60}})
    code, _ = await api("POST", f"trio/api/tasks/{run_id}/resume", {"epoch": 1})
    assert code == 202
    code, err = await api("DELETE", f"trio/api/v1/training_runs/{run_id}/checkpoints/epoch_1")
    assert code == 409 and "resume" in err["error"]["message"]
    assert (trio_workspace / "tasks" / run_id / "checkpoints" / "epoch_1").is_dir()
    await api("POST", f"trio/api/tasks/{run_id}/cancel")
    await wait_run(api, run_id, "cancelled", "completed", "failed")
    code, _ = await api("DELETE", f"trio/api/v1/training_runs/{run_id}/checkpoints/weights/epoch_1")
    assert code == 204 and not (trio_workspace / "tasks" / run_id / "checkpoints" / "epoch_1").exists()
    code, _ = await api("DELETE", f"trio/api/v1/training_runs/{run_id}/checkpoints/epoch_1")
    assert code == 404

    # the downloaded archive is a complete checkpoint: put back after deletion, the run resumes from it
    await api("PUT", f"trio/api/tasks/{run_id}/params", {"train": {**TINY_TRAIN, "num_epochs": 3}})
    code, _ = await api("DELETE", f"trio/api/v1/training_runs/{run_id}/checkpoints/epoch_2")
    assert code == 204
    code, err = await api("POST", f"trio/api/tasks/{run_id}/resume", {"epoch": 2})
    assert code in (409, 422)
    unpacked.rename(original)
    code, _ = await api("POST", f"trio/api/tasks/{run_id}/resume", {"epoch": 2})
    assert code == 202
    run = await wait_run(api, run_id, "completed", "failed")
    assert run["status"] == "completed" and run["last_checkpoint"]["epoch"] == 3

    # samplers: load the best model, predict a demo image
    code, sampler = await api(
        "POST",
        "trio/api/v1/samplers",
        {"path": f"trio://{run_id}/sampler_weights/best_model", "session_id": sid},
    )
    assert code == 201 and sampler["task_type"] == "classification" and sampler["training_run_id"] == run_id
    image = sorted((trio_workspace / "datasets").rglob("*.jpg"))[0]
    body = {"image": base64.b64encode(image.read_bytes()).decode()}
    code, pred = await api("POST", f"trio/api/v1/samplers/{sampler['sampler_id']}/predict", body)
    assert code == 200, pred
    assert pred["result"]["category"] in sampler["labels"] and 0 <= pred["result"]["score"] <= 1
    assert Image.open(io.BytesIO(base64.b64decode(pred["visualization"]))).size == Image.open(image).size
    code, again = await api("GET", f"trio/api/v1/samplers/{sampler['sampler_id']}")
    assert again["status"] == "loaded"
    code, err = await api("POST", f"trio/api/v1/samplers/{sampler['sampler_id']}/predict", {"image": "***"})
    assert code == 422
    code, err = await api(
        "POST",
        f"trio/api/v1/samplers/{sampler['sampler_id']}/predict",
        {"image": base64.b64encode(b"not an image").decode()},
    )
    assert code == 422 and "image" in err["error"]["message"]
    code, session = await api("GET", f"trio/api/v1/sessions/{sid}")
    assert session["sampler_ids"] == [sampler["sampler_id"]]
    code, _ = await api("DELETE", f"trio/api/v1/samplers/{sampler['sampler_id']}")
    assert code == 204
    code, _ = await api("GET", f"trio/api/v1/samplers/{sampler['sampler_id']}")
    assert code == 404

    # kept weights: listed with pages and an archive link each
    code, model = await api(
        "POST", "trio/api/models", {"kind": "pretrained", "task_id": run_id, "name": "kept"}
    )
    assert code == 201
    code, weights = await api("GET", "trio/api/v1/weights", params={"page": 1, "page_size": 5})
    assert [w["weights_id"] for w in weights["weights"]] == [model["id"]] and weights["cursor"][
        "total_count"
    ] == 1
    code, link = await api("GET", f"trio/api/v1/weights/{model['id']}/archive")
    resp = await fetch_archive(raw_fetch, jp_base_url, link["url"])
    assert (untar(resp.body, tmp_path / "w") / "model.pdparams").is_file()
    code, sampler = await api("POST", "trio/api/v1/samplers", {"path": model["id"]})
    assert code == 201 and sampler["base_model"] == "MobileNetV3_small"


async def test_pagination_is_stable_while_runs_are_created(api, trio_app):
    store = trio_app.store

    def create(n: int) -> None:
        with store.db.transaction() as conn:
            store.tasks.insert_many(
                conn,
                [
                    NewTask(
                        name=f"r-{time.time_ns()}-{i}",
                        kind="train",
                        owner=local_owner(),
                        params={"model": "ResNet18"},
                    )
                    for i in range(n)
                ],
            )

    create(23)
    with store.db.transaction() as conn:  # not a training run: never listed
        store.tasks.insert_many(conn, [NewTask(name="script-1", kind="script", owner=local_owner())])
    seen: list[str] = []
    offset = 0
    while True:
        code, page = await api("GET", "trio/api/v1/training_runs", params={"limit": 5, "offset": offset})
        assert code == 200 and page["cursor"]["offset"] == offset and page["cursor"]["limit"] == 5
        seen += [r["training_run_id"] for r in page["training_runs"]]
        create(2)  # runs created while the client pages
        offset += 5
        if offset >= page["cursor"]["total_count"]:
            break
    assert len(seen) == len(set(seen)), "a run was listed twice"
    all_runs = [
        r["id"]
        for r in store.db.query("SELECT id FROM tasks WHERE kind = 'train' ORDER BY created_at, rowid")
    ]
    assert seen == all_runs[: len(seen)] and len(seen) >= 23


async def test_bad_input_and_unknown_ids(api):
    for path, params in (
        ("training_runs", {"limit": "0"}),
        ("training_runs", {"offset": "-1"}),
        ("training_runs", {"limit": "x"}),
        ("weights", {"page": "0"}),
        ("sessions", {"bogus": "1"}),
        ("weights_info", {}),
    ):
        code, err = await api("GET", f"trio/api/v1/{path}", params=params)
        assert code == 422, (path, params, err)
    for path in (
        "training_runs/T0404",
        "training_runs/T0404/checkpoints",
        "sessions/S0404",
        "samplers/SM0404",
        "training_runs/T0404/checkpoints/epoch_1/archive",
        "weights/PM0404/archive",
    ):
        code, err = await api("GET", f"trio/api/v1/{path}")
        assert code == 404 and err["error"]["code"] == "not_found", path
    code, err = await api("POST", "trio/api/v1/training_runs", {"project_id": "P1", "dataset_id": "D1"})
    assert code == 422
    code, err = await api("POST", "trio/api/v1/training_runs", {"project_id": "P0404"})
    assert code == 404
    code, err = await api("POST", "trio/api/v1/samplers", {"path": "/etc"})
    assert code == 403
    code, err = await api("POST", "trio/api/v1/sessions", {"kernel": 1})
    assert code == 422
    code, err = await api(
        "GET", "trio/api/v1/archives/weights/PM0001", params={"expires": "1", "signature": "x"}
    )
    assert code == 403
    code, err = await api("GET", "trio/api/v1/archives/weights/PM0001")
    assert code == 403
    code, user = await api("GET", "trio/api/v1/user")
    assert code == 200 and user["user_id"] == local_owner()
