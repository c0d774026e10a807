"""Comparing runs in JupyterLab, in a real browser (issue 31): Debian's chromium (Playwright,
``executable_path``) on a real server with the prebuilt extension of this install.

Three script tasks of one batch, with different learning rates, track a metric; from the sidebar three of
them are selected (a checkbox, a ctrl-click, a shift-click) and "Compare (3)" opens the compare view on their
runs: the table shows only the parameter that differs, sorts on the server by a header click, and a drag
along an axis of the parallel coordinates (a brush) leaves the table with the runs inside it.

A second test holds 1,000 runs in the view (the route's reply made up in the page): a virtualised table,
1,000 lines, brushes on a numeric and a categorical axis that filter the table; it records the view's own
timings (first render, each brush) in ``compare-timings.json`` beside the screenshots — the figures
bench/compare_bench.py reports against its goals; no test asserts a time. Screenshots go to
``$TRIO_TEST_ARTIFACTS/browser``."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
from test_sidebar_browser import open_sidebar, show_panel

import jupyter_trio
from jupyter_trio.testing import ServerProcess, wait_for

pytestmark = pytest.mark.slow

SCRIPT = """\
import jupyter_trio as trio
cfg = trio.read()
for step in range(5):
    trio.track('acc', 1.0 - cfg['lr'] * (5 - step), step=step)
"""

LEARNING_RATES = [0.1, 0.01, 0.0001]  # over three decades: a log axis, 0.01 in its upper half

# the canvas's painted pixels (alpha > 0), and the coloured ones (the lines; axes and text are grey)
PIXELS = """canvas => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0, coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        painted++;
        const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    return {painted, coloured};
}"""


@pytest.fixture
def this_build(tmp_path, monkeypatch):
    """The extension as this checkout last built it (jupyter_trio/labextension), first on the server's
    JUPYTER_PATH: an editable install's copy under ``sys.prefix/share`` is the one of its install time."""
    built = Path(jupyter_trio.__file__).parent / "labextension"
    if (built / "package.json").is_file():
        data = tmp_path / "jupyter-path"
        (data / "labextensions").mkdir(parents=True)
        (data / "labextensions" / "jupyter-trio").symlink_to(built, target_is_directory=True)
        paths = [str(data), os.environ.get("JUPYTER_PATH", "")]
        monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(p for p in paths if p))


def drag_along(page, canvas, key: str, start: float, end: float) -> None:
    """Drag along the axis ``key`` of the compare view's canvas from position ``start`` to ``end`` (0 the
    bottom of the axis, 1 its top), in small steps as a hand would."""
    layout = json.loads(canvas.get_attribute("data-layout"))
    x = dict(layout["axes"])[key]
    box = canvas.bounding_box()

    def y(p: float) -> float:
        return box["y"] + layout["bottom"] - p * (layout["bottom"] - layout["top"])

    page.mouse.move(box["x"] + x, y(start))
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + x, y(start + (end - start) * i / 10))
    page.mouse.up()


def find_in_palette(page, label: str) -> None:
    """Open the command palette and type ``label`` until its command is listed (JupyterLab may still be
    starting: the shortcut can go unheard, and the modal palette closes when something takes the focus)."""
    palette = page.locator(".lm-CommandPalette-input:visible").first
    for attempt in range(6):
        try:
            if not palette.count():
                page.keyboard.press("Control+Shift+C")
            palette.fill(label, timeout=5_000)
            page.wait_for_selector(f".lm-CommandPalette-item:has-text('{label}')", timeout=5_000)
            return
        except Exception:
            if attempt == 5:
                raise


def header_columns(view) -> list[str]:
    cells = view.locator(".jp-trio-runtable-header [data-column]")
    return [cells.nth(i).get_attribute("data-column") for i in range(cells.count())]


def shown_tasks(view) -> list[str]:
    rows = view.locator(".jp-trio-runtable-row")
    return [rows.nth(i).get_attribute("data-task") for i in range(rows.count())]


