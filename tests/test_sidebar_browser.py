"""The JupyterLab sidebar in a real browser: Debian's chromium (Playwright, ``executable_path``) on a real
``jupyter lab`` under a base_url other than ``/``, with the prebuilt extension of this install.

A task started over REST shows up running with a moving progress bar, its log viewer receives new lines,
Stop turns it cancelled — and a second tab sees the same changes through the events channel. A run that
ends is a JupyterLab notification whose action shows the task, the details show a run's provenance, and
``/lab?trio-task=<name>`` opens on that task (issue 34). Screenshots go to ``$TRIO_TEST_ARTIFACTS/browser``
(default ``test-artifacts/browser``)."""

from __future__ import annotations

import json
import platform
import re
import socket
import subprocess

import pytest

from jupyter_trio.testing import ServerProcess, wait_for

pytestmark = pytest.mark.slow

SCRIPT = """
import time
import jupyter_trio as trio
cfg = trio.load()
trio.record(stage="training", num_epochs=cfg.epochs, steps_per_epoch=cfg.steps, flush=True)
total = cfg.epochs * cfg.steps
for step in range(1, total + 1):
    print(f"step {step} loss {1.0 / step:.4f}", flush=True)
    trio.track(loss=1.0 / step, eta_s=(total - step) * 0.25, step=step)
    if step % cfg.steps == 0:
        trio.record(epoch=step // cfg.steps)
    trio.flush()
    time.sleep(0.25)
"""


def show_panel(page, panel_id: str) -> None:
    """Bring a left-area panel forward. A click on the current tab would collapse it, and JupyterLab may
    still be restoring its layout, so look again after each click."""
    tab = page.locator(f'.jp-SideBar [data-id="{panel_id}"]')
    tab.wait_for(timeout=90_000)
    panel = page.locator(f"#{panel_id}")
    for _ in range(10):
        if panel.is_visible():
            return
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        try:
            panel.wait_for(state="visible", timeout=2_000)
            return
        except Exception:
            continue
    raise AssertionError(f"panel {panel_id} did not show")


def open_sidebar(page, url: str) -> None:
    page.goto(url)
    show_panel(page, "trio-sidebar")
    page.wait_for_selector("#trio-sidebar .jp-trio-header", timeout=30_000)


