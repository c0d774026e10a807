"""Notebook jobs and schedules in JupyterLab, in a real browser (issue 32): Debian's chromium (Playwright,
``executable_path``) on a real server with the extension as this checkout built it.

A right-click on a notebook in the file browser offers "Run as job…"; its dialog lists the notebook's
parameters at their defaults, keeps a refusal of the server inside it (and stays open), and runs the job
with the values typed. The job shows in the sidebar with the cell it runs, live; its details list the
outputs, and "Open executed notebook" opens the executed copy in JupyterLab, with the injected value in its
output. The notebook toolbar's button schedules it by cron; the Schedules section shows the next fire and
pauses, resumes and deletes it. Screenshots go to ``$TRIO_TEST_ARTIFACTS/browser``."""

from __future__ import annotations

import nbformat
import pytest
from test_sidebar_browser import open_sidebar, show_panel
from test_sweeps_browser import this_build  # noqa: F401 (a fixture)

from jupyter_trio.testing import ServerProcess, wait_for

pytestmark = pytest.mark.slow

NAME = "report-job"
DIALOG = ".jp-trio-runjob-dialog"
ROW = f'#trio-sidebar [data-task="{NAME}"]'


def write_notebook(path) -> int:
    """A notebook with a ``parameters`` cell and a few slow cells; returns its code cells (papermill adds
    one, the injected parameters)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("steps = 3\nlabel = 'default-label'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A report"),
        params,
        nbformat.v4.new_code_cell("import time"),
        *[nbformat.v4.new_code_cell(f"time.sleep(1.5)  # step {i}") for i in range(4)],
        nbformat.v4.new_code_cell("print(f'label={label} steps={steps}')"),
    ]
    nbformat.write(nb, path)
    return sum(1 for c in nb.cells if c.cell_type == "code") + 1


def open_run_as_job(page) -> None:
    """Right-click the notebook in the file browser, then "Run as job…"."""
    show_panel(page, "filebrowser")
    item = page.locator('.jp-DirListing-item[data-file-type="notebook"]:has-text("report.ipynb")')
    item.wait_for(timeout=30_000)
    item.click(button="right")
    page.locator(".lm-Menu-item:has-text('Run as job…')").click()
    page.locator(DIALOG).wait_for(timeout=30_000)


def test_run_a_notebook_as_a_job_and_schedule_it(tmp_path, artifacts, browser, this_build):  # noqa: F811
    root = tmp_path / "root"
    root.mkdir()
    cells = write_notebook(root / "report.ipynb")
    server = ServerProcess(root, "--TrioApp.gpus=none", base_url="/user/alice/")
    with server, server.client() as http:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # a workspace of its own, reset: neither another test's open documents nor these left for the next
        open_sidebar(page, f"{server.url}/lab/workspaces/trio-notebook-jobs?reset&token={server.token}")

        # the dialog: one row per parameter, at its default
        open_run_as_job(page)
        dialog = page.locator(DIALOG)
        steps = dialog.locator('[data-param="steps"] input')
        steps.wait_for(timeout=30_000)
        assert steps.input_value() == "3"
        assert dialog.locator('[data-param="label"] input').input_value() == "'default-label'"
        assert dialog.locator(".jp-trio-runjob-kernel").input_value() == "python3"

        # a refusal of the server (no GPU here) stays in the dialog, which stays open
        dialog.locator(".jp-trio-runjob-gpus").fill("1")
        dialog.locator(".jp-trio-runjob-name").fill(NAME)
        dialog.locator(".jp-mod-accept").click()
        error = dialog.locator(".jp-trio-runjob-error")
        error.wait_for(timeout=30_000)
        assert "gpus" in error.inner_text()
        assert dialog.is_visible()
        page.screenshot(path=str(artifacts / "notebook-job-dialog-error.png"))

        # the values typed, as Python literals
        dialog.locator(".jp-trio-runjob-gpus").fill("0")
        dialog.locator('[data-param="label"] input').fill("'from-the-dialog'")
        dialog.locator(".jp-mod-accept").click()
        page.locator(DIALOG).wait_for(state="detached", timeout=30_000)
        task = http.get(f"/trio/api/tasks/{NAME}").json()
        assert task["kind"] == "notebook_job"
        assert task["config"] == {"label": "from-the-dialog"}  # steps unchanged: the notebook's default

        # the sidebar follows the cells as they run
        show_panel(page, "trio-sidebar")
        progress = f'{ROW}[data-status="running"] .jp-trio-progress[data-cells="{cells}"]'
        page.wait_for_selector(progress, timeout=60_000)
        seen = set()

        def ended() -> bool:
            node = page.locator(progress)
            if node.count():
                seen.add(node.get_attribute("data-cell"))
            return page.locator(f'{ROW}[data-status="completed"]').count() == 1

        page.screenshot(path=str(artifacts / "notebook-job-running.png"))
        assert "cell " in page.locator(f"{ROW} .jp-trio-progress-text").inner_text()
        wait_for(ended, 120, every=0.1)
        assert len(seen - {None}) > 1, seen  # the cell moved live

        # its details: the outputs, and the executed notebook opened in JupyterLab
        page.locator(f"{ROW} button:has-text('Details')").click()
        outputs = page.locator(f'.jp-trio-details[data-task="{NAME}"] .jp-trio-outputs')
        executed = outputs.locator('li[data-kind="notebook"]')
        executed.wait_for(timeout=30_000)
        path = executed.get_attribute("data-path")
        assert http.get(f"/trio/api/files/{path}").status_code == 200
        assert "/trio/api/files/" in executed.locator("a").get_attribute("href")
        page.screenshot(path=str(artifacts / "notebook-job-details.png"))
        outputs.locator(".jp-trio-open-executed").click()
        panel = page.locator(".jp-NotebookPanel:has(.jp-OutputArea-output:has-text('label=from-the-dialog'))")
        panel.wait_for(timeout=60_000)
        assert "steps=3" in panel.inner_text()
        page.screenshot(path=str(artifacts / "notebook-job-executed.png"))

        # the notebook's toolbar button: the same dialog, on a schedule this time
        show_panel(page, "filebrowser")
        page.locator('.jp-DirListing-item[data-file-type="notebook"]:has-text("report.ipynb")').dblclick()
        button = page.locator('.jp-NotebookPanel-toolbar:visible [data-jp-item-name="trio-run-as-job"]')
        button.wait_for(timeout=30_000)
        button.locator("button").click()
        dialog = page.locator(DIALOG)
        dialog.locator('[data-param="steps"] input').wait_for(timeout=30_000)
        dialog.locator(".jp-trio-runjob-name").fill("nightly-report")
        dialog.locator('input[value="schedule"]').check()
        dialog.locator(".jp-trio-runjob-cron").fill("0 3 * * *")
        dialog.locator(".jp-trio-runjob-timezone").fill("Asia/Shanghai")
        dialog.locator(".jp-trio-runjob-preview[data-count='5']").wait_for(timeout=30_000)
        assert dialog.locator(".jp-mod-accept").inner_text().strip() == "Schedule"
        dialog.locator(".jp-mod-accept").click()
        page.locator(DIALOG).wait_for(state="detached", timeout=30_000)
        [created] = http.get("/trio/api/schedules").json()["schedules"]
        assert (created["task"], created["cron"], created["timezone"]) == (
            "nightly-report",
            "0 3 * * *",
            "Asia/Shanghai",
        )
        assert http.get("/trio/api/tasks/nightly-report").json()["run_index"] == 0  # made, not run

        # the Schedules section: next fire, pause, resume, delete, live
        show_panel(page, "trio-sidebar")
        row = f'#trio-sidebar [data-group="schedules"] [data-schedule="{created["id"]}"]'
        page.wait_for_selector(f'{row}[data-paused="false"]', timeout=30_000)
        assert "next:" in page.locator(f"{row} .jp-trio-schedule-next").inner_text()
        assert "in " in page.locator(f"{row} .jp-trio-schedule-next").inner_text()
        page.locator("#trio-sidebar").screenshot(path=str(artifacts / "notebook-job-schedules.png"))
        page.locator(f"{row} button:has-text('Pause')").click()
        page.wait_for_selector(f'{row}[data-paused="true"]', timeout=30_000)
        assert http.get(f"/trio/api/schedules/{created['id']}").json()["paused"] is True
        page.locator(f"{row} button:has-text('Resume')").click()
        page.wait_for_selector(f'{row}[data-paused="false"]', timeout=30_000)
        # a change made elsewhere arrives through the events channel
        assert http.post(f"/trio/api/schedules/{created['id']}/pause", json={}).status_code == 200
        page.wait_for_selector(f'{row}[data-paused="true"]', timeout=30_000)
        page.locator(f"{row} button:has-text('Delete')").click()
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.wait_for_selector(row, state="detached", timeout=30_000)
        assert http.get("/trio/api/schedules").json()["schedules"] == []

        # both commands are in the palette
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".jp-ModalCommandPalette input, .lm-CommandPalette-input").first
        palette.wait_for(timeout=10_000)
        palette.fill("executed notebook")
        page.wait_for_selector(".lm-CommandPalette-item:has-text('Open executed notebook')", timeout=10_000)
        palette.fill("Run as job")
        page.wait_for_selector(".lm-CommandPalette-item:has-text('Run as job…')", timeout=10_000)
        page.keyboard.press("Escape")
