"""Run-end notifications through Apprise (issue 34), against a live server and a real HTTP receiver: the
server's notify_urls and a task's own, one notification per run, secrets never served, and delivery that
never holds up the runner and is tried again."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

NOTIFIER_LOG = "jupyter_trio.services.notifications"
HANG_S = 8.0


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every JSON notification it gets. By path: ``/fail<N>/...``
    answers 500 to its first N requests, then 200; ``/hang/...`` answers 500 after ``HANG_S`` seconds;
    anything else 200."""

    def __init__(self, port: int = 0):
        self.got: list[dict] = []
        self.hanging = 0  # requests of /hang/ not answered yet
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver._answer(self.path, self.headers.get("Authorization", ""), body)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.block_on_close = False
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _answer(self, path: str, auth: str, body: dict) -> int:
        with self._lock:
            seen = self._seen[path] = self._seen.get(path, 0) + 1
        if path.startswith("/hang/"):
            with self._lock:
                self.hanging += 1
            self._stop.wait(HANG_S)
            with self._lock:
                self.hanging -= 1
        status = 200
        if path.startswith("/hang/"):
            status = 500
        elif path.startswith("/fail"):
            status = 500 if seen <= int(path[5:].split("/", 1)[0]) else 200
        with self._lock:
            self.got.append({"path": path, "auth": auth, "status": status, **body})
        return status

    def url(self, path: str, credentials: str = "") -> str:
        return f"json://{credentials}127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict]:
        with self._lock:
            return [g for g in self.got if g["path"] == path]

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def trio_config(receiver):
    # every run is told to /all; short retry delays keep the tests fast
    return {"notify_urls": [receiver.url("/all")], "notify_retry_delays": [0.5, 1.0, 1.5, 2.0]}


async def shell_tasks(api, command: str, prefix: str, *, run: bool = True, notify=None) -> tuple[int, dict]:
    await api("POST", "trio/api/workspace/shell")
    body = {"name_prefix": prefix, "mode": "shell", "shell_text": command, "run": run}
    if notify is not None:
        body["notify"] = notify
    return await api("POST", "trio/api/generator/create", body)


async def shell_task(api, command: str, prefix: str, **kwargs) -> str:
    status, created = await shell_tasks(api, command, prefix, **kwargs)
    assert status == 201, created
    return created["items"][0]["name"]


def titles(got: list[dict]) -> list[str]:
    return sorted(g["title"] for g in got)


async def test_every_run_that_ends_is_told_once_to_the_server_urls(api, wait_task, receiver):
    ok = await shell_task(api, "true", "ok")
    bad = await shell_task(api, "echo boom >&2; exit 3", "bad")
    await wait_task(ok, "completed")
    failed = await wait_task(bad, "failed")
    await until(lambda: len(receiver.at("/all")) >= 2, what="two notifications")
    status, _ = await api("POST", f"trio/api/tasks/{ok}/run", {})
    assert status == 202
    await wait_task(ok, "completed")
    await until(lambda: len(receiver.at("/all")) >= 3, what="the second run's notification")
    await asyncio.sleep(2.0)  # a repeat would have come by now (retries are 0.5 s apart)

    got = receiver.at("/all")
    assert titles(got) == sorted([f"{ok} run 1 completed", f"{ok} run 2 completed", f"{bad} run 1 failed"])
    by_title = {g["title"]: g for g in got}
    done, broken = by_title[f"{ok} run 1 completed"], by_title[f"{bad} run 1 failed"]
    assert (done["type"], broken["type"]) == ("success", "failure")  # Apprise's JSON payload
    assert done["version"] == "1.0" and "Status: completed" in done["message"]
    assert "Status: failed" in broken["message"] and "Exit code: 3" in broken["message"]
    assert f"Failure: {failed['error']}" in broken["message"]
    assert "Duration: " in done["message"]
    assert f"/lab?trio-task={ok}" in done["message"]  # the server's URL is known: a link to the task


SCRIPT = """
import jupyter_trio as trio
for step, loss in enumerate([0.9, 0.25, 0.5]):
    trio.track("loss", loss, step=step)
"""


