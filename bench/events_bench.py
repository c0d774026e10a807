"""Server push and the sidebar: state change → websocket client, and the sidebar's views in chromium.

    .venv/bin/python bench/events_bench.py            # jupyter-trio only
    .venv/bin/python bench/events_bench.py --peer     # and pyruns 0.3.17's task-event websocket, side by side
    .venv/bin/python bench/events_bench.py --no-browser

Push latency: 10,000 tasks in the store, 10 websocket listeners; a task is pinned over REST and each
listener times how long until it *knows the new state*. jupyter-trio's event carries the task itself; pyruns
pushes an invalidation (``{"type": "changed"}``) after which its UI refetches the task list, so its figure
includes that refetch — the same harness measures both, in this run. jupyter-scheduler's jobs view has no
push at all (a reload button and a 5 s timer): a change waits 2.5 s on average for the timer, plus the
request; it is given as that model, not measured.

Browser (Debian chromium via Playwright): the sidebar's first render with 10,000 tasks, the log viewer with
100,000 lines, and the metrics chart over a series of 1,000,000 points.
Goals (issue 17): push p95 <= 50 ms; sidebar <= 1 s; chart first render <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).parent))

from runner_bench import summary

from jupyter_trio.testing import ServerProcess, chromium

TASKS = 10_000
LISTENERS = 10
CHANGES = 40

WAIT_SCRIPT = "import time\ntime.sleep(float(__import__('jupyter_trio').load().get('sleep', 0)))\n"
LOG_SCRIPT = "for i in range(100_000):\n    print(f'line {i} of the flood', flush=False)\n"
TRACK_SCRIPT = (
    "import math, jupyter_trio as trio\n"
    "for i in range(1_000_000):\n"
    "    trio.track(loss=math.exp(-i / 2e5) + 0.01 * math.sin(i / 50), step=i)\n"
    "trio.flush()\n"
)


def fmt(s: dict) -> str:
    return f"p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms (n={s['n']})"


async def _listen_trio(server: ServerProcess, names: list[str], ready: threading.Event, out: list[float]):
    url = server.url.replace("http", "ws") + "/trio/api/events"
    headers = {"Authorization": f"token {server.token}"}
    conns = [await websocket_connect(HTTPRequest(url, headers=headers)) for _ in range(LISTENERS)]
    for c in conns:
        json.loads(await c.read_message())  # hello
    ready.set()

    async def one(conn):
        for name, pinned in names:
            while True:
                msg = json.loads(await conn.read_message())
                task = msg.get("task") or {}
                if msg.get("type") == "task" and task.get("name") == name and task.get("pinned") == pinned:
                    out.append((name, time.time(), msg["time"]))
                    break

    await asyncio.gather(*(one(c) for c in conns))
    for c in conns:
        c.close()


def trio_push(root: Path) -> dict:
    (root / "wait.py").write_text(WAIT_SCRIPT)
    (root / "config.yaml").write_text("sleep: 0\n")
    with ServerProcess(root, "--TrioApp.gpus=none") as server, server.client() as http:
        http.post("/trio/api/workspace/run-root", json={"script_path": "wait.py"})
        created = http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "bulk", "template_value": {"i": f"0:{TASKS}"}},
            timeout=600,
        ).json()
        names = [item["name"] for item in created["items"][:CHANGES]]
        plan = [(name, True) for name in names]
        ready, got, sent = threading.Event(), [], {}
        listener = threading.Thread(
            target=lambda: asyncio.run(_listen_trio(server, plan, ready, got)), daemon=True
        )
        listener.start()
        ready.wait(60)
        for name, pinned in plan:
            sent[name] = time.time()
            http.post(f"/trio/api/tasks/{name}/pin", json={"pinned": pinned})
            time.sleep(0.05)
        listener.join(120)
        # each change at each listener: from the REST request, and from the publish in the server
        from_request = [(recv - sent[name]) * 1000 for name, recv, _ in got]
        from_publish = [(recv - published) * 1000 for _, recv, published in got]
        return {"request": summary(from_request), "publish": summary(from_publish)}


def pyruns_push(root: Path) -> dict:
    from peer_pyruns import PyrunsServer

    server = PyrunsServer(root, "wait.py", "import pyruns\npyruns.read()\ncfg = pyruns.load()\n", "i: 0\n")
    try:
        server.open_script_workspace()
        items = server.create(
            name_prefix="bulk", mode="form", yaml_text=f"i: {' | '.join(map(str, range(TASKS)))}"
        )
        names = [item["name"] for item in items[:CHANGES]]
        ready, got, sent = threading.Event(), [], {}

        async def listen():
            url = f"ws://127.0.0.1:{server.port}/api/tasks/events"
            req = HTTPRequest(
                url, headers={"Cookie": server.cookie, "Origin": f"http://127.0.0.1:{server.port}"}
            )
            conns = [await websocket_connect(req) for _ in range(LISTENERS)]
            for c in conns:
                json.loads(await c.read_message())  # ready
            ready.set()
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}", cookies=server.http.cookies, timeout=60
            ) as client:

                async def one(conn):
                    for name in names:
                        while True:  # an invalidation: refetch the list, as its UI does
                            raw = await conn.read_message()
                            if raw is None:
                                return  # the peer closed this listener: its remaining changes are not counted
                            msg = json.loads(raw)
                            if msg.get("type") != "changed":
                                continue
                            page = (
                                await client.get(
                                    "/api/tasks", params={"query": name, "search_field": "name", "limit": 50}
                                )
                            ).json()
                            if any(
                                t["name"] == name and t.get("pinned")
                                for t in page.get("tasks", page.get("items", []))
                            ):
                                got.append((name, time.time()))
                                break

                await asyncio.gather(*(one(c) for c in conns))
            for c in conns:
                c.close()

        listener = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
        listener.start()
        ready.wait(60)
        for name in names:
            sent[name] = time.time()
            server.http.post(f"/api/tasks/{name}/pin", json={"pinned": True})
            time.sleep(0.05)
        listener.join(300)
        return {"request": summary([(recv - sent[name]) * 1000 for name, recv in got])}
    finally:
        server.close()


def browser_figures(root: Path) -> dict:
    from playwright.sync_api import sync_playwright

    (root / "wait.py").write_text(WAIT_SCRIPT)
    (root / "flood.py").write_text(LOG_SCRIPT)
    (root / "track.py").write_text(TRACK_SCRIPT)
    (root / "config.yaml").write_text("sleep: 0\n")
    executable = chromium()
    out = {}
    with (
        ServerProcess(root, "--TrioApp.gpus=none", "--TrioApp.max_cpu_jobs=1") as server,
        server.client() as http,
    ):
        http.post("/trio/api/workspace/run-root", json={"script_path": "wait.py"})
        http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "bulk", "template_value": {"i": f"0:{TASKS - 1000}"}},
            timeout=600,
        )
        # 1,000 queued behind one that sleeps: the sidebar lists every queued task
        http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "q", "template_value": {"sleep": 600, "i": "0:1000"}, "run": True},
            timeout=600,
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/lab?token={server.token}")
            page.wait_for_selector(".jp-LabShell", timeout=120_000)
            shell = time.perf_counter()
            tab = page.locator('.jp-SideBar [data-id="trio-sidebar"]')
            if "lm-mod-current" not in (tab.get_attribute("class") or ""):
                tab.click()
            queued_rows = "#trio-sidebar [data-group='queued'] li.jp-trio-task"
            page.wait_for_function(
                f'document.querySelectorAll("{queued_rows}").length >= 200', timeout=60_000
            )
            out["sidebar first render, 10,000 tasks (1,000 queued)"] = (time.perf_counter() - shell) * 1000
            for name in [
                t["name"]
                for t in http.get("/trio/api/tasks", params={"status": "queued", "limit": 1000}).json()[
                    "items"
                ]
            ]:
                http.post(f"/trio/api/tasks/{name}/cancel")
            running = http.get("/trio/api/tasks", params={"status": "running"}).json()["items"]
            for t in running:
                http.post(f"/trio/api/tasks/{t['name']}/cancel")

            for script, prefix in (("flood.py", "flood"), ("track.py", "track")):
                http.post("/trio/api/workspace/run-root", json={"script_path": script})
                name = http.post(
                    "/trio/api/generator/create", json={"name_prefix": prefix, "run": True}
                ).json()["items"][0]["name"]
                deadline = time.time() + 600
                while http.get(f"/trio/api/tasks/{name}").json()["status"] != "completed":
                    assert time.time() < deadline
                    time.sleep(0.5)
                if prefix == "flood":
                    started = time.perf_counter()
                    page.locator("#trio-sidebar .jp-trio-filter").fill(name)
                    page.locator(f'#trio-sidebar [data-task="{name}"] button:has-text("Log")').click()
                    page.wait_for_function(
                        "Number(document.querySelector('.jp-trio-log')?.dataset.lines) >= 100000",
                        timeout=120_000,
                    )
                    out["log viewer: 100,000 lines loaded and drawn"] = (time.perf_counter() - started) * 1000
                    out["log viewer: scroll to the middle, next frame"] = page.evaluate(
                        """() => new Promise(resolve => {
                            const s = document.querySelector('.jp-trio-log-scroller');
                            const t0 = performance.now();
                            s.scrollTop = s.scrollHeight / 2;
                            const done = () => resolve(performance.now() - t0);
                            requestAnimationFrame(() => requestAnimationFrame(done));
                        })"""
                    )
                    out["log viewer: rows in the DOM"] = page.evaluate(
                        "document.querySelectorAll('.jp-trio-log-line').length"
                    )
                else:
                    started = time.perf_counter()
                    page.locator("#trio-sidebar .jp-trio-filter").fill(name)
                    page.locator(f'#trio-sidebar [data-task="{name}"] button:has-text("Metrics")').click()
                    page.wait_for_selector('.jp-trio-chart[data-key="loss"] canvas', timeout=120_000)
                    out["metrics chart: first render over 1,000,000 points"] = (
                        time.perf_counter() - started
                    ) * 1000
                    out["metrics chart: points drawn (downsampled by the server)"] = int(
                        page.locator('.jp-trio-chart[data-key="loss"]').get_attribute("data-points")
                    )
            browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", action="store_true", help="also measure pyruns 0.3.17 (installs it once)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "trio"
        root.mkdir()
        trio = trio_push(root)
        rows.append(("jupyter-trio, REST change → listener has the new state", fmt(trio["request"])))
        rows.append(("jupyter-trio, runner publish → listener", fmt(trio["publish"])))
        if args.peer:
            peer_root = Path(tmp) / "pyruns"
            peer_root.mkdir()
            peer = pyruns_push(peer_root)
            rows.append(("pyruns 0.3.17, change → invalidation + list refetch", fmt(peer["request"])))
            rows.append(
                (
                    "ratio pyruns / jupyter-trio (p50)",
                    f"{peer['request']['p50'] / trio['request']['p50']:.1f}x",
                )
            )
        rows.append(("jupyter-scheduler jobs view (5 s timer, modelled)", "mean 2500 ms + the request"))
        if not args.no_browser:
            broot = Path(tmp) / "browser"
            broot.mkdir()
            for key, value in browser_figures(broot).items():
                rows.append((key, f"{value:.0f} ms" if isinstance(value, float) else str(value)))
    width = max(len(k) for k, _ in rows)
    print(f"push: {TASKS:,} tasks in the store, {LISTENERS} listeners, {CHANGES} changes")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
