"""The example notebooks run headless, each in a kernel of a live test server, and do what they say."""

from __future__ import annotations

import pytest

from notebook_runner import execute_in_server_kernel

pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


async def test_quick_start_notebook(jp_serverapp, http_server_client, jp_root_dir, trio_workspace):
    pytest.importorskip("paddle")
    out, _, nb = await execute_in_server_kernel(jp_serverapp, jp_root_dir, "quick_start.ipynb")
    assert out["status"] == "completed" and out["export"] == "completed"
    assert out["prediction"] in ("circle", "cross", "square", "triangle")
    assert out["kept"] in out["weights"] and out["kept"].startswith("EM")
    assert (trio_workspace / "exports" / out["run_id"] / "export.json").is_file()
    widget_views = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widget_views) >= 2  # the metrics and log panels were displayed


async def test_experiment_tracking_notebook(jp_serverapp, http_server_client, jp_root_dir):
    out, _, _ = await execute_in_server_kernel(jp_serverapp, jp_root_dir, "experiment_tracking.ipynb")
    assert out["count"] == 3 and len(out["names"]) == 3
    assert out["statuses"] == ["completed"] * 3
    losses = out["results"]
    assert len(set(round(v, 6) for v in losses.values())) == 3  # three different learning rates
    assert out["best"] == min(losses, key=losses.get)
    assert (jp_root_dir / "notebooks" / "sweep_train.py").is_file()
