"""WS /trio/api/events: task, progress, dataset and GPU events pushed by a real server."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest
from test_runner import shell_task
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from jupyter_trio.services.events import EventBus

from dataset_fixtures import make


async def read_json(ws: WebSocketClientConnection, timeout: float = 30.0) -> dict:
    raw = await asyncio.wait_for(ws.read_message(), timeout)
    assert raw is not None, "the server closed the events socket"
    return json.loads(raw)


async def events_until(ws, done, timeout: float = 60.0) -> list[dict]:
    """Read events until ``done(event)``; returns all of them (hello excluded)."""
    out = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no matching event in {timeout}s; got {[e.get('type') for e in out]}"
        event = await read_json(ws, left)
        out.append(event)
        if done(event):
            return out


def task_states(events: list[dict], name: str) -> list[str]:
    states = [e["task"]["status"] for e in events if e["type"] == "task" and e["task"]["name"] == name]
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


async def test_a_listener_sees_a_task_go_from_queued_to_completed_in_order(api, jp_ws_fetch):
    ws = await jp_ws_fetch("trio", "api", "events")
    hello = await read_json(ws)
    assert hello["type"] == "hello" and hello["refetch"] is False and isinstance(hello["last_id"], int)
    name = await shell_task(api, "echo hi; sleep 0.3")
    events = await events_until(
        ws, lambda e: e["type"] == "task" and e["task"]["name"] == name and e["task"]["status"] == "completed"
    )
    assert task_states(events, name) == ["queued", "running", "completed"]  # created and queued at once
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > hello["last_id"]
    final = events[-1]["task"]
    assert final["kind"] == "shell" and final["run"] == 1 and final["exit_code"] == 0 and final["id"]
    ws.close()


async def test_cancel_and_delete_are_pushed(api, jp_ws_fetch, wait_task):
    ws = await jp_ws_fetch("trio", "api", "events")
    await read_json(ws)
    name = await shell_task(api, "sleep 30")
    await wait_task(name, "running")
    status, _ = await api("POST", f"trio/api/tasks/{name}/cancel")
    assert status == 202
    events = await events_until(ws, lambda e: e["type"] == "task" and e["task"]["status"] == "cancelled")
    task_id = events[-1]["task"]["id"]
    status, _ = await api("DELETE", f"trio/api/tasks/{name}")
    assert status == 204
    events = await events_until(ws, lambda e: e["type"] == "task.deleted")
    assert events[-1]["task"] == {"id": task_id, "name": name}
    ws.close()


async def test_reconnect_with_since_resumes_with_nothing_lost_or_repeated(api, jp_ws_fetch, wait_task):
    steady = await jp_ws_fetch("trio", "api", "events")
    await read_json(steady)
    flaky = await jp_ws_fetch("trio", "api", "events")
    await read_json(flaky)
    first = await shell_task(api, "true", prefix="a")
    got = await events_until(flaky, lambda e: e["type"] == "task" and e["task"]["name"] == first)
    flaky.close()
    names = [await shell_task(api, "echo $RANDOM", prefix="b") for _ in range(3)]
    for name in names:
        await wait_task(name, "completed")
    done = set()

    def all_done(e):
        if e["type"] == "task" and e["task"]["status"] == "completed":
            done.add(e["task"]["name"])
        return done >= set(names)

    expected = await events_until(steady, all_done)
    expected_ids = [e["id"] for e in expected]
    resumed = await jp_ws_fetch("trio", "api", "events", params={"since": got[-1]["id"]})
    hello = await read_json(resumed)
    assert hello["refetch"] is False
    done.clear()
    replay = await events_until(resumed, all_done)
    # the flaky client: what it had, then exactly the rest
    steady_all = [e["id"] for e in got] + [i for i in expected_ids if i > got[-1]["id"]]
    assert [e["id"] for e in got] + [e["id"] for e in replay] == sorted(set(steady_all))
    assert [e for e in replay if e["id"] in expected_ids] == [e for e in expected if e["id"] > got[-1]["id"]]
    for ws in (steady, resumed):
        ws.close()


async def test_a_since_the_server_cannot_honour_asks_for_a_refetch(jp_ws_fetch):
    for since in (1, 2**52):  # older than this server's first event, and one it never issued
        ws = await jp_ws_fetch("trio", "api", "events", params={"since": since})
        hello = await read_json(ws)
        assert hello["refetch"] is True, since
        ws.close()


async def test_events_need_auth_and_a_valid_since(jp_ws_fetch, api):
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("trio", "api", "events", headers={"Authorization": ""})
    assert err.value.code == 403
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("trio", "api", "events", params={"since": "soon"})
    assert err.value.code == 422


def test_bus_backlog_is_bounded_and_a_client_past_it_refetches():
    async def scenario():
        bus = EventBus(backlog=3)
        ids = [bus.publish("x", n=i).id for i in range(5)]
        _, missed, _ = bus.subscribe(since=ids[0])
        assert missed is None  # ids[1] fell out of the backlog
        _, missed, newest = bus.subscribe(since=ids[1])
        assert [e.id for e in missed] == ids[2:] and newest == ids[-1]
        gpu = bus.publish("gpus", keep=False, gpus=[])
        _, missed, _ = bus.subscribe(since=ids[-1])
        assert missed == []  # a snapshot is not replayed
        assert gpu.id > ids[-1] and bus.last_id == gpu.id
        assert bus.listeners == 3

    asyncio.run(scenario())


TRAIN = textwrap.dedent(
    """
    import time
    import jupyter_trio as trio
    trio.record(stage="training", num_epochs=2, steps_per_epoch=20, flush=True)
    for step in range(1, 41):
        trio.track(loss=1.0 / step, eta_s=(40 - step) * 0.05, step=step)
        if step % 5 == 0:
            trio.flush()
        time.sleep(0.05)
    """
)


async def test_training_progress_and_eta_are_pushed_while_someone_listens(
    api, jp_ws_fetch, script_workspace, trio_app, wait_task
):
    assert not any(s.is_running() for s in trio_app._samplers)  # nobody listens: nothing sampled
    ws = await jp_ws_fetch("trio", "api", "events")
    await read_json(ws)
    await script_workspace(TRAIN)
    status, created = await api("POST", "trio/api/generator/create", {"name_prefix": "p", "run": True})
    assert status == 201, created
    name = created["items"][0]["name"]
    events = await events_until(
        ws, lambda e: e["type"] == "task" and e["task"]["name"] == name and e["task"]["status"] == "completed"
    )
    progress = [e["task"] for e in events if e["type"] == "task.progress" and e["task"]["name"] == name]
    assert len(progress) >= 2, events
    fractions = [p["progress"] for p in progress]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1 and fractions[-1] > fractions[0]
    assert all(p["kind"] == "script" and p["run"] == 1 and p["num_epochs"] == 2 for p in progress)
    etas = [p["eta_s"] for p in progress]
    assert etas == sorted(etas, reverse=True)
    assert any(s.is_running() for s in trio_app._samplers)
    ws.close()
    for _ in range(100):
        if not any(s.is_running() for s in trio_app._samplers):
            break
        await asyncio.sleep(0.05)
    assert not any(s.is_running() for s in trio_app._samplers)  # the last listener left


@pytest.fixture
def trio_config() -> dict:
    # GPU 0 configured by hand: NVML is absent here, so readings are empty but the holder is known
    return {"gpus": "0"}


async def test_gpu_snapshots_name_the_task_holding_each_gpu(api, jp_ws_fetch, wait_task):
    ws = await jp_ws_fetch("trio", "api", "events")
    hello = await read_json(ws)
    assert [g["index"] for g in hello["gpus"]] == [0] and hello["gpus"][0]["task"] is None
    name = await shell_task(api, "sleep 20", gpus=1)
    await wait_task(name, "running")
    events = await events_until(
        ws, lambda e: e["type"] == "gpus" and (e["gpus"][0]["task"] or {}).get("name") == name, timeout=10
    )
    assert events[-1]["gpus"][0]["task"]["run"] == 1
    await api("POST", f"trio/api/tasks/{name}/cancel")
    ws.close()


async def test_dataset_import_states_and_copy_progress_are_pushed(api, jp_ws_fetch, jp_root_dir):
    make("classification", jp_root_dir / "cls", 60)
    ws = await jp_ws_fetch("trio", "api", "events")
    await read_json(ws)
    code, d = await api("POST", "trio/api/datasets", {"name": "c", "dataset_type": "classification"})
    assert code == 201
    code, _ = await api("POST", f"trio/api/datasets/{d['id']}/import", {"path": "cls"})
    assert code == 202
    events = await events_until(ws, lambda e: e["type"] == "dataset" and e["dataset"]["status"] == "imported")
    states = [e["dataset"]["status"] for e in events if e["type"] == "dataset"]
    assert states == ["empty", "checking", "copying", "imported"]
    progress = [e["dataset"]["progress"] for e in events if e["type"] == "dataset.progress"]
    assert progress and progress == sorted(progress) and progress[-1] == 1.0
    assert events[-1]["dataset"]["num_images"] == 60
    ws.close()


async def test_a_plain_get_of_the_websocket_gets_a_json_400(api):
    status, body = await api("GET", "trio/api/events")
    assert status == 400 and "websocket" in body["error"]["message"]