def test_compare_runs_selected_in_the_sidebar(tmp_path, artifacts, browser, this_build):
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text(SCRIPT)
    (root / "config.yaml").write_text("lr: " + " | ".join(map(str, LEARNING_RATES)) + "\nepochs: 3\n")
    server = ServerProcess(root, "--TrioApp.gpus=none", base_url="/user/alice/")
    with server, server.client() as http:
        assert http.post("/trio/api/workspace/run-root", json={"script_path": "train.py"}).status_code == 200
        created = http.post("/trio/api/generator/create", json={"name_prefix": "cmp", "run": True})
        assert created.status_code == 201, created.text
        names = [item["name"] for item in created.json()["items"]]
        assert len(names) == 3
        wait_for(
            lambda: all(http.get(f"/trio/api/tasks/{n}").json()["status"] == "completed" for n in names), 120
        )
        lr_of = {row["task"]: row["lr"] for row in http.get("/trio/api/runs").json()["runs"]}
        assert sorted(lr_of[n] for n in names) == sorted(LEARNING_RATES)

        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        open_sidebar(page, f"{server.url}/lab?token={server.token}")
        rows = {n: f'#trio-sidebar [data-group="finished"] [data-task="{n}"]' for n in names}
        for row in rows.values():
            page.wait_for_selector(row, timeout=30_000)

        # select: a checkbox, then a ctrl-click on a row; "Compare" needs two
        first, second, third = names
        page.locator(f"{rows[first]} .jp-trio-select").first.click()
        bar = page.locator("#trio-sidebar .jp-trio-selection")
        bar.wait_for(timeout=10_000)
        assert page.locator("#trio-sidebar .jp-trio-compare-selected").is_disabled()
        page.locator(f"{rows[second]} .jp-trio-task-name").click(modifiers=["Control"])
        assert page.locator(f'{rows[second]}[data-selected="true"]').count() == 1
        page.locator(f"{rows[third]} .jp-trio-select").first.click()
        wait_for(lambda: bar.get_attribute("data-count") == "3", 10)
        compare = page.locator("#trio-sidebar .jp-trio-compare-selected")
        assert "Compare (3)" in compare.inner_text()
        # every row keeps its actions, as icon buttons with their names
        for label in ("Log", "Metrics", "Details", "Rerun", "Pin", "Delete"):
            assert page.locator(f'{rows[first]} button[title="{label}"]').count() == 1, label
        page.locator("#trio-sidebar").screenshot(path=str(artifacts / "compare-sidebar.png"))

        compare.click()
        view = page.locator(".jp-trio-compare")
        view.wait_for(timeout=30_000)
        table = view.locator(".jp-trio-runtable")
        page.wait_for_selector('.jp-trio-compare .jp-trio-runtable[data-rows="3"]', timeout=30_000)
        assert sorted(shown_tasks(view)) == sorted(names)
        assert view.get_attribute("data-where") == "task in (" + ", ".join(f'"{n}"' for n in names) + ")"

        # only what differs: lr, not epochs; all of them when unticked
        columns = header_columns(view)
        assert "lr" in columns and "epochs" not in columns, columns
        assert "task" in columns and any(c.startswith("acc.") for c in columns), columns
        assert view.get_attribute("data-differing") == "lr"
        view.locator(".jp-trio-only-differs input").uncheck()
        wait_for(lambda: "epochs" in header_columns(view), 10)
        view.locator(".jp-trio-only-differs input").check()
        wait_for(lambda: "epochs" not in header_columns(view), 10)

        # a header click: the server sorts, up then down
        view.locator('.jp-trio-runtable-header [data-column="lr"] button').click()
        wait_for(lambda: [lr_of[t] for t in shown_tasks(view)] == sorted(LEARNING_RATES), 30)
        view.locator('.jp-trio-runtable-header [data-column="lr"] button').click()
        wait_for(lambda: [lr_of[t] for t in shown_tasks(view)] == sorted(LEARNING_RATES, reverse=True), 30)

        # the parallel coordinates: a line per run, lr on a log axis; brush its upper part
        canvas = view.locator("canvas.jp-trio-compare-parallel[data-lines='3']")
        canvas.wait_for(timeout=30_000)
        axes = [key for key, _ in json.loads(canvas.get_attribute("data-layout"))["axes"]]
        assert "lr" in axes, axes
        pixels = canvas.evaluate(PIXELS)
        assert pixels["painted"] > 500 and pixels["coloured"] > 20, pixels
        page.screenshot(path=str(artifacts / "compare-view.png"))
        drag_along(page, canvas, "lr", 1.0, 0.5)  # lr from 10^-2.5 up: 0.1 and 0.01
        page.wait_for_selector('.jp-trio-compare .jp-trio-runtable[data-rows="2"]', timeout=10_000)
        assert sorted(lr_of[t] for t in shown_tasks(view)) == [0.01, 0.1]
        assert canvas.get_attribute("data-inside") == "2"
        assert view.locator(".jp-trio-brush-chip[data-key='lr']").count() == 1
        assert "2 of 3 runs shown" in view.locator(".jp-trio-compare-count").inner_text()
        page.screenshot(path=str(artifacts / "compare-brushed.png"))

        # the scatter and the metrics overlay have their points
        wait_for(
            lambda: int(view.locator(".jp-trio-scatter-plot").get_attribute("data-points") or 0) == 3, 10
        )
        overlay = view.locator(".jp-trio-overlay .jp-trio-chart[data-key='acc']")
        overlay.wait_for(timeout=30_000)
        assert overlay.get_attribute("data-lines") == "2"  # the runs inside the brush

        # the brush's chip takes it off again
        view.locator(".jp-trio-brush-chip[data-key='lr']").click()
        page.wait_for_selector('.jp-trio-compare .jp-trio-runtable[data-rows="3"]', timeout=10_000)
        assert table.get_attribute("data-total") == "3"

        # the command is in the palette
        show_panel(page, "trio-sidebar")
        find_in_palette(page, "Compare runs")
        page.keyboard.press("Escape")