async def test_tracked_series_are_summed_up_in_the_message(api, wait_task, receiver, script_workspace):
    await script_workspace(SCRIPT)
    status, created = await api("POST", "trio/api/generator/create", {"name_prefix": "fit", "run": True})
    assert status == 201, created
    name = created["items"][0]["name"]
    await wait_task(name, "completed")
    await until(lambda: receiver.at("/all"), what="the notification")
    assert "loss: 0.5 at step 2, best 0.25" in receiver.at("/all")[0]["message"]


async def test_a_task_s_own_urls_hear_of_its_runs_only(api, wait_task, receiver):
    mine = await shell_task(api, "true", "mine", notify=[receiver.url("/mine")])
    other = await shell_task(api, "true", "other")
    await wait_task(mine, "completed")
    await wait_task(other, "completed")
    await until(lambda: len(receiver.at("/all")) >= 2 and receiver.at("/mine"), what="notifications")
    # later: another task opts in, the first opts out
    status, reply = await api("PATCH", f"trio/api/tasks/{other}/notify", {"urls": [receiver.url("/mine")]})
    assert status == 200 and reply["notify"] == [receiver.url("/mine")]
    status, reply = await api("PATCH", f"trio/api/tasks/{mine}/notify", {"urls": []})
    assert status == 200 and reply["notify"] == []
    for name in (mine, other):
        assert (await api("POST", f"trio/api/tasks/{name}/run", {}))[0] == 202
        await wait_task(name, "completed")
    await until(lambda: len(receiver.at("/all")) >= 4 and len(receiver.at("/mine")) >= 2, what="the reruns")
    await asyncio.sleep(1.0)

    assert titles(receiver.at("/mine")) == [f"{mine} run 1 completed", f"{other} run 2 completed"]
    assert len(receiver.at("/all")) == 4  # the server's URL hears of every run, once


async def test_urls_are_checked_and_their_secrets_never_served(api, wait_task, receiver):
    name = await shell_task(api, "true", "sec", run=False)
    status, err = await api("PATCH", f"trio/api/tasks/{name}/notify", {"urls": ["bogus://token@x"]})
    assert status == 422 and "'bogus'" in err["error"]["message"] and "token" not in err["error"]["message"]
    status, err = await api("PATCH", f"trio/api/tasks/{name}/notify", {"urls": ["not a url"]})
    assert status == 422
    status, err = await api("PATCH", f"trio/api/tasks/{name}/notify", {"urls": ["slack://only-one-token"]})
    assert status == 422 and "slack://" in err["error"]["message"]
    status, _ = await api("PATCH", f"trio/api/tasks/{name}/notify", {"urls": [receiver.url("/x")] * 21})
    assert status == 422
    status, err = await shell_tasks(api, "true", "never", notify=["bogus://x"])
    assert status == 422 and "'bogus'" in err["error"]["message"]
    status, listed = await api("GET", "trio/api/tasks", params={"name": "never"})
    assert listed["total"] == 0  # nothing made

    secret = receiver.url("/auth", "bob:s3cret-pw@")
    status, reply = await api("PATCH", f"trio/api/tasks/{name}/notify", {"urls": [secret]})
    assert status == 200
    assert reply["notify"] == [receiver.url("/auth", "bob:****@")]
    for path in (f"trio/api/tasks/{name}", "trio/api/tasks"):
        status, body = await api("GET", path)
        assert status == 200 and "s3cret" not in json.dumps(body) and "bob:****@" in json.dumps(body)
    assert (await api("POST", f"trio/api/tasks/{name}/run", {}))[0] == 202
    await wait_task(name, "completed")
    await until(lambda: receiver.at("/auth"), what="the notification")
    # the secret was kept in full, and used
    assert receiver.at("/auth")[0]["auth"] == "Basic " + base64.b64encode(b"bob:s3cret-pw").decode()


