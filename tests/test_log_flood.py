"""A job that floods stdout (100 MB in a few seconds) loses no byte, and the server keeps answering and
streaming the other jobs' logs meanwhile (asserted by completeness, not by timing)."""

from __future__ import annotations

import asyncio
import json

import pytest
from test_runner import shell_task

pytestmark = pytest.mark.slow

LINE = "b'x' * 99 + b'\\n'"
FLOOD = f'python3 -c "import sys; w = sys.stdout.buffer.write; [w(({LINE}) * 1000) for _ in range(1000)]"'
TICKS = "for i in $(seq 1 100); do echo tick $i; sleep 0.05; done"


async def test_a_flooding_job_loses_nothing_and_stalls_no_one(api, jp_ws_fetch, wait_task, trio_workspace):
    ticker = await shell_task(api, TICKS, prefix="ticker")
    await wait_task(ticker, "running")
    follower = await jp_ws_fetch("trio", "api", "tasks", ticker, "logs", "stream")
    flood = await shell_task(api, FLOOD, prefix="flood")

    ticks, answered = [], 0
    while True:
        message = json.loads(await asyncio.wait_for(follower.read_message(), 60))
        if message["type"] == "chunk":
            ticks += [line for line in message["content"].splitlines() if line]
        if message["type"] == "status":
            break
        status, _ = await api("GET", "trio/api/health")  # the server answers while the flood goes on
        answered += status == 200
    assert ticks == [f"tick {i}" for i in range(1, 101)]
    assert answered > 0

    done = await wait_task(flood, "completed", "failed", timeout=120)
    assert done["status"] == "completed", done
    _, ticked = await api("GET", f"trio/api/tasks/{ticker}")
    assert (
        done["started_at"] < ticked["ended_at"] and done["ended_at"] < ticked["ended_at"]
    )  # they overlapped
    run = trio_workspace / "tasks" / done["id"] / "runs" / "1"
    for name in ("stdout.log", "output.log"):
        assert (run / name).stat().st_size == 100_000_000, name
    _, tail = await api("GET", f"trio/api/tasks/{flood}/logs", params={"tail": 3})
    assert tail["content"] == ("x" * 99 + "\n") * 3 and tail["size"] == 100_000_000
