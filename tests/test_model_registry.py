"""The model registry through a live server: versions of a real training run's checkpoints and kept weights,
native and v1 (RestClient), aliases that move, lineage back to the run; bad input refused."""

from __future__ import annotations

import asyncio

import pytest

from tests.test_v1_api import wait_run

from dataset_fixtures import TINY_TRAIN, load_demo


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


@pytest.mark.slow
async def test_versions_aliases_and_lineage_of_a_training_run(api, client):
    pytest.importorskip("paddle")
    _, pid = await load_demo(api)
    code, run = await api("POST", "trio/api/v1/training_runs", {"project_id": pid, "params": TINY_TRAIN})
    assert code == 201, run
    run_id = run["training_run_id"]
    run = await wait_run(api, run_id, "completed", "failed")
    assert run["status"] == "completed", run

    # v1 of "shapes": a checkpoint, natively
    code, v1 = await api(
        "POST",
        "trio/api/registry/models/shapes/versions",
        {"source": f"trio://{run_id}/weights/epoch_1", "description": "first epoch"},
    )
    assert code == 201, v1
    assert (v1["version"], v1["task_id"], v1["run_index"], v1["checkpoint"], v1["epoch"]) == (
        1,
        run_id,
        1,
        "epoch_1",
        1,
    )
    assert [step["kind"] for step in v1["lineage"]] == ["run", "checkpoint", "model_version"]
    assert v1["lineage"][0]["task_id"] == run_id and v1["lineage"][0]["status"] == "completed"
    assert v1["lineage"][1]["path"] == f"trio://{run_id}/weights/epoch_1"

    # v2 through the Tinker-style client, from the tinker:// path of the best model
    rest = await asyncio.to_thread(lambda: client().create_rest_client())  # it asks the server at once
    v2 = await asyncio.to_thread(
        rest.register_model_version, "shapes", f"tinker://{run_id}/sampler_weights/best_model"
    )
    assert (v2["model_name"], v2["version"], v2["training_run_id"]) == ("shapes", 2, run_id)
    assert v2["tinker_path"] == f"tinker://{run_id}/sampler_weights/best_model"

    # v3 from kept weights: the run's best model saved as pretrained (PaddleX's PM0001)
    keep = {"kind": "pretrained", "task_id": run_id, "name": "shapes-best"}
    code, saved = await api("POST", "trio/api/models", keep)
    assert code == 201, saved
    weights_id = saved["id"]
    code, v3 = await api("POST", "trio/api/registry/models/shapes/versions", {"source": weights_id})
    assert code == 201, v3
    assert v3["version"] == 3 and v3["weights_id"] == weights_id and v3["task_id"] == run_id
    assert [s["kind"] for s in v3["lineage"]][0] == "run" and v3["lineage"][-2]["kind"] == "weights"

    # aliases: set, read through, move
    code, aliased = await api("PUT", "trio/api/registry/models/shapes/aliases/production", {"version": 1})
    assert code == 200 and aliased["aliases"] == ["production"], aliased
    await api("PUT", "trio/api/registry/models/shapes/aliases/candidate", {"version": 3})
    code, prod = await api("GET", "trio/api/registry/models/shapes/versions/production")
    assert code == 200 and prod["version"] == 1 and prod["lineage"][0]["task_id"] == run_id
    await api("PUT", "trio/api/registry/models/shapes/aliases/production", {"version": 3})
    got = await asyncio.to_thread(rest.get_model_version, "shapes", "production")
    assert got["version"] == 3 and sorted(got["aliases"]) == ["candidate", "production"]
    code, model = await api("GET", "trio/api/registry/models/shapes")
    assert model["latest_version"] == 3 and model["aliases"] == {"candidate": 3, "production": 3}
    assert [v["version"] for v in model["versions"]] == [1, 2, 3]
    listed = await asyncio.to_thread(rest.list_model_versions, "shapes")
    assert [v["version"] for v in listed["versions"]] == [1, 2, 3]
    code, _ = await api("DELETE", "trio/api/registry/models/shapes/aliases/candidate")
    assert code == 204
    assert (await api("GET", "trio/api/registry/models/shapes/versions/candidate"))[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("POST", "registry/models", {"name": "../x"}, 422, "name"),
        ("POST", "registry/models", {"name": "dup"}, 409, "exists already"),
        ("GET", "registry/models/none", None, 404, "no registered model 'none'"),
        ("POST", "registry/models/m/versions", {"source": "T0404"}, 404, "no kept model"),
        ("POST", "registry/models/m/versions", {"source": "trio://T0404/weights/epoch_1"}, 404, "T0404"),
        ("POST", "registry/models/m/versions", {"source": "http://x/y"}, 404, "no checkpoint path"),
        ("POST", "registry/models/m/versions", {"source": ""}, 422, "source"),
        ("GET", "registry/models/dup/versions/7", None, 404, "no version or alias '7'"),
        ("PUT", "registry/models/dup/aliases/prod", {"version": 7}, 404, "no version or alias '7'"),
        ("PUT", "registry/models/dup/aliases/123", {"version": 1}, 422, "alias"),
        ("PUT", "registry/models/dup/aliases/prod", {"version": 0}, 422, "version"),
        ("DELETE", "registry/models/dup/aliases/none", None, 404, "no alias 'none'"),
        ("POST", "v1/models/m/versions", {"path": "tinker://T0404/weights/epoch_1"}, 404, "T0404"),
    ],
)
async def test_bad_registry_requests_are_refused(api, method, path, body, status, needle):
    assert (await api("POST", "trio/api/registry/models", {"name": "dup"}))[0] == 201
    code, reply = await api(method, f"trio/api/{path}", body)
    assert code == status, reply
    assert needle in reply["error"]["message"], reply
    _, models = await api("GET", "trio/api/registry/models")
    assert [m["name"] for m in models["models"]] == ["dup"]  # nothing made by a refused request
