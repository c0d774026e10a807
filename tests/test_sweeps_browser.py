"""Sweeps in the JupyterLab sidebar and the sweep view, in a real browser (issue 30): Debian's chromium
(Playwright, ``executable_path``) on a real server with the prebuilt extension of this install.

A small sweep started over REST shows up in the sidebar's Sweeps section; Pause and Resume work from its
row; its trials (expanded) move to complete or pruned and its progress reaches 6/6 live, through the events
channel. Its view draws the optimisation history (uPlot), the parallel-coordinates canvas (checked by its
pixels) and the importances. Screenshots go to ``$TRIO_TEST_ARTIFACTS/browser``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_sidebar_browser import open_sidebar

import jupyter_trio
from jupyter_trio.testing import ServerProcess, wait_for

pytest.importorskip("optuna")
pytestmark = pytest.mark.slow

SCRIPT = """\
import time, jupyter_trio as trio
cfg = trio.read()
for s in range(5):
    trio.track('loss', (cfg['x']-0.3)**2 + 1/(s+1), step=s)
    time.sleep(0.1)
"""

SWEEP = {
    "name": "quad",
    "script_path": "sweep.py",
    "space": {"x": "uniform(0, 1)"},
    "objective": {"metric": "loss"},
    "n_trials": 6,
    "parallel": 2,
    "pruner": "median",
}

# the canvas's painted pixels: all of them (alpha > 0), and the coloured ones (the complete trials' lines,
# viridis; the axes, text and grey lines are grey)
PIXELS = """canvas => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0, coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        painted++;
        const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    return {painted, coloured, width: canvas.width, height: canvas.height};
}"""


@pytest.fixture
def this_build(tmp_path, monkeypatch):
    """The extension as this checkout last built it (``npm run build:prod`` writes jupyter_trio/labextension),
    first on the server's JUPYTER_PATH: an editable install's copy under ``sys.prefix/share`` is the one
    of its install time."""
    built = Path(jupyter_trio.__file__).parent / "labextension"
    if (built / "package.json").is_file():
        data = tmp_path / "jupyter-path"
        (data / "labextensions").mkdir(parents=True)
        (data / "labextensions" / "jupyter-trio").symlink_to(built, target_is_directory=True)
        paths = [str(data), os.environ.get("JUPYTER_PATH", "")]
        monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(p for p in paths if p))


def test_a_sweep_in_the_sidebar_and_its_view(tmp_path, artifacts, browser, this_build):
    root = tmp_path / "root"
    root.mkdir()
    (root / "sweep.py").write_text(SCRIPT)
    server = ServerProcess(root, "--TrioApp.gpus=none", base_url="/user/alice/")
    with server, server.client() as http:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_sidebar(page, f"{server.url}/lab?token={server.token}")
        page.wait_for_selector('#trio-sidebar [data-group="sweeps"]', timeout=30_000)

        created = http.post("/trio/api/sweeps", json=SWEEP)
        assert created.status_code == 201, created.text
        row = '#trio-sidebar [data-group="sweeps"] [data-sweep="quad"]'
        page.wait_for_selector(f'{row}[data-state="running"]', timeout=30_000)

        # pause and resume from the row
        page.locator(f"{row} button:has-text('Pause')").click()
        page.wait_for_selector(f'{row}[data-state="paused"]', timeout=30_000)
        assert http.get("/trio/api/sweeps/quad").json()["state"] == "paused"
        page.locator(f"{row} button:has-text('Resume')").click()

        # the trials, expanded: read again on each sweep event
        page.locator(f"{row} .jp-trio-expand").click()
        page.wait_for_selector(f"{row} .jp-trio-trial", timeout=30_000)
        fill = page.locator(f"{row} .jp-trio-progress-fill")
        seen = set()

        def finished() -> bool:
            seen.add(int(fill.get_attribute("data-done")))
            return page.locator(f'{row}[data-state="completed"]').count() == 1

        wait_for(finished, 120, every=0.05)
        assert fill.get_attribute("data-done") == "6" and fill.get_attribute("data-total") == "6"
        assert "6/6" in page.locator(f"{row} .jp-trio-sweep-progress").inner_text()
        assert len(seen) > 1, seen  # the progress moved live, not only at the end

        sweep = http.get("/trio/api/sweeps/quad").json()
        states = {t["number"]: t["state"] for t in sweep["trials"]}
        assert len(states) == 6 and set(states.values()) <= {"complete", "pruned"}, states

        def trial_states() -> dict[int, str]:
            items = page.locator(f"{row} .jp-trio-trial")
            return {
                int(items.nth(i).get_attribute("data-trial")): items.nth(i).get_attribute("data-state")
                for i in range(items.count())
            }

        wait_for(lambda: trial_states() == states, 30)
        pruned = sum(1 for s in states.values() if s == "pruned")
        assert page.locator(f"{row} .jp-trio-sweep-pruned").get_attribute("data-pruned") == str(pruned)
        # each trial names its task
        assert page.locator(f"{row} .jp-trio-trial-task:has-text('quad-0000')").count() == 1
        best = sweep["best"]
        assert best is not None
        assert f"#{best['number']}" in page.locator(f"{row} .jp-trio-sweep-best").inner_text()
        page.locator("#trio-sidebar").screenshot(path=str(artifacts / "sweeps-sidebar.png"))

        # the sweep view: history, parallel coordinates, importances
        page.locator(f"{row} button:has-text('Open')").click()
        view = page.locator('.jp-trio-sweepview[data-sweep="quad"]')
        view.wait_for(timeout=30_000)
        canvas = view.locator("canvas.jp-trio-parallel[data-lines='6']")
        canvas.wait_for(timeout=30_000)
        assert canvas.get_attribute("data-axes") == "2"  # x, then the objective
        pixels = canvas.evaluate(PIXELS)
        assert pixels["width"] > 300 and pixels["height"] > 200, pixels
        assert pixels["painted"] > 500, pixels
        assert pixels["coloured"] > 50, pixels  # the complete trials' lines
        history = view.locator(".jp-trio-sweep-history")
        history.locator("canvas").wait_for(timeout=30_000)
        complete = sum(1 for s in states.values() if s == "complete")
        assert history.get_attribute("data-points") == str(complete)
        view.locator('.jp-trio-importance[data-param="x"]').wait_for(timeout=30_000)
        assert "0/6" not in view.locator(".jp-trio-sweep-head").inner_text()
        page.screenshot(path=str(artifacts / "sweeps-view.png"))

        # the command is in the palette, and opening the same sweep again reuses its view
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".jp-ModalCommandPalette input, .lm-CommandPalette-input").first
        palette.wait_for(timeout=10_000)
        palette.fill("Open sweep")
        page.wait_for_selector(".lm-CommandPalette-item:has-text('Open sweep')", timeout=10_000)
        page.keyboard.press("Escape")
        page.locator(f"{row} button:has-text('Open')").click()
        assert page.locator('.jp-trio-sweepview[data-sweep="quad"]').count() == 1
