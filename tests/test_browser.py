"""A real browser on a real JupyterLab: Debian's chromium driven by Playwright opens notebooks/dashboard.ipynb
while a task runs, runs it, and watches the dashboard update: the task row, a curve gaining points, new
log lines. Screenshots go to ``$TRIO_TEST_ARTIFACTS`` (default ``test-artifacts/``)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from jupyter_trio.testing import ServerProcess, wait_for

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "dashboard.ipynb"
SCRIPT = """
import time
import jupyter_trio as trio
cfg = trio.load()
for i in range(cfg.steps):
    print(f"step {i} loss {1.0 / (i + 1):.4f}", flush=True)
    trio.track(loss=1.0 / (i + 1))
    time.sleep(0.25)
"""


def test_dashboard_updates_live_in_jupyterlab(tmp_path, artifacts, monkeypatch, browser):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # panels update without a view for 3 s only: later updates prove the page's heartbeats keep them going
    monkeypatch.setenv("TRIO_PANEL_GRACE_S", "3")
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text(SCRIPT)
    (root / "config.yaml").write_text("steps: 400\n")
    shutil.copyfile(NOTEBOOK, root / "dashboard.ipynb")
    with ServerProcess(root, "--TrioApp.gpus=none") as server, server.client() as http:
        assert http.post("/trio/api/workspace/run-root", json={"script_path": "train.py"}).status_code == 200
        created = http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "live", "template_value": {"steps": 400}, "run": True},
        ).json()
        name = created["items"][0]["name"]
        wait_for(lambda: http.get(f"/trio/api/tasks/{name}").json()["status"] == "running")

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{server.url}/lab/tree/dashboard.ipynb?token={server.token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
            try:  # JupyterLab may ask which kernel to start: the notebook's own
                page.locator(".jp-Dialog .jp-mod-accept").click(timeout=10_000)
            except PlaywrightTimeout:
                pass
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
            page.keyboard.press("Shift+Enter")

            row = page.locator(".trio-table tr", has_text=name)
            row.first.wait_for(timeout=90_000)
            assert "running" in row.first.inner_text()
            page.screenshot(path=str(artifacts / "1-tasks.png"))

            time.sleep(4)  # past the grace period
            page.locator(".lm-TabBar-tab", has_text="Metrics").first.click()
            curve = page.locator(".bqplot path.line").first
            curve.wait_for(timeout=60_000)
            first = wait_for(lambda: len(curve.get_attribute("d") or ""), timeout=30)
            grown = wait_for(lambda: (n := len(curve.get_attribute("d") or "")) > first and n, timeout=30)
            assert grown > first, "the curve did not gain points"
            page.screenshot(path=str(artifacts / "2-metrics.png"))

            page.locator(".lm-TabBar-tab", has_text="Logs").first.click()
            log = page.locator("pre.trio-log").first
            log.wait_for(timeout=60_000)
            before = wait_for(lambda: log.inner_text().count("step "), timeout=30)
            after = wait_for(lambda: (n := log.inner_text().count("step ")) > before and n, timeout=30)
            assert after > before, "no new log lines arrived"
            last = log.inner_text().strip().splitlines()[-1]
            assert last.startswith("step ")
            page.screenshot(path=str(artifacts / "3-logs.png"))

            page.locator(".lm-TabBar-tab", has_text="Tasks").first.click()
            http.post(f"/trio/api/tasks/{name}/cancel")
            wait_for(lambda: "cancelled" in row.first.inner_text(), timeout=60)
            page.screenshot(path=str(artifacts / "4-cancelled.png"))
        except Exception:
            page.screenshot(path=str(artifacts / "failure.png"))
            raise
