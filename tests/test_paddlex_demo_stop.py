"""Stopping a demo generation: the state says so and nothing half-written stays behind."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture
def trio_config():
    return {"demo_images": 100_000}  # minutes of work: the stop always lands mid-way


async def test_stop_a_running_generation(px, trio_workspace):
    await px("POST", "demo", {"type": "download", "prj_type": 1})
    while True:
        _, out = await px("GET", "demo", {"prj_type": 1})
        if out["attr"]["progress"] > 0:
            break
        await asyncio.sleep(0.02)
    assert out["attr"]["status"] == 0  # XDDOWNLOADING
    code, stopped = await px("PUT", "demo", {"prj_type": 1})
    assert stopped["status"] == 1 and stopped["attr"]["status"] == 1  # XDDOWNLOADFAIL
    assert "stopped" in stopped["attr"]["message"]
    assert not (trio_workspace / "demo_datasets" / "detection").exists()
    code, out = await px("POST", "demo", {"type": "load", "prj_type": 1})
    assert code == 409 and out["status"] == -1
