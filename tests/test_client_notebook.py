"""notebooks/rest_client.ipynb executed (nbclient) in a kernel the live test server started for it, as
JupyterLab does when a notebook is opened: ``ServiceClient()`` must find that server by itself."""

from __future__ import annotations

import pytest

from jupyter_trio.services.users import local_owner

from notebook_runner import execute_in_server_kernel

pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def test_rest_client_notebook_in_a_server_kernel(
    jp_serverapp, http_server_client, jp_root_dir, trio_workspace
):
    pytest.importorskip("paddle")
    # http_server_client: pytest-jupyter starts the server's HTTP listener only for it
    out, model, _ = await execute_in_server_kernel(jp_serverapp, jp_root_dir, "rest_client.ipynb", subdir="")
    assert out["source"].startswith("runtime file of pid"), out["source"]
    assert out["status"] == "completed" and out["user"] == local_owner()
    assert out["run_id"] in out["runs"]
    assert set(out["checkpoints"]) == {"epoch_1", "epoch_2", "best_model"}
    assert out["user_checkpoints"]["total_count"] == 3 and out["info_epoch"] == 2
    assert any(m.endswith("model.pdopt") for m in out["archive_members"])
    assert "epoch_1" not in out["after_delete"] and "epoch_2" in out["after_delete"]
    assert out["prediction"] in out["labels"]
    session = out["session"]
    assert session["session_id"] == out["session_id"] and session["training_run_ids"] == [out["run_id"]]
    assert session["notebook_path"] == "rest_client.ipynb" and session["kernel_id"] == model["kernel"]["id"]
    assert session["sampler_ids"] == [out["sampler"]["sampler_id"]] and out["session_id"] in out["sessions"]
    assert out["sampler"]["status"] == "loaded" and out["weights"] and "signature=" in out["weights_url"]
    assert not (trio_workspace / "tasks" / out["run_id"] / "checkpoints" / "epoch_1").exists()