def made_up_runs(n: int) -> dict:
    """``n`` runs as ``GET /trio/api/runs`` describes them: four parameters, two series' aggregates."""
    optimizers = ["sgd", "adam", "adamw", "rmsprop"]
    runs = []
    for i in range(n):
        lr = 10 ** -(1 + (i * 7 % 40) / 10)
        batch = [16, 32, 64, 128][i % 4]
        dropout = (i * 13 % 50) / 100
        acc = 0.5 + 0.45 * math.exp(-abs(math.log10(lr) + 2.5)) - dropout / 5 + (i % 7) / 100
        runs.append(
            {
                "task": f"run-{i:04d}",
                "task_id": f"T{i:05d}",
                "run": 1,
                "status": "completed" if i % 9 else "failed",
                "kind": "script",
                "owner": "alice",
                "duration": 30 + i % 60,
                "started_at": 1_700_000_000 + i * 60,
                "ended_at": 1_700_000_030 + i * 60,
                "gpus": "",
                "notes": "",
                "sweep": None,
                "lr": lr,
                "batch_size": batch,
                "optimizer": optimizers[i % 4],
                "dropout": dropout,
                "acc.last": acc - 0.01,
                "acc.min": 0.1,
                "acc.max": acc,
                "acc.best": acc,
                "loss.last": 1 - acc,
                "loss.min": 0.9 - acc,
                "loss.max": 2.0,
                "loss.best": 0.9 - acc,
            }
        )
    kinds = {"lr": "param", "batch_size": "param", "optimizer": "param", "dropout": "param"}
    columns = []
    for name, value in runs[0].items():
        kind = kinds.get(name, "metric" if "." in name else "attribute")
        typ = "number" if isinstance(value, (int, float)) else "string"
        columns.append({"name": name, "kind": kind, "type": typ})
    return {"runs": runs, "total": n, "offset": 0, "limit": 10_000, "columns": columns}