def test_sidebar_follows_a_task_live_in_two_tabs(tmp_path, artifacts, browser):
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text(SCRIPT)
    (root / "config.yaml").write_text("epochs: 4\nsteps: 40\n")
    server = ServerProcess(root, "--TrioApp.gpus=none", base_url="/user/alice/")
    with server, server.client() as http:
        lab = f"{server.url}/lab?token={server.token}"
        first = browser.new_page(viewport={"width": 1400, "height": 1000})
        second = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_sidebar(first, lab)
        open_sidebar(second, lab)
        # launcher and palette entries of the extension
        first.wait_for_selector(".jp-LauncherCard:has-text('New training task')", timeout=30_000)
        assert first.locator(".jp-LauncherCard:has-text('New batch from script')").count() == 1

        assert http.post("/trio/api/workspace/run-root", json={"script_path": "train.py"}).status_code == 200
        created = http.post("/trio/api/generator/create", json={"name_prefix": "live", "run": True})
        assert created.status_code == 201, created.text
        name = created.json()["items"][0]["name"]
        row = f'#trio-sidebar [data-group="running"] [data-task="{name}"]'
        for page in (first, second):
            page.wait_for_selector(f'{row}[data-status="running"]', timeout=30_000)
        fill = f"{row} .jp-trio-progress-fill"
        first.wait_for_selector(fill, timeout=30_000)
        start = float(first.locator(fill).get_attribute("data-progress"))
        wait_for(lambda: float(first.locator(fill).get_attribute("data-progress")) > start + 0.02, 30)
        assert "ETA" in first.locator(f"{row} .jp-trio-progress-text").inner_text()
        assert second.locator(fill).count() == 1  # the second tab gets the progress too
        badge = first.locator("#trio-sidebar .jp-trio-badge")
        assert badge.inner_text() == "1"
        first.screenshot(path=str(artifacts / "sidebar-running.png"))

        # the log viewer: new lines keep arriving
        first.locator(f"{row} button:has-text('Log')").click()
        viewer = first.locator(".jp-trio-log")
        viewer.wait_for(timeout=30_000)
        wait_for(lambda: int(viewer.get_attribute("data-lines") or 0) > 3, 30)
        seen = int(viewer.get_attribute("data-lines"))
        wait_for(lambda: int(viewer.get_attribute("data-lines")) > seen + 4, 30)
        assert first.locator(".jp-trio-log-line:has-text('loss')").count() > 0
        # opening it again reuses the view
        first.locator(f"{row} button:has-text('Log')").click()
        assert first.locator(".jp-trio-log").count() == 1
        first.screenshot(path=str(artifacts / "sidebar-log.png"))

        # the metrics chart: every tracked series, drawn from the server's downsampled points
        first.locator(f"{row} button:has-text('Metrics')").click()
        chart = first.locator('.jp-trio-chart[data-key="loss"]')
        chart.locator("canvas").wait_for(timeout=30_000)
        points = int(chart.get_attribute("data-points"))
        assert points > 0
        wait_for(lambda: int(chart.get_attribute("data-points")) > points, 30)  # redrawn as points arrive
        assert first.locator('.jp-trio-chart[data-key="eta_s"]').count() == 1
        first.screenshot(path=str(artifacts / "sidebar-metrics.png"))

        # the Running panel lists the job
        show_panel(first, "jp-running-sessions")
        first.wait_for_selector(f".jp-RunningSessions-item:has-text('{name}')", timeout=30_000)
        show_panel(first, "trio-sidebar")

        # stop it: confirm, then both tabs see it cancelled
        first.locator(f"{row} button:has-text('Stop')").click()
        first.locator(".jp-Dialog .jp-mod-accept").click()
        done = f'#trio-sidebar [data-group="finished"] [data-task="{name}"][data-status="cancelled"]'
        for page in (first, second):
            page.wait_for_selector(done, timeout=30_000)
        assert first.locator("#trio-sidebar .jp-trio-badge").inner_text() == "0"
        assert http.get(f"/trio/api/tasks/{name}").json()["status"] == "cancelled"
        first.wait_for_selector(
            ".jp-trio-log-status[data-status='cancelled']", state="attached", timeout=30_000
        )
        first.screenshot(path=str(artifacts / "sidebar-cancelled.png"))
        second.screenshot(path=str(artifacts / "sidebar-second-tab.png"))


def test_details_edit_params_and_a_refusal_becomes_a_notification(tmp_path, artifacts, browser):
    root = tmp_path / "root"
    root.mkdir()
    with (
        ServerProcess(root, "--TrioApp.gpus=none", "--TrioApp.demo_images=16") as server,
        server.client() as http,
    ):
        http.post("/trio/api/demos/classification/download")
        wait_for(lambda: http.get("/trio/api/demos/classification").json()["status"] == "ready", 120)
        loaded = http.post("/trio/api/demos/classification/load").json()
        task = http.post(f"/trio/api/projects/{loaded['project_id']}/tasks", json={}).json()
        name = task["name"]
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_sidebar(page, f"{server.url}/lab?token={server.token}")
        row = f'#trio-sidebar [data-group="pending"] [data-task="{name}"]'
        page.wait_for_selector(row, timeout=30_000)
        page.wait_for_selector('#trio-sidebar [data-group="datasets"] [data-status="split"]')
        page.locator(f"{row} button:has-text('Details')").click()
        details = f'.jp-trio-details[data-task="{name}"]'
        params = page.locator(f"{details} textarea.jp-trio-params")
        params.wait_for(timeout=30_000)
        values = json.loads(params.input_value())
        # a value the server refuses: its reason comes back as a JupyterLab notification
        params.fill(json.dumps({**values, "num_epochs": -3}))
        page.locator(f"{details} button:has-text('Save params')").click()
        toast = page.wait_for_selector(".Toastify__toast:has-text('Saving params')", timeout=20_000)
        assert "num_epochs" in toast.inner_text()
        assert http.get(f"/trio/api/tasks/{name}/params").json()["train"] == values
        page.screenshot(path=str(artifacts / "sidebar-notification.png"))
        # a good value is saved
        params.fill(json.dumps({**values, "num_epochs": 7}))
        page.locator(f"{details} button:has-text('Save params')").click()
        wait_for(lambda: http.get(f"/trio/api/tasks/{name}/params").json()["train"]["num_epochs"] == 7, 20)
        page.locator(f"{details} textarea.jp-trio-notes").fill("from the browser")
        page.locator(f"{details} button:has-text('Save notes')").click()
        wait_for(lambda: http.get(f"/trio/api/tasks/{name}").json()["notes"] == "from the browser", 20)
        page.screenshot(path=str(artifacts / "sidebar-details.png"))

        page.locator(f"{row} button:has-text('Delete')").click()
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.wait_for_selector(f'#trio-sidebar [data-task="{name}"]', state="detached", timeout=20_000)
        assert http.get(f"/trio/api/tasks/{name}").status_code == 404


