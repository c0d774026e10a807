"""The extension loads from config, exposes its traitlets, and answers health."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets import TraitError

from jupyter_trio import __version__
from jupyter_trio.app import TrioApp
from jupyter_trio.store import SCHEMA_VERSION


async def test_health_reports_workspace_user_schema_and_gpus(api, trio_workspace):
    status, body = await api("GET", "trio/api/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["workspace"] == str(trio_workspace)
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["gpus"] == []  # configured gpus="none"
    assert body["max_cpu_jobs"] == 2
    assert body["executor"] == "local"
    assert body["user"]
    assert (trio_workspace / "trio.db").is_file()


async def test_health_records_the_user_in_the_store(api, trio_app):
    _, body = await api("GET", "trio/api/health")
    row = trio_app.store.users.get(body["user"])
    assert row is not None and row["name"] == body["user"]


def test_extension_is_listed_ok_by_jupyter_server():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_server.extension.serverextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert "jupyter_trio" in text
    ok_lines = [line for line in text.splitlines() if f"jupyter_trio {__version__}" in line]
    assert ok_lines and "OK" in ok_lines[0], text


@pytest.mark.parametrize(
    "trait, value",
    [("gpus", "zero,one"), ("gpus", "0,0"), ("max_cpu_jobs", 0), ("executor", "kubernetes")],
)
def test_bad_configuration_is_refused(trait, value):
    app = TrioApp()
    with pytest.raises(TraitError):
        setattr(app, trait, value)


@pytest.mark.parametrize("value", ["auto", "none", "0,1", [0, 2]])
def test_good_gpu_settings_are_accepted(value):
    app = TrioApp()
    app.gpus = value
    assert app.gpus == value


def test_workspace_dir_defaults_to_dot_trio_in_root_dir(jp_serverapp):
    app = TrioApp()
    app.serverapp = jp_serverapp
    assert app.resolved_workspace_dir() == Path(jp_serverapp.root_dir).absolute() / ".trio"
    app.workspace_dir = "relative/ws"
    assert app.resolved_workspace_dir().parts[-2:] == ("relative", "ws")
    assert str(app.resolved_workspace_dir()).startswith(str(jp_serverapp.root_dir))


class TestFreezeStartupHeap:
    """Start-up's objects leave the collector's reach once the loop turns (full passes stalled requests)."""

    @pytest.fixture
    def trio_config(self) -> dict:
        return {"freeze_startup_heap": True}

    async def test_the_heap_is_frozen_after_start(self, trio_app, api):
        try:
            for _ in range(100):
                if gc.get_freeze_count():
                    break
                await asyncio.sleep(0.01)
            assert gc.get_freeze_count() > 10_000  # jupyter_server + the extension: far more than that
            status, _ = await api("GET", "trio/api/health")
            assert status == 200
        finally:
            gc.unfreeze()  # the pytest process goes on to other tests
