"""The handler base every jupyter-trio route uses: auth, JSON errors, pydantic in and out.

Authentication and authorization happen in :meth:`TrioHandler.prepare` for every method of every
subclass, so a route cannot be added without them: jupyter_server's IdentityProvider resolves the
user (token header, ``?token=``, login cookie with XSRF on writes, JupyterHub OAuth), and its
Authorizer is asked for ``read`` or ``write`` on the ``trio`` resource.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
from jupyter_server.auth import IdentityProvider, User
from jupyter_server.base.call_context import CallContext
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web, websocket
from tornado.ioloop import IOLoop

from ..acting import acting_user
from ..errors import Conflict, Forbidden, TrioError, Unavailable
from ..services.run_tokens import is_run_token
from ..services.users import local_owner

if TYPE_CHECKING:
    from ..app import TrioApp

M = TypeVar("M", bound=pydantic.BaseModel)

AUTH_RESOURCE = "trio"
JOB_SOCKET_RECHECK_S = 1.0  # how often a websocket opened with a run token checks that its run still runs
_METHOD_TO_ACTION = {"GET": "read", "HEAD": "read", "OPTIONS": "read"}


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one handler method."""

    summary: str
    request: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    query: type[pydantic.BaseModel] | None = None
    status: int = 200
    content_type: str = "application/json"
    also_content_types: tuple[str, ...] = ()  # other bodies the same reply may have (raw XML beside JSON)
    tag: str = ""


def operation(summary: str, **kwargs: Any) -> Callable[[Callable], Callable]:
    """Describe a handler method for the OpenAPI document (see :class:`Operation`)."""

    def mark(fn: Callable) -> Callable:
        fn.__trio_operation__ = Operation(summary=summary, **kwargs)  # type: ignore[attr-defined]
        return fn

    return mark


def _error_status(exc: BaseException) -> tuple[int, str, str] | None:
    """Map a known exception to (status, code, message); ``None`` for a real server fault."""
    if isinstance(exc, TrioError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, web.HTTPError):
        code = (exc.reason or responses.get(exc.status_code, "error")).lower().replace(" ", "_")
        return exc.status_code, code, exc.log_message or responses.get(exc.status_code, "error")
    return None


