"""``RestClient``: the jupyter-trio REST API (``/trio/api/v1``) from Python, sync and async.

Every method returns the server's JSON as a dict (``delete_checkpoint`` returns None); ``name_async``
twins run on an ``httpx.AsyncClient``. Reads (GET, DELETE) are retried with exponential backoff on
connection errors, timeouts and 502/503/504; writes only when the connection failed before the request
was sent. Errors are typed (see :mod:`jupyter_trio.client.errors`).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .errors import APIConnectionError, APITimeoutError, error_for

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
RETRY_STATUSES = (502, 503, 504)
IDEMPOTENT = ("GET", "HEAD", "DELETE")
SESSION_HEADER = "X-Trio-Session"
_CLOSING: set[asyncio.Task] = set()  # async-client closes scheduled by close() inside a running loop


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None


def _q(part: str, keep_slash: bool = False) -> str:
    return quote(str(part), safe="/" if keep_slash else "")


def run_table_params(
    where: str, columns: str | list[str] | None, sort: str, order: str, limit: int, offset: int
) -> dict[str, Any]:
    """The query string of ``GET /trio/api/runs`` (both clients): ``columns`` as a list or comma text."""
    params: dict[str, Any] = {"where": where, "sort": sort, "order": order, "limit": limit, "offset": offset}
    if columns:
        params["columns"] = columns if isinstance(columns, str) else ",".join(columns)
    return params


def _backoff(attempt: int) -> float:
    return min(4.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2)


class RestClient:
    """REST operations on training runs, checkpoints, weights, sessions and samplers.

    Usually made by ``ServiceClient().create_rest_client()``; ``RestClient(base_url, token)`` works too.
    """

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        session_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
    ):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.api_url = self.base_url + "trio/api/v1/"
        self.session_id = session_id
        self.max_retries = max_retries
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=5.0)
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"token {token}"
        if session_id:
            self._headers[SESSION_HEADER] = session_id
        self.http_client = httpx.Client(base_url=self.api_url, headers=self._headers, timeout=self._timeout)
        self._async_client: httpx.AsyncClient | None = None
        self._user_info: dict[str, Any] | None = None

    def use_session(self, session_id: str) -> None:
        """Send ``session_id`` with every later request (runs and samplers made then join that session)."""
        self.session_id = session_id
        self._headers[SESSION_HEADER] = session_id
        self.http_client.headers[SESSION_HEADER] = session_id
        if self._async_client is not None:
            self._async_client.headers[SESSION_HEADER] = session_id

    # ---- plumbing
    @property
    def async_http_client(self) -> httpx.AsyncClient:
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                base_url=self.api_url, headers=self._headers, timeout=self._timeout
            )
        return self._async_client

    def _retry_after(self, call: _Call, attempt: int, exc: Exception | None, status: int | None) -> bool:
        if attempt >= self.max_retries:
            return False
        if exc is not None:
            return call.method in IDEMPOTENT or isinstance(exc, httpx.ConnectError)
        return call.method in IDEMPOTENT and status in RETRY_STATUSES

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        """JSON as Python, other content (an image, an archive) as bytes."""
        if "json" in response.headers.get("content-type", "") or response.status_code >= 400:
            try:
                body = response.json() if response.content else None
            except ValueError:
                body = response.text
        else:
            body = response.content
        if response.status_code >= 400:
            raise error_for(response.status_code, body)
        return body

    @staticmethod
    def _transport_error(exc: Exception) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"the server did not answer in time: {exc}")
        return APIConnectionError(f"could not reach the server: {exc}")

    def _send(self, call: _Call) -> Any:
        attempt = 0
        while True:
            try:
                response = self.http_client.request(
                    call.method, call.path, params=call.params or None, json=call.json
                )
            except httpx.TransportError as exc:
                if not self._retry_after(call, attempt, exc, None):
                    raise self._transport_error(exc) from exc
            else:
                if not self._retry_after(call, attempt, None, response.status_code):
                    return self._result(response)
            time.sleep(_backoff(attempt))
            attempt += 1

    async def _asend(self, call: _Call) -> Any:
        attempt = 0
        while True:
            try:
                response = await self.async_http_client.request(
                    call.method, call.path, params=call.params or None, json=call.json
                )
            except httpx.TransportError as exc:
                if not self._retry_after(call, attempt, exc, None):
                    raise self._transport_error(exc) from exc
            else:
                if not self._retry_after(call, attempt, None, response.status_code):
                    return self._result(response)
            await asyncio.sleep(_backoff(attempt))
            attempt += 1

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        """Any call under ``/trio/api/v1/`` (``path`` relative to it), with the same retries and errors."""
        return self._send(_Call(method.upper(), path, params or {}, json))

    async def request_async(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        return await self._asend(_Call(method.upper(), path, params or {}, json))

    def close(self) -> None:
        """Close both clients. Inside a running event loop (a notebook cell) the async client's close is
        scheduled on that loop and held until done; ``await rest.aclose()`` there closes it at once."""
        self.http_client.close()
        if self._async_client is not None:
            try:
                task = asyncio.get_running_loop().create_task(self._async_client.aclose())
            except RuntimeError:
                asyncio.run(self._async_client.aclose())
            else:  # the loop keeps only a weak reference to a task: hold it until it has run
                _CLOSING.add(task)
                task.add_done_callback(_CLOSING.discard)
            self._async_client = None

    async def aclose(self) -> None:
        self.http_client.close()
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- the calls (one description each, shared by the sync and async method)
    @staticmethod
    def _user() -> _Call:
        return _Call("GET", "user")

    @staticmethod
    def _weights(page: int, page_size: int) -> _Call:
        return _Call("GET", "weights", {"page": page, "page_size": page_size})

    @staticmethod
    def _weights_archive(checkpoint_id: str) -> _Call:
        return _Call("GET", f"weights/{_q(checkpoint_id)}/archive")

    @staticmethod
    def _run(training_run_id: str) -> _Call:
        return _Call("GET", f"training_runs/{_q(training_run_id)}")

    @staticmethod
    def _runs(limit: int, offset: int) -> _Call:
        return _Call("GET", "training_runs", {"limit": limit, "offset": offset})

    @staticmethod
    def _checkpoints(training_run_id: str) -> _Call:
        return _Call("GET", f"training_runs/{_q(training_run_id)}/checkpoints")

    @staticmethod
    def _checkpoint(training_run_id: str, checkpoint_id: str, method: str = "GET", suffix: str = "") -> _Call:
        return _Call(
            method, f"training_runs/{_q(training_run_id)}/checkpoints/{_q(checkpoint_id, True)}{suffix}"
        )

    @staticmethod
    def _user_checkpoints(limit: int, offset: int) -> _Call:
        return _Call("GET", "checkpoints", {"limit": limit, "offset": offset})

    @staticmethod
    def _session(session_id: str) -> _Call:
        return _Call("GET", f"sessions/{_q(session_id)}")

    @staticmethod
    def _sessions(limit: int, offset: int) -> _Call:
        return _Call("GET", "sessions", {"limit": limit, "offset": offset})

    @staticmethod
    def _sampler(sampler_id: str) -> _Call:
        return _Call("GET", f"samplers/{_q(sampler_id)}")

    @staticmethod
    def _info(path: str) -> _Call:
        return _Call("GET", "weights_info", {"path": path})

    # ---- sync API (the names, signatures and defaults of trio.RestClient)
    @property
    def user_info(self) -> dict[str, Any]:
        """The current user (fetched once)."""
        if self._user_info is None:
            self._user_info = self.get_user_info()
        return self._user_info

    def get_user_info(self) -> dict[str, Any]:
        return self._send(self._user())

    def list_weights(self, page: int = 1, page_size: int = 20) -> dict[str, Any]:
        return self._send(self._weights(page, page_size))

    def get_archive_url(self, checkpoint_id: str) -> dict[str, Any]:
        """A temporary download link for kept weights (``checkpoint_id`` from :meth:`list_weights`)."""
        return self._send(self._weights_archive(checkpoint_id))

    def get_training_run(self, training_run_id: str) -> dict[str, Any]:
        return self._send(self._run(training_run_id))

    def list_training_runs(self, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        return self._send(self._runs(limit, offset))

    def list_checkpoints(self, training_run_id: str) -> dict[str, Any]:
        return self._send(self._checkpoints(training_run_id))

    def get_checkpoint_archive_url(self, training_run_id: str, checkpoint_id: str) -> dict[str, Any]:
        return self._send(self._checkpoint(training_run_id, checkpoint_id, suffix="/archive"))

    def delete_checkpoint(self, training_run_id: str, checkpoint_id: str) -> None:
        self._send(self._checkpoint(training_run_id, checkpoint_id, "DELETE"))

    def list_user_checkpoints(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        return self._send(self._user_checkpoints(limit, offset))

    def get_session(self, session_id: str) -> dict[str, Any]:
        return self._send(self._session(session_id))

    def list_sessions(self, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        return self._send(self._sessions(limit, offset))

    def get_sampler(self, sampler_id: str) -> dict[str, Any]:
        return self._send(self._sampler(sampler_id))

    def get_checkpoint_info(self, path: str) -> dict[str, Any]:
        return self._send(self._info(path))

    # ---- the model registry (v1 routes): versions made from tinker:// paths, read by number or alias
    @staticmethod
    def _model_versions(model_name: str, path: str | None = None, description: str = "") -> _Call:
        if path is None:
            return _Call("GET", f"models/{_q(model_name)}/versions")
        return _Call(
            "POST", f"models/{_q(model_name)}/versions", json={"path": path, "description": description}
        )

    def register_model_version(self, model_name: str, path: str, description: str = "") -> dict[str, Any]:
        """The model's next version, made from a checkpoint (``tinker://<run>/weights/<id>``) or a kept
        model's id; the model is made on first use. Returns ``model_name``, ``version``, ``tinker_path``,
        ``training_run_id``."""
        return self._send(self._model_versions(model_name, path, description))

    def list_model_versions(self, model_name: str) -> dict[str, Any]:
        return self._send(self._model_versions(model_name))

    def get_model_version(self, model_name: str, version: int | str) -> dict[str, Any]:
        """A version by number, or by alias (``production``)."""
        return self._send(_Call("GET", f"models/{_q(model_name)}/versions/{_q(str(version))}"))

    def download_archive(self, url: str, dest: str | Path) -> Path:
        """Stream a signed archive link (from one of the ``*archive_url`` calls) into ``dest``."""
        dest = Path(dest)
        with self.http_client.stream("GET", self._same_server(url)) as response:
            if response.status_code >= 400:
                response.read()
                self._result(response)
            with dest.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
        return dest

    def _same_server(self, url: str) -> str:
        """A link's path and query on this client's server (a proxy may have shown it another host)."""
        parts = urlsplit(url)
        origin = urlsplit(self.base_url)
        return f"{origin.scheme}://{origin.netloc}{parts.path}?{parts.query}"

    # ---- async twins
    # ---- the run table (GET /trio/api/runs, beside the v1 routes)
    def _run_table(
        self,
        where: str,
        columns: str | list[str] | None,
        sort: str,
        order: str,
        limit: int,
        offset: int,
        fmt: str,
    ) -> _Call:
        params = run_table_params(where, columns, sort, order, limit, offset)
        if fmt != "json":
            params["format"] = fmt
        return _Call("GET", self.base_url + "trio/api/runs", params)

    def runs(
        self,
        where: str = "",
        columns: str | list[str] | None = None,
        sort: str = "",
        order: str = "desc",
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of the run table: ``{"runs": [row...], "total", "offset", "limit", "columns"}``. ``where``
        is the query language (``lr < 1e-3 and acc.max > 0.9 and status = completed``); a row holds
        ``task``, ``task_id``, ``run``, then each column by name: attributes, dotted parameters and
        ``<series>.last|min|max|best|count`` / ``<series>.at(k)``."""
        return self._send(self._run_table(where, columns, sort, order, limit, offset, "json"))

    def runs_frame(
        self,
        where: str = "",
        columns: str | list[str] | None = None,
        sort: str = "",
        order: str = "desc",
        max_rows: int | None = None,
    ) -> Any:
        """The matching runs as a pandas DataFrame (every page, or the first ``max_rows`` rows): the rows of
        :meth:`runs`, columns in the table's order. Needs pandas (``pip install pandas``)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("runs_frame needs pandas: pip install pandas (or use runs())") from None
        rows: list[dict[str, Any]] = []
        names: list[str] = []
        while max_rows is None or len(rows) < max_rows:
            want = 10_000 if max_rows is None else min(10_000, max_rows - len(rows))
            page = self.runs(where, columns, sort, order, limit=want, offset=len(rows))
            rows += page["runs"]
            for column in ["task", "task_id", "run"] + [c["name"] for c in page["columns"]]:
                if column not in names:
                    names.append(column)
            if not page["runs"] or len(rows) >= page["total"]:
                break
        return pandas.DataFrame(rows, columns=names)

    def runs_csv(
        self, where: str = "", columns: str | list[str] | None = None, sort: str = "", order: str = "desc"
    ) -> str:
        """Every matching run as CSV text (header first)."""
        body = self._send(self._run_table(where, columns, sort, order, 1, 0, "csv"))
        return body.decode() if isinstance(body, bytes) else str(body)

    async def get_user_info_async(self) -> dict[str, Any]:
        return await self._asend(self._user())

    async def list_weights_async(self, page: int = 1, page_size: int = 20) -> dict[str, Any]:
        return await self._asend(self._weights(page, page_size))

    async def get_archive_url_async(self, checkpoint_id: str) -> dict[str, Any]:
        return await self._asend(self._weights_archive(checkpoint_id))

    async def get_training_run_async(self, training_run_id: str) -> dict[str, Any]:
        return await self._asend(self._run(training_run_id))

    async def list_training_runs_async(self, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        return await self._asend(self._runs(limit, offset))

    async def list_checkpoints_async(self, training_run_id: str) -> dict[str, Any]:
        return await self._asend(self._checkpoints(training_run_id))

    async def get_checkpoint_archive_url_async(
        self, training_run_id: str, checkpoint_id: str
    ) -> dict[str, Any]:
        return await self._asend(self._checkpoint(training_run_id, checkpoint_id, suffix="/archive"))

    async def delete_checkpoint_async(self, training_run_id: str, checkpoint_id: str) -> None:
        await self._asend(self._checkpoint(training_run_id, checkpoint_id, "DELETE"))

    async def list_user_checkpoints_async(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        return await self._asend(self._user_checkpoints(limit, offset))

    async def get_session_async(self, session_id: str) -> dict[str, Any]:
        return await self._asend(self._session(session_id))

    async def list_sessions_async(self, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        return await self._asend(self._sessions(limit, offset))

    async def get_sampler_async(self, sampler_id: str) -> dict[str, Any]:
        return await self._asend(self._sampler(sampler_id))

    async def get_checkpoint_info_async(self, path: str) -> dict[str, Any]:
        return await self._asend(self._info(path))