async def test_a_hanging_receiver_holds_up_no_run(api, wait_task, receiver):
    slow = await shell_task(api, "true", "slow", notify=[receiver.url("/hang/1")])
    await wait_task(slow, "completed")
    await until(lambda: receiver.hanging == 1, what="the receiver to hang")
    started = time.monotonic()
    after = await shell_task(api, "true", "after")
    await wait_task(after, "completed")
    took = time.monotonic() - started
    # the next run started, ended and was recorded while the notification still hung
    assert receiver.hanging == 1, f"the runner waited for the notification ({took:.1f}s)"
    assert took < HANG_S / 2
    await until(lambda: f"{after} run 1 completed" in titles(receiver.at("/all")), what="the next one")
    assert receiver.hanging == 1  # the other worker told /all meanwhile


async def test_failed_deliveries_are_tried_again_until_the_receiver_recovers(
    api, wait_task, receiver, trio_app, caplog
):
    caplog.set_level(logging.INFO, logger=NOTIFIER_LOG)
    dead = free_port()  # nothing listens here yet
    down = f"json://bob:s3cret-pw@127.0.0.1:{dead}/later"
    name = await shell_task(api, "true", "retry", notify=[receiver.url("/fail2/x"), down])
    await wait_task(name, "completed")
    title = f"{name} run 1 completed"

    await until(lambda: any(str(dead) in r.getMessage() for r in caplog.records), what="the first failure")
    late = Receiver(dead)  # the receiver comes up: a retry reaches it
    try:
        await until(lambda: late.at("/later"), timeout=15.0, what="the retry")
        assert late.at("/later")[0]["title"] == title
        await until(lambda: len(receiver.at("/fail2/x")) >= 3, what="the flaky receiver's third try")
        await asyncio.sleep(1.5)
        assert [g["status"] for g in receiver.at("/fail2/x")] == [500, 500, 200]  # then no more
        assert len(late.at("/later")) == 1
    finally:
        late.stop()
    assert {g["title"] for g in receiver.at("/fail2/x")} == {title}
    assert trio_app.notifier.given_up == 0 and trio_app.notifier.sent >= 3

    lines = [r.getMessage() for r in caplog.records if r.name == NOTIFIER_LOG]
    failures = [line for line in lines if "failed (try 1" in line]
    assert any(f"bob:****@127.0.0.1:{dead}" in line for line in failures)
    assert not [line for line in lines if "s3cret" in line]


# ---- the parts, without a server
def test_the_shown_form_masks_credentials_tokens_and_header_values():
    from jupyter_trio.services.notifications import check_urls, redact

    raw = "json://bob:s3cret-pw@127.0.0.1:9/hook?+X-Token=tok-123456&method=PUT"
    (target,) = check_urls([raw, raw])  # a repeat is dropped
    assert target.shown == "json://bob:****@127.0.0.1:9/hook?method=PUT&+X-Token=****"
    assert "s3cret" not in repr(target) and target.url == raw
    (slack,) = check_urls(["slack://TokenA1/TokenB2/TokenC3/#chan"])
    assert "TokenA1" not in slack.shown and slack.shown.startswith("slack://T...1/")
    assert redact("refused: s3cret-pw, tok-123456 at 127.0.0.1", target) == "refused: ****, **** at 127.0.0.1"


def test_a_full_queue_drops_its_oldest_entry_with_a_log_line(caplog):
    from jupyter_trio.domain import NotifyTarget
    from jupyter_trio.services.notifications import Message, Notifier, _Delivery

    notifier = Notifier(store=None, max_pending=2, workers=1)
    later = time.monotonic() + 60  # not due: the worker leaves them queued
    try:
        for n in range(3):
            message = Message(f"t{n} run 1 completed", "", "success")
            notifier._push(later, _Delivery(NotifyTarget(f"json://h/{n}", f"json://h/{n}"), message))
        assert notifier.pending() == 2 and notifier.dropped == 1
        assert [e.message.title for _, _, e in sorted(notifier._queue)] == [
            "t1 run 1 completed",
            "t2 run 1 completed",
        ]
        assert any("dropped the oldest, 't0 run 1 completed'" in r.getMessage() for r in caplog.records)
    finally:
        started = time.monotonic()
        notifier.close()
    assert time.monotonic() - started < 1.0 and not any(t.is_alive() for t in notifier._threads)
