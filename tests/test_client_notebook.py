"""notebooks/rest_client.ipynb executed (nbclient) in a kernel the live test server started for it, as
JupyterLab does when a notebook is opened: ``ServiceClient()`` must find that server by itself."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_trio.store.users import local_owner

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "rest_client.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def test_rest_client_notebook_in_a_server_kernel(jp_serverapp, http_server_client, jp_root_dir,
                                                      trio_workspace):
    pytest.importorskip("paddle")
    # http_server_client: pytest-jupyter starts the server's HTTP listener only for it
    (jp_root_dir / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import json; print(json.dumps(summary, default=str))"))

    sessions = jp_serverapp.session_manager
    model = await sessions.create_session(path=NOTEBOOK.name, kernel_name="python3", type="notebook",
                                          name=NOTEBOOK.name)
    kernel = jp_serverapp.kernel_manager.get_kernel(model["kernel"]["id"])
    try:
        client = NotebookClient(nb, km=kernel, timeout=600, resources={"metadata": {"path": str(jp_root_dir)}})
        await client.async_execute()
    finally:
        await sessions.delete_session(model["id"])

    out = json.loads("".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream"))
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
    assert session["notebook_path"] == NOTEBOOK.name and session["kernel_id"] == model["kernel"]["id"]
    assert session["sampler_ids"] == [out["sampler"]["sampler_id"]] and out["session_id"] in out["sessions"]
    assert out["sampler"]["status"] == "loaded" and out["weights"] and "signature=" in out["weights_url"]
    assert not (trio_workspace / "tasks" / out["run_id"] / "checkpoints" / "epoch_1").exists()
