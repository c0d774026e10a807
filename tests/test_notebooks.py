"""The example notebooks run headless, each in a kernel of a live test server, and do what they say."""

from __future__ import annotations

import time

import pytest

from notebook_runner import execute_in_server_kernel

pytestmark = pytest.mark.slow


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


class TestQuickStart:
    """The quick start as a new user runs it: the full demo dataset (600 images), the notebook's own
    training budget, and a model that is right at the end."""

    @pytest.fixture
    def trio_config(self):
        # the real demo size (not the small test one), and the default of a 2-core machine: one CPU job at
        # a time, with both cores
        return {"max_cpu_jobs": 1}

    async def test_quick_start_notebook(self, jp_serverapp, http_server_client, jp_root_dir, trio_workspace):
        pytest.importorskip("paddle")
        started = time.monotonic()
        out, _, nb = await execute_in_server_kernel(jp_serverapp, jp_root_dir, "quick_start.ipynb")
        wall = time.monotonic() - started
        print(
            f"quick start: val top-1 {out['val_top1']:.3f} (best epoch {out['best_epoch']}), "
            f"{out['correct']}/{out['shown']} val images right, {wall:.0f} s"
        )
        assert out["status"] == "completed" and out["export"] == "completed"
        assert out["val_top1"] >= 0.9, out
        assert out["correct"] >= out["shown"] - 1, out  # the predictions the notebook shows are right
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


async def test_sweep_notebook(jp_serverapp, http_server_client, jp_root_dir):
    out, _, _ = await execute_in_server_kernel(jp_serverapp, jp_root_dir, "sweep.ipynb")
    assert out["state"] == "completed" and out["trials"] == 12
    assert set(out["states"]) <= {"complete", "pruned"}
    assert out["best"]["value"] == out["study_best"]
    assert out["best"]["value"] < 0.5  # the floor is 0 at lr=0.05, width=64; the last epoch adds 1/8
    assert out["importances"] == ["lr", "width"]
