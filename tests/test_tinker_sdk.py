"""The official Tinker SDK (PyPI ``tinker``) reads a live server's v1 dialect unchanged.

``tinker.ServiceClient(base_url="<server>/trio", api_key=..., default_headers_overrides={"Authorization":
"token ..."}).create_rest_client()`` asks ``POST /api/v1/client/config`` first, then reads runs,
checkpoints, sessions and weights info with its own strict models (``tinker_path`` on checkpoints...).
The SDK works from a background thread of its own and blocks the caller on futures, so the calls run in
a worker thread while the test server keeps serving on this loop.
"""

from __future__ import annotations

import asyncio
import warnings

import pytest

from dataset_fixtures import TINY_TRAIN, load_demo
from test_v1_api import wait_run

tinker = pytest.importorskip("tinker")
pytest.importorskip("paddle")
pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


@pytest.fixture
def rest_client(jp_serverapp, http_server_client, jp_http_port, jp_base_url, monkeypatch):
    monkeypatch.setenv("TINKER_TELEMETRY", "0")
    monkeypatch.delenv("TINKER_BASE_URL", raising=False)
    base = f"http://localhost:{jp_http_port}{jp_base_url.rstrip('/')}/trio"
    token = jp_serverapp.identity_provider.token

    def make():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # create_rest_client() is deprecated in 0.38
            service = tinker.ServiceClient(
                base_url=base,
                api_key="tml-jupyter-trio",
                default_headers_overrides={"Authorization": f"token {token}"},
            )
            return service.create_rest_client()

    return make


def call(future, timeout: float = 60.0):
    return future.result(timeout=timeout)


async def test_tinker_sdk_reads_runs_checkpoints_sessions_and_weights(api, rest_client):
    _, pid = await load_demo(api)
    _, session = await api(
        "POST", "trio/api/v1/sessions", {"kernel_id": "k", "user_metadata": {"who": "sdk"}}
    )
    code, run = await api(
        "POST",
        "trio/api/v1/training_runs",
        {"project_id": pid, "params": TINY_TRAIN, "session_id": session["session_id"]},
    )
    assert code == 201, run
    run_id = run["training_run_id"]
    await wait_run(api, run_id, "completed")

    def read_everything():
        rc = rest_client()
        runs = call(rc.list_training_runs(limit=20, offset=0))
        one = call(rc.get_training_run(run_id))
        ckpts = call(rc.list_checkpoints(run_id))
        mine = call(rc.list_user_checkpoints(limit=100, offset=0))
        sessions = call(rc.list_sessions(limit=20, offset=0))
        got = call(rc.get_session(session["session_id"]))
        path = max(c.tinker_path for c in ckpts.checkpoints if c.checkpoint_type == "training")
        info = call(rc.get_weights_info_by_tinker_path(path))
        return runs, one, ckpts, mine, sessions, got, path, info

    runs, one, ckpts, mine, sessions, got, path, info = await asyncio.to_thread(read_everything)
    assert [r.training_run_id for r in runs.training_runs] == [run_id] and runs.cursor.total_count == 1
    assert one.training_run_id == run_id and one.base_model == "MobileNetV3_small" and not one.corrupted
    assert one.last_checkpoint is not None and one.last_checkpoint.tinker_path.startswith(
        f"tinker://{run_id}/"
    )
    kinds = sorted(c.checkpoint_type for c in ckpts.checkpoints)
    assert kinds == ["sampler", "training", "training"]  # best_model + epoch_1, epoch_2
    assert {c.tinker_path for c in mine.checkpoints} == {c.tinker_path for c in ckpts.checkpoints}
    assert sessions.sessions == [session["session_id"]]
    assert got.training_run_ids == [run_id] and got.user_metadata == {"who": "sdk"}
    assert path == f"tinker://{run_id}/weights/epoch_2"
    assert info.base_model == "MobileNetV3_small" and info.is_lora is False

    # our own trio:// names stay, and both schemes name the same checkpoint
    _, ours = await api("GET", f"trio/api/v1/training_runs/{run_id}/checkpoints")
    newest = next(c for c in ours["checkpoints"] if c["checkpoint_id"] == "epoch_2")
    assert newest["trio_path"] == f"trio://{run_id}/weights/epoch_2" and newest["tinker_path"] == path
    _, by_trio = await api("GET", "trio/api/v1/weights_info", params={"path": newest["trio_path"]})
    assert by_trio["epoch"] == 2 and by_trio["base_model"] == info.base_model


async def test_tinker_sdk_errors_are_typed_not_retried(api, rest_client):
    def missing():
        rc = rest_client()
        with pytest.raises(tinker.NotFoundError):
            call(rc.get_training_run("T9999"), timeout=30)
        with pytest.raises(tinker.APIStatusError) as err:
            call(rc.get_weights_info_by_tinker_path("tinker://T9999/weights/epoch_1"), timeout=30)
        return err.value.status_code

    assert await asyncio.to_thread(missing) == 404