class TrioHandler(ExtensionHandlerMixin, APIHandler):
    """Base of all jupyter-trio handlers (native, PaddleX and v1 dialects)."""

    auth_resource = AUTH_RESOURCE

    # ---- services wired in TrioApp.initialize_settings
    @property
    def trio(self) -> TrioApp:
        """The running TrioApp: its configuration and every service (handlers reach nothing else)."""
        return self.settings["trio_app"]

    @property
    def username(self) -> str:
        """The owner name recorded on everything this request creates.

        jupyter_server's own identity providers (token/password auth) name every request a fresh
        anonymous user, yet whoever holds the token of a personal server is its one owner: the OS
        account. Any other provider (JupyterHub's, a custom one) names real users, and is trusted.
        """
        if self.personal_server:
            return local_owner()
        user = self.current_user
        return getattr(user, "username", None) or str(user)

    def require_websocket(self) -> None:
        """A plain GET of a websocket route gets a JSON 400 (tornado's own answer is a text/html one)."""
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise web.HTTPError(400, "this route is a websocket: connect with 'Upgrade: websocket'")

    def identity(self) -> dict[str, Any]:
        """The caller as JupyterHub describes them (name, admin, groups, scopes), or the local owner."""
        hub_user = getattr(self.current_user, "hub_user", None)
        if not isinstance(hub_user, dict):
            return {"name": self.username, "hub": False, "admin": False, "groups": [], "scopes": []}
        return {
            "name": self.username,
            "hub": True,
            "admin": bool(hub_user.get("admin")),
            "groups": sorted(hub_user.get("groups") or []),
            "scopes": sorted(hub_user.get("scopes") or []),
        }

    @property
    def personal_server(self) -> bool:
        """True under jupyter_server's own token/password identity, which names users at random."""
        return type(self.identity_provider).__module__ == IdentityProvider.__module__

    # ---- auth
    def run_token(self) -> str:
        """A job's run token (``TRIO_TOKEN``: ``Authorization: token trio-run....``), or ''."""
        scheme, _, credential = self.request.headers.get("Authorization", "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() in ("token", "bearer") and is_run_token(credential):
            return credential
        return ""

    def prepare_without_user(self) -> None:
        """What jupyter_server's ``prepare`` checks besides the user, for routes whose credential is one of
        ours (a run token, a run's claim) rather than a user's."""
        CallContext.set(CallContext.JUPYTER_HANDLER, self)
        self.current_user = self._jupyter_current_user = None
        if not self.check_host():
            raise web.HTTPError(403)
        if not self.check_origin():
            raise web.HTTPError(404)
        if self.trio.unavailable:
            raise Unavailable(self.trio.unavailable, code="workspace_damaged")

    async def prepare_for_job(self, token: str) -> None:
        """A job's request: its run token (``services/run_tokens.py``) opens the API for reading while the
        run runs, as the task's owner; nothing else. jupyter_server's identity provider is not asked: the
        token is ours, and no other route of the server takes it."""
        self.prepare_without_user()
        try:
            task, run = self.trio.ingest.identify(token)
        except Conflict as exc:  # the run ended: its token opens nothing any more
            raise Forbidden(exc.message) from None
        if _METHOD_TO_ACTION.get(self.request.method or "") != "read":
            raise Forbidden(
                "a job's token (TRIO_TOKEN) may only read the jupyter-trio API; writes need the user's "
                "own credentials"
            )
        self.current_user = self._jupyter_current_user = User(username=task.owner, name=task.owner)
        acting_user.set(task.owner)
        if isinstance(self, websocket.WebSocketHandler):
            # a socket outlives the request that opened it: it closes when the token's run ends
            IOLoop.current().add_callback(self._close_when_run_ends, task.id, run.run_index)

    async def _close_when_run_ends(self, task_id: str, run_index: int) -> None:
        while True:
            await asyncio.sleep(JOB_SOCKET_RECHECK_S)
            if getattr(self, "ws_connection", None) is None:
                return  # closed (or never opened)
            try:
                self.trio.ingest.run_of(task_id, run_index)
            except (Conflict, TrioError):
                self.close(4003, "the run ended: its token is no longer valid")  # type: ignore[attr-defined]
                return

    async def prepare(self) -> None:
        token = self.run_token()
        if token:
            await self.prepare_for_job(token)
            return
        await super().prepare()
        if self.current_user is None:
            raise web.HTTPError(403, "authentication required: send a token or log in")
        acting_user.set(self.username)
        action = _METHOD_TO_ACTION.get(self.request.method or "", "write")
        allowed = self.authorizer.is_authorized(self, self.current_user, action, self.auth_resource)
        if hasattr(allowed, "__await__"):
            allowed = await allowed
        if not allowed:
            raise web.HTTPError(403, f"user {self.username!r} may not {action} {self.auth_resource}")
        if self.trio.unavailable:
            raise Unavailable(self.trio.unavailable, code="workspace_damaged")

    # ---- input
    def json_body(self) -> Any:
        """The request body as JSON; an empty body is ``{}``."""
        raw = self.request.body
        if not raw or not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TrioError(f"request body is not valid JSON: {exc}", code="invalid_json") from None
        except RecursionError:  # [[[[...]]]] nested deeper than the parser's recursion
            raise TrioError("request body nests too deep", code="invalid_json") from None

    def parse_body(self, model: type[M]) -> M:
        return self.validate(model, self.json_body())

    def parse_query(self, model: type[M]) -> M:
        # ``token`` is the auth's; a bare number is JupyterLab's cache buster (ServerConnection adds
        # ``?<timestamp>`` to GETs made with ``cache: "no-store"``) — neither is a parameter of ours.
        args = {
            k: self.get_query_argument(k)
            for k in self.request.query_arguments
            if k != "token" and not k.isdigit()
        }
        return self.validate(model, args)

    @staticmethod
    def validate(model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise TrioError(format_validation_error(exc), code="validation_error", status=422) from None

    # ---- output
    def reply(self, payload: pydantic.BaseModel | dict | list, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(payload, pydantic.BaseModel):
            self.finish(payload.model_dump_json())
        else:
            self.finish(json.dumps(payload, default=str))

    # ---- errors: one JSON shape for every failure, never a traceback
    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info and exc_info[1] is not None:
            mapped = _error_status(exc_info[1])
            if mapped is not None:
                status_code = mapped[0]
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if value is not None and _error_status(value) is not None and not isinstance(value, web.HTTPError):
            self.log.info("%s %s -> %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.clear_header("Content-Disposition")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        mapped = _error_status(exc) if exc is not None else None
        if mapped is not None:
            _, code, message = mapped
        elif exc is not None:
            code, message = "internal_error", "internal server error; the server log has the details"
        else:
            code = responses.get(status_code, "error").lower().replace(" ", "_")
            message = responses.get(status_code, "error")
        self.finish(self.error_payload(status_code, code, message))

    def error_payload(self, status_code: int, code: str, message: str) -> str:
        """The error body; the PaddleX dialect overrides this with its ``status: -1`` shape."""
        return json.dumps({"error": {"code": code, "message": message, "status": status_code}})


def format_validation_error(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        if err.get("type") == "missing":
            parts.append(f"{where} is required")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


class NotFoundHandler(TrioHandler):
    """Any unknown path under /trio/ answers a JSON 404 (after auth, like everything else)."""

    def _not_found(self, *args: Any) -> None:
        raise TrioError(
            f"no such route: {self.request.method} {self.request.path}", code="not_found", status=404
        )

    get = post = put = patch = delete = _not_found
