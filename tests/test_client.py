"""RestClient and ServiceClient against the live test server (typed errors, async twins, pagination), retries
against a real flaky HTTP server, and server discovery from environment and runtime files."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_trio.client import (
    APIConnectionError,
    InternalServerError,
    NotFoundError,
    RestClient,
    ServerNotFoundError,
    ServiceClient,
    UnprocessableEntityError,
    find_server,
)
from jupyter_trio.domain import NewTask
from jupyter_trio.services.users import local_owner


@pytest.fixture
def server_url(jp_serverapp, http_server_client, jp_http_port, jp_base_url) -> tuple[str, str]:
    return f"http://localhost:{jp_http_port}{jp_base_url}", jp_serverapp.identity_provider.token


async def test_rest_client_calls_errors_and_async_twins(server_url, trio_app):
    url, token = server_url
    with trio_app.store.db.transaction() as conn:
        trio_app.store.tasks.insert_many(
            conn,
            [
                NewTask(name=f"run-{i}", kind="train", owner=local_owner(), params={"model": "ResNet18"})
                for i in range(5)
            ],
        )
    service = await asyncio.to_thread(ServiceClient, url, token, user_metadata={"who": "test"})
    rest = service.create_rest_client()
    try:
        assert service.location.source == "arguments"
        runs = await asyncio.to_thread(rest.list_training_runs, 2, 1)
        assert runs["cursor"] == {"offset": 1, "limit": 2, "total_count": 5}
        assert [r["base_model"] for r in runs["training_runs"]] == ["ResNet18", "ResNet18"]
        assert (await rest.list_training_runs_async(limit=2, offset=1)) == runs
        user = await asyncio.to_thread(lambda: rest.user_info)
        assert user["user_id"] == local_owner() and user == await rest.get_user_info_async()
        session = await rest.get_session_async(service.session_id)
        assert session["user_metadata"] == {"who": "test"} and session["kernel_id"] == ""
        assert service.session_id in (await asyncio.to_thread(rest.list_sessions))["sessions"]
        assert (await rest.list_weights_async())["weights"] == []
        assert (await rest.list_user_checkpoints_async())["cursor"]["limit"] == 100

        with pytest.raises(NotFoundError) as err:
            await asyncio.to_thread(rest.get_training_run, "T9999")
        assert err.value.status_code == 404 and "T9999" in err.value.message and err.value.code == "not_found"
        with pytest.raises(NotFoundError):
            await rest.get_sampler_async("SM0404")
        with pytest.raises(UnprocessableEntityError) as err:
            await rest.get_checkpoint_info_async("trio://nothing")
        assert "trio://<run>/weights/<id>" in err.value.message
        with pytest.raises(NotFoundError):
            await asyncio.to_thread(rest.delete_checkpoint, "T0001", "epoch_1")
        bad = RestClient(url, "wrong-token", max_retries=0)
        with pytest.raises(Exception) as err:
            await asyncio.to_thread(bad.get_user_info)
        assert getattr(err.value, "status_code", None) in (401, 403)
        bad.close()
    finally:
        await rest.aclose()
        service.close()


async def test_sync_close_inside_a_running_loop_closes_the_async_client(server_url):
    url, token = server_url
    rest = RestClient(url, token)
    await rest.get_user_info_async()
    async_client = rest._async_client
    assert async_client is not None and not async_client.is_closed
    rest.close()  # as in a notebook cell: a loop is running, so the close is scheduled on it
    for _ in range(50):
        if async_client.is_closed:
            break
        await asyncio.sleep(0.01)
    assert async_client.is_closed and rest.http_client.is_closed


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first ``fail`` requests, then 200; counts what it saw."""

    fail = 2
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(self.command)
        if len(type(self).seen) <= type(self).fail:
            code, body = 503, {"error": {"code": "busy", "message": "try later"}}
        else:
            code, body = 200, {"training_runs": [], "cursor": {"offset": 0, "limit": 20, "total_count": 0}}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def flaky_server():
    _Flaky.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_reads_are_retried_on_503_writes_are_not(flaky_server):
    rest = RestClient(flaky_server, "t", max_retries=3)
    assert rest.list_training_runs()["cursor"]["total_count"] == 0
    assert _Flaky.seen == ["GET", "GET", "GET"]
    _Flaky.seen = []
    with pytest.raises(InternalServerError) as err:
        rest.request("POST", "sessions", json={})
    assert err.value.status_code == 503 and err.value.message == "try later" and _Flaky.seen == ["POST"]
    rest.close()


def test_connection_errors_are_typed_after_retries():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rest = RestClient(f"http://127.0.0.1:{port}/", max_retries=1)
    with pytest.raises(APIConnectionError):
        rest.list_sessions()
    rest.close()


def test_discovery_order(monkeypatch, tmp_path):
    for name in (
        "TRIO_SERVER_URL",
        "TRIO_TOKEN",
        "TRIO_RUN_DIR",
        "JUPYTERHUB_SERVICE_URL",
        "JUPYTERHUB_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    with pytest.raises(ServerNotFoundError):
        find_server(runtime_dir=str(runtime))

    # two live servers; the one whose process is an ancestor of this one is ours
    def write(pid: int, port: int) -> None:
        (runtime / f"jpserver-{pid}.json").write_text(
            json.dumps(
                {
                    "pid": pid,
                    "url": f"http://localhost:{port}/base/",
                    "token": f"tok{port}",
                    "base_url": "/base/",
                }
            )
        )

    write(os.getpid(), 1111)  # alive, not an ancestor
    write(os.getppid(), 2222)
    found = find_server(runtime_dir=str(runtime))
    assert (found.base_url, found.token) == ("http://localhost:2222/base/", "tok2222")
    assert found.source == f"runtime file of pid {os.getppid()}"

    # inside a job (the runner set TRIO_RUN_DIR) without its server's URL: no runtime file, no server token
    monkeypatch.setenv("TRIO_RUN_DIR", str(tmp_path / "run"))
    with pytest.raises(ServerNotFoundError, match="TRIO_SERVER_URL"):
        find_server(runtime_dir=str(runtime))
    monkeypatch.delenv("TRIO_RUN_DIR")

    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:9999/user/ann")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hubtok")
    found = find_server(runtime_dir=str(runtime))
    assert (found.base_url, found.token, found.source) == (
        "http://127.0.0.1:9999/user/ann/",
        "hubtok",
        "jupyterhub",
    )
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://:8888/user/ann/")  # the spawner's bind-all URL
    assert find_server(runtime_dir=str(runtime)).base_url == "http://127.0.0.1:8888/user/ann/"
    monkeypatch.setenv("TRIO_SERVER_URL", "http://example.test:1/")
    monkeypatch.setenv("TRIO_TOKEN", "envtok")
    assert find_server(runtime_dir=str(runtime)).source == "environment"
    found = find_server("http://explicit:2", "argtok", runtime_dir=str(runtime))
    assert (found.base_url, found.token, found.source) == ("http://explicit:2/", "argtok", "arguments")