ENDING_SCRIPT = """
import sys, time
import jupyter_trio as trio
cfg = trio.load()
time.sleep(4)
print("failing on purpose" if cfg.fail else "done", flush=True)
sys.exit(3 if cfg.fail else 0)
"""


def git(root, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def test_a_run_that_ends_is_a_notification_and_the_details_show_its_provenance(tmp_path, artifacts, browser):
    """Issue 34: the runs this user started end in JupyterLab notifications (a failure as an error) whose
    action shows the task; the details show the run's code (commit, dirty, diff), Python, host and packages;
    a run-end e-mail's link, ``/lab?trio-task=<name>``, opens JupyterLab on that task."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text(ENDING_SCRIPT)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    commit = git(root, "rev-parse", "HEAD")
    (root / "train.py").write_text(ENDING_SCRIPT + "# changed after the commit\n")  # dirty
    (root / "config.yaml").write_text("fail: 0 | 1\n")  # untracked; a batch of two tasks
    with ServerProcess(root, "--TrioApp.gpus=none") as server, server.client() as http:
        lab = f"{server.url}/lab?token={server.token}"
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_sidebar(page, lab)
        assert http.post("/trio/api/workspace/run-root", json={"script_path": "train.py"}).status_code == 200
        created = http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "ends", "run": True},
        )
        assert created.status_code == 201, created.text
        names = [item["name"] for item in created.json()["items"]]
        assert len(names) == 2
        for name in names:
            page.wait_for_selector(f'#trio-sidebar [data-task="{name}"]', timeout=30_000)
        wait_for(
            lambda: all(
                http.get(f"/trio/api/tasks/{n}").json()["status"] in ("completed", "failed") for n in names
            ),
            60,
        )
        by_status = {http.get(f"/trio/api/tasks/{n}").json()["status"]: n for n in names}
        ok, bad = by_status["completed"], by_status["failed"]

        done = page.wait_for_selector(f".Toastify__toast:has-text('{ok} run 1 completed')", timeout=30_000)
        failed = page.wait_for_selector(f".Toastify__toast:has-text('{bad} run 1 failed')", timeout=30_000)
        assert "error" in (failed.get_attribute("class") or "")
        page.screenshot(path=str(artifacts / "sidebar-run-notifications.png"))

        # the notification's action: the sidebar on the task, its details open
        done.query_selector("button:has-text('Show task')").click()
        details = f'.jp-trio-details[data-task="{ok}"]'
        provenance = page.locator(f'{details} .jp-trio-provenance[data-run="1"]')
        provenance.wait_for(timeout=30_000)
        assert platform.python_version() in provenance.locator('[data-field="python"]').inner_text()
        assert socket.gethostname() in provenance.locator('[data-field="host"]').inner_text()
        code = provenance.locator('[data-field="git"]').inner_text()
        assert commit[:7] in code and "main" in code and "dirty" in code
        provenance.locator(".jp-trio-diff summary").click()
        assert "changed after the commit" in provenance.locator(".jp-trio-diff pre").inner_text()
        provenance.locator(".jp-trio-packages summary").click()
        provenance.locator(".jp-trio-package-filter").fill("jupyter-trio")
        listed = provenance.locator("[data-package]")
        assert listed.count() >= 1
        assert all(
            "trio" in n.lower() for n in listed.evaluate_all("rows => rows.map(r => r.dataset.package)")
        )
        assert page.locator("#trio-sidebar").is_visible()
        page.screenshot(path=str(artifacts / "sidebar-provenance.png"))

        # the run's system series (sampled by its supervisor) are a group of their own in the metrics
        page.locator(f"#trio-sidebar [data-task='{ok}'] button:has-text('Metrics')").click()
        page.locator(".jp-trio-system-charts .jp-trio-chart[data-key='sys/cpu'] canvas").wait_for(
            timeout=30_000
        )
        page.screenshot(path=str(artifacts / "sidebar-metrics-system.png"))

        # the link a run-end e-mail carries
        linked = browser.new_page(viewport={"width": 1400, "height": 1000})
        linked.goto(f"{lab}&trio-task={bad}")
        linked.wait_for_selector(f'.jp-trio-details[data-task="{bad}"] .jp-trio-provenance', timeout=60_000)
        assert linked.locator("#trio-sidebar").is_visible()
        assert "trio-task" not in linked.url
        linked.screenshot(path=str(artifacts / "sidebar-task-link.png"))
        linked.close()
        page.close()


LOCALE_SETTING = "/lab/api/settings/@jupyterlab/translation-extension:plugin"
# what may stay in Latin letters in the Chinese sidebar: names (the product, tasks, GPUs), units
LATIN_ALLOWED = {"jupyter-trio", "GPU", "GPUs", "CPU", "ETA", "MiB", "GiB", "KiB"}


def sidebar_text(page) -> str:
    page.wait_for_selector("#trio-sidebar .jp-trio-header", timeout=30_000)
    return page.locator("#trio-sidebar").inner_text()


def test_the_sidebar_speaks_chinese_when_jupyterlab_does_and_english_again_after(
    tmp_path, artifacts, browser
):
    """Issue 36: with JupyterLab's language pack for zh_CN and its locale set to zh_CN, every word the
    sidebar shows is Chinese (the test walks its visible text; names stay as they are); back to English,
    the English returns."""
    root = tmp_path / "root"
    root.mkdir()
    with ServerProcess(root, "--TrioApp.gpus=none") as server, server.client() as http:
        assert http.post("/trio/api/workspace/shell").status_code == 200
        created = http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "job", "mode": "shell", "shell_text": "sleep 120", "run": True},
        )
        assert created.status_code == 201, created.text
        name = created.json()["items"][0]["name"]
        wait_for(lambda: http.get(f"/trio/api/tasks/{name}").json()["status"] == "running", 30)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            reply = http.put(LOCALE_SETTING, json={"raw": json.dumps({"locale": "zh_CN"})})
            assert reply.status_code in (200, 204), reply.text
            open_sidebar(page, f"{server.url}/lab?token={server.token}")
            row = f'#trio-sidebar [data-task="{name}"][data-status="running"]'
            page.wait_for_selector(row, timeout=30_000)
            text = sidebar_text(page)
            for heading in ("运行中", "排队", "数据集"):
                assert heading in text, text
            latin = {word for word in re.findall(r"[A-Za-z][A-Za-z-]*", text.replace(name, ""))}
            assert latin <= LATIN_ALLOWED, (
                f"untranslated in the Chinese sidebar: {sorted(latin - LATIN_ALLOWED)}"
            )
            page.locator("#trio-sidebar").screenshot(path=str(artifacts / "sidebar-zh_CN.png"))

            reply = http.put(LOCALE_SETTING, json={"raw": json.dumps({"locale": "en"})})
            assert reply.status_code in (200, 204), reply.text
            open_sidebar(page, f"{server.url}/lab?token={server.token}")
            page.wait_for_selector(row, timeout=30_000)
            text = sidebar_text(page)
            assert "RUNNING" in text.upper() and not re.search(r"[\u4e00-\u9fff]", text), text
            page.locator("#trio-sidebar").screenshot(path=str(artifacts / "sidebar-en.png"))
        finally:
            page.close()
            http.post(f"/trio/api/tasks/{name}/cancel", json={})
