"""Shared fixtures: a real Jupyter server (pytest-jupyter) with jupyter-trio enabled on a temp workspace."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def trio_workspace(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def browser():
    """Debian's chromium driven by Playwright (``executable_path``; no browser is downloaded)."""
    from jupyter_trio.testing import chromium

    executable = chromium()
    if executable is None:
        pytest.skip("no chromium on this machine (./dev installs Debian's)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


# Screenshots the documentation shows (docs/_static/screenshots): the browser tests that take them refresh
# them, so the docs show the sidebar as it is (commit them when they change)
DOC_SCREENSHOTS = (
    "sidebar-running.png",
    "sidebar-metrics.png",
    "sidebar-details.png",
    "sidebar-zh_CN.png",
    "1-tasks.png",
)
DOCS_STATIC = Path(__file__).resolve().parent.parent / "docs" / "_static" / "screenshots"


@pytest.fixture
def artifacts():
    """Where browser screenshots go: ``$TRIO_TEST_ARTIFACTS/browser`` (default ``test-artifacts/browser``);
    those the docs show are copied into ``docs/_static/screenshots`` when the test took them anew."""
    folder = Path(os.environ.get("TRIO_TEST_ARTIFACTS", "test-artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)

    def taken_at(name: str) -> int | None:
        return (folder / name).stat().st_mtime_ns if (folder / name).exists() else None

    before = {name: taken_at(name) for name in DOC_SCREENSHOTS}
    yield folder
    for name in DOC_SCREENSHOTS:
        taken = folder / name
        if taken_at(name) not in (None, before[name]):
            DOCS_STATIC.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(taken, DOCS_STATIC / name)


@pytest.fixture
def trio_config() -> dict:
    """Extra TrioApp settings; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def jp_server_config(trio_workspace: Path, trio_config: dict) -> dict:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_trio": True}},
        "TrioApp": {
            "workspace_dir": str(trio_workspace),
            "gpus": "none",
            "max_cpu_jobs": 2,
            "poll_interval": 0.05,
            "cancel_grace_period": 2.0,
            # gc.freeze() would act on the whole pytest process, server after server
            # (tests/test_app.py turns it on to check it)
            "freeze_startup_heap": False,
            **trio_config,
        },
    }


@pytest.fixture
def trio_app(jp_serverapp):
    """The running TrioApp of the test server."""
    return jp_serverapp.web_app.settings["trio_app"]


@pytest.fixture
def api(jp_fetch):
    """Call the native API with the test token; returns (status, parsed JSON or bytes)."""

    async def call(
        method: str,
        path: str,
        body=None,
        *,
        params=None,
        raw: bytes | None = None,
        headers: dict | None = None,
    ):
        kwargs = {"method": method, "raise_error": False, "headers": dict(headers or {})}
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        if method == "DELETE" and "body" in kwargs:
            kwargs["allow_nonstandard_methods"] = True
        resp = await jp_fetch(*path.strip("/").split("/"), params=params, **kwargs)
        ctype = resp.headers.get("Content-Type", "")
        if "json" in ctype and resp.body:
            return resp.code, json.loads(resp.body)
        return resp.code, resp.body

    return call


@pytest.fixture
def raw_fetch(jp_serverapp, http_server_client, jp_auth_header, jp_base_url):
    """Fetch a URL path exactly as written (no escaping, no '//' collapsing): for path-attack tests."""

    def fetch(path: str, **kwargs):
        headers = {**jp_auth_header, **kwargs.pop("headers", {})}
        return http_server_client.fetch(
            jp_base_url + path.lstrip("/"), headers=headers, raise_error=False, **kwargs
        )

    return fetch


@pytest.fixture
def wait_task(api):
    """Poll a task until its status is one of ``states``; returns the task detail."""

    async def wait(name: str, *states: str, timeout: float = 60.0) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status, task = await api("GET", f"trio/api/tasks/{name}")
            assert status == 200, task
            if task["status"] in states:
                return task
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"task {name} stayed {task['status']}, wanted {states}: {task}")
            await asyncio.sleep(0.05)

    return wait


@pytest.fixture
def running(api, wait_task, trio_app):
    """Start a running shell task: (task id, its run token); the server kills it at the end."""
    started = []

    async def start():
        await api("POST", "trio/api/workspace/shell")
        status, created = await api(
            "POST",
            "trio/api/generator/create",
            {"name_prefix": "sleeper", "mode": "shell", "shell_text": "sleep 60", "run": True},
        )
        assert status == 201, created
        task = await wait_task(created["items"][0]["name"], "running")
        started.append(task)
        return task["id"], trio_app.run_tokens.token(task["id"], 1)

    yield start
    for task in started:
        trio_app.runner.kill_now(trio_app.store.tasks.get(task["id"]))


@pytest.fixture
def client(jp_serverapp, http_server_client, jp_http_port, jp_base_url):
    """Make ServiceClients of the test server (what a kernel's panels use); closed at the end."""
    from jupyter_trio.client import ServiceClient

    made = []

    def make_client() -> ServiceClient:
        made.append(
            ServiceClient(
                f"http://localhost:{jp_http_port}{jp_base_url}", jp_serverapp.identity_provider.token
            )
        )
        return made[-1]

    yield make_client
    for c in made:
        c.close()


@pytest.fixture
def script_workspace(api, jp_root_dir):
    """A script + config under the server root, opened as the current script workspace."""

    async def open_ws(source: str, config: str = "lr: 0.1\n", name: str = "train.py") -> dict:
        (jp_root_dir / name).write_text(source)
        (jp_root_dir / "config.yaml").write_text(config)
        status, ws = await api("POST", "trio/api/workspace/run-root", {"script_path": name})
        assert status == 200, ws
        return ws

    return open_ws


@pytest.fixture
def px(raw_fetch):
    """Call the PaddleX dialect as PaddleX clients did: JSON bodies (on GET and DELETE too) or a query
    string; returns (HTTP status, parsed JSON)."""

    async def call(method: str, path: str, body=None, query: str = ""):
        kwargs = {"method": method}
        if body is not None:
            kwargs["body"] = json.dumps(body)
            kwargs["allow_nonstandard_methods"] = True
        resp = await raw_fetch(f"trio/paddlex/{path}{'?' + query if query else ''}", **kwargs)
        return resp.code, json.loads(resp.body)

    return call


async def wait_dataset(px, did: str, states=(2, 4, 5, 6), timeout: float = 60.0) -> dict:
    """Poll a dataset (PaddleX dialect) until its status is one of ``states`` (default: any end state)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _, out = await px("GET", "dataset", {"did": did})
        if out.get("dataset_status") in states:
            return out
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"dataset {did} stuck: {out}")
        await asyncio.sleep(0.05)