def test_the_compare_view_holds_1000_runs_and_brushes_filter_them(tmp_path, artifacts, browser, this_build):
    root = tmp_path / "root"
    root.mkdir()
    reply = json.dumps(made_up_runs(1000))
    # the app in the page (window.jupyterapp) runs the command: no palette to wait for
    with ServerProcess(root, "--TrioApp.gpus=none", "--LabApp.expose_app_in_browser=True") as server:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.route(
            "**/trio/api/runs*",
            lambda route: route.fulfill(status=200, content_type="application/json", body=reply),
        )
        open_sidebar(page, f"{server.url}/lab?token={server.token}")
        page.wait_for_function("() => window.jupyterapp?.commands.hasCommand('trio:compare-runs')")
        started = time.monotonic()
        page.evaluate("() => void window.jupyterapp.commands.execute('trio:compare-runs')")
        view = page.locator(".jp-trio-compare")
        page.wait_for_selector('.jp-trio-compare .jp-trio-runtable[data-rows="1000"]', timeout=30_000)
        canvas = view.locator("canvas.jp-trio-compare-parallel[data-lines='1000']")
        canvas.wait_for(timeout=10_000)
        seen_ms = (time.monotonic() - started) * 1000
        render_ms = float(view.get_attribute("data-render-ms"))
        # virtualised: a few dozen rows in the DOM of 1,000
        assert view.locator(".jp-trio-runtable-row").count() < 80

        # brush the accuracy's axis: the table shrinks; the view's own clock times each brush (mask, plot,
        # table, scatter); the median of several, as the machine running the tests may be busy
        rows = view.locator(".jp-trio-runtable")
        drag_along(page, canvas, "acc.best", 1.0, 0.5)
        wait_for(lambda: int(rows.get_attribute("data-rows")) < 1000, 10)
        inside = int(canvas.get_attribute("data-inside"))
        assert 0 < inside < 1000
        assert int(rows.get_attribute("data-rows")) == inside
        brush_ms = [float(canvas.get_attribute("data-brush-ms"))]
        draw_ms = float(canvas.get_attribute("data-draw-ms"))
        for low in (0.4, 0.6, 0.3):  # the same axis again: the brush is replaced
            drag_along(page, canvas, "acc.best", 1.0, low)
            wait_for(lambda before=inside: int(canvas.get_attribute("data-inside")) != before, 10)
            inside = int(canvas.get_attribute("data-inside"))
            brush_ms.append(float(canvas.get_attribute("data-brush-ms")))
        # a second brush, on a categorical axis, narrows it further
        drag_along(page, canvas, "optimizer", 1.0, 0.55)
        wait_for(lambda: int(canvas.get_attribute("data-inside")) < inside, 10)
        brush_ms.append(float(canvas.get_attribute("data-brush-ms")))
        assert int(rows.get_attribute("data-rows")) == int(canvas.get_attribute("data-inside"))
        page.screenshot(path=str(artifacts / "compare-1000-runs.png"))
        # scrolling the table keeps a few dozen rows in the DOM
        view.locator(".jp-trio-runtable-scroller").evaluate("el => el.scrollTop = el.scrollHeight")
        page.wait_for_timeout(200)
        assert view.locator(".jp-trio-runtable-row").count() < 80
        timings = {"render_ms": render_ms, "seen_ms": seen_ms, "brush_ms": brush_ms, "draw_ms": draw_ms}
        (artifacts / "compare-timings.json").write_text(json.dumps(timings, indent=1))
        print(f"1,000 runs: render {render_ms} ms (seen after {seen_ms:.0f} ms), brushes {brush_ms} ms")


def test_a_sweeps_trials_compared_from_its_view(tmp_path, artifacts, browser, this_build):
    pytest.importorskip("optuna")
    root = tmp_path / "root"
    root.mkdir()
    (root / "sweep.py").write_text(
        "import jupyter_trio as trio\ncfg = trio.read()\ntrio.track('loss', (cfg['x'] - 0.3) ** 2, step=0)\n"
    )
    sweep = {
        "name": "quad",
        "script_path": "sweep.py",
        "space": {"x": "uniform(0, 1)"},
        "objective": {"metric": "loss"},
        "n_trials": 4,
        "parallel": 2,
    }
    with ServerProcess(root, "--TrioApp.gpus=none") as server, server.client() as http:
        assert http.post("/trio/api/sweeps", json=sweep).status_code == 201
        wait_for(lambda: http.get("/trio/api/sweeps/quad").json()["state"] == "completed", 120)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        open_sidebar(page, f"{server.url}/lab?token={server.token}")
        row = '#trio-sidebar [data-group="sweeps"] [data-sweep="quad"]'
        page.locator(f"{row} button:has-text('Open')").click()
        page.locator('.jp-trio-sweepview[data-sweep="quad"] .jp-trio-sweep-compare').click()
        page.wait_for_selector(".jp-trio-compare[data-where='sweep = \"quad\"']", timeout=30_000)
        page.wait_for_selector('.jp-trio-compare .jp-trio-runtable[data-rows="4"]', timeout=30_000)
        view = page.locator(".jp-trio-compare")
        assert sorted(shown_tasks(view)) == [f"quad-{i:04d}" for i in range(4)]
        assert "x" in header_columns(view)  # the searched parameter differs
        layout = json.loads(view.locator("canvas.jp-trio-compare-parallel").get_attribute("data-layout"))
        assert [key for key, _ in layout["axes"]][0] == "x"
        page.screenshot(path=str(artifacts / "compare-sweep.png"))
