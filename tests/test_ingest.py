"""The ingest routes (what a job without a shared filesystem sends back): run tokens, offsets that make
retries exact, bodies checked, files kept inside the task's output folders."""

from __future__ import annotations

import asyncio

from jupyter_trio import _trackfile
from jupyter_trio.tracking.remote import IngestClient


def block(key: str, steps: list[int]) -> bytes:
    return _trackfile.encode(key, steps, [float(s) for s in steps], [1.0] * len(steps))


async def ingest(api, task_id: str, token: str | None, kind: str, body: bytes, **params):
    headers = {"X-Trio-Run-Token": token} if token is not None else {}
    return await api(
        "POST", f"trio/api/ingest/{task_id}/1/{kind}", raw=body, params=params or None, headers=headers
    )


async def test_points_are_appended_once_by_offset(api, running, trio_app):
    task_id, token = await running()
    first, second = block("loss", [0, 1]), block("loss", [2])
    status, reply = await ingest(api, task_id, token, "metrics", first, writer="w-1", offset=0)
    assert (status, reply) == (200, {"received": len(first)})
    # the same write again (its reply was lost): accepted, nothing added
    status, reply = await ingest(api, task_id, token, "metrics", first, writer="w-1", offset=0)
    assert (status, reply) == (200, {"received": len(first)})
    # a write from the wrong offset is refused and says where the file ends
    status, reply = await ingest(api, task_id, token, "metrics", second, writer="w-1", offset=3)
    assert status == 409 and reply["received"] == len(first) and reply["error"]["code"] == "offset_mismatch"
    status, _ = await ingest(api, task_id, token, "metrics", second, writer="w-1", offset=len(first))
    assert status == 200
    _, series = await api("GET", f"trio/api/tasks/{task_id}/metrics/loss")
    assert series["steps"] == [0, 1, 2]

    line = b'{"t": 1.0, "data": {"epoch": 3}}\n'
    status, _ = await ingest(api, task_id, token, "records", line, writer="w-1", offset=0)
    assert status == 200
    _, records = await api("GET", f"trio/api/tasks/{task_id}/records")
    assert records["record"]["epoch"] == 3


async def test_tokens_bind_one_running_run(api, running, trio_app):
    task_id, token = await running()
    body = block("x", [0])
    for bad in (None, "", "0" * 64, trio_app.ingest.tokens.token(task_id, 2)):
        status, reply = await ingest(api, task_id, bad, "metrics", body, writer="w", offset=0)
        assert status == 403 and reply["error"]["message"], (bad, reply)
    # the user's own Jupyter token is not a run token
    status, _ = await api("POST", f"trio/api/ingest/{task_id}/1/metrics", raw=body, params={"writer": "w"})
    assert status == 403
    await api("POST", f"trio/api/tasks/{task_id}/cancel")
    await asyncio.sleep(0.5)
    while (await api("GET", f"trio/api/tasks/{task_id}"))[1]["status"] == "running":
        await asyncio.sleep(0.1)
    status, reply = await ingest(api, task_id, token, "metrics", body, writer="w", offset=0)
    assert status == 409 and "takes no more data" in reply["error"]["message"]


async def test_bad_bodies_and_names_are_refused(api, running):
    task_id, token = await running()
    cases = [
        ("metrics", b"not blocks", {"writer": "w"}, 422),
        ("metrics", block("x", [0])[:-3], {"writer": "w"}, 422),  # a torn block
        ("records", b"{not json}\n", {"writer": "w"}, 422),
        ("records", b'{"data": {"a": 1}}', {"writer": "w"}, 422),  # no newline
        ("records", b'{"a": 1}\n', {"writer": "w"}, 422),  # not a record
        ("metrics", block("x", [0]), {"writer": "../../etc"}, 422),
        ("metrics", block("x", [0]), {}, 422),  # no writer
        ("logs", b"x", {"writer": "w"}, 404),
    ]
    for kind, body, params, expected in cases:
        status, reply = await ingest(api, task_id, token, kind, body, **params)
        assert status == expected and reply["error"]["message"], (kind, params, reply)


async def test_files_land_in_the_task_folder_and_nowhere_else(api, running, trio_app, trio_workspace):
    task_id, token = await running()
    base = f"trio/api/ingest/{task_id}/1/files"
    headers = {"X-Trio-Run-Token": token}
    target = f"tasks/{task_id}/checkpoints/epoch_1/model.pdparams"
    status, reply = await api("PUT", base, raw=b"abc", params={"path": target}, headers=headers)
    assert status == 200 and reply == {"received": 3}
    assert not (trio_workspace / target).exists()  # a part file until the last chunk
    status, _ = await api(
        "PUT", base, raw=b"def", params={"path": target, "offset": 3, "final": "true"}, headers=headers
    )
    assert status == 200 and (trio_workspace / target).read_bytes() == b"abcdef"

    for path in (
        "../outside.txt",
        "/etc/passwd",
        "tasks/T9999/x.bin",  # another task
        f"tasks/{task_id}/config.yaml",  # the frozen config
        f"tasks/{task_id}/runs/1/exit.json",  # the run folder takes only the split logs
        f"tasks/{task_id}/runs/2/stdout.log",  # another run
        f"tasks/{task_id}/runs/1/metrics/w.trk",  # what the ingest of points writes
        f"tasks/{task_id}",  # a folder, not a file
        f"tasks/{task_id}/.hidden",
        "trio.db",
    ):
        status, reply = await api(
            "PUT", base, raw=b"x", params={"path": path, "final": "true"}, headers=headers
        )
        assert status == 403 and reply["error"]["message"], (path, reply)
    assert not (trio_workspace.parent / "outside.txt").exists()
    status, _ = await api(
        "PUT",
        base,
        raw=b"out\n",
        params={"path": f"tasks/{task_id}/runs/1/stdout.log", "final": "true"},
        headers=headers,
    )
    assert status == 200


async def test_the_job_side_client_resends_after_the_server_was_away(api, running, jp_serverapp, trio_app):
    task_id, token = await running()
    url = f"{jp_serverapp.connection_url.rstrip('/')}/trio/api/ingest/{task_id}/1"
    loop = asyncio.get_running_loop()
    away = IngestClient("http://127.0.0.1:9/nowhere", token)  # the server is not there (yet)
    assert await loop.run_in_executor(None, away.send, "metrics", block("acc", [0, 1])) is False
    away.url = url  # it is back
    assert await loop.run_in_executor(None, away.send, "metrics", block("acc", [2])) is True
    assert not away.pending["metrics"]
    _, series = await api("GET", f"trio/api/tasks/{task_id}/metrics/acc")
    assert series["steps"] == [0, 1, 2]
