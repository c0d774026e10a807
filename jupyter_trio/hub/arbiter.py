"""``python -m jupyter_trio.hub``: the GPU arbiter, a JupyterHub-managed service that owns the machine's GPUs
and leases them to users' jupyter-trio servers, fairly, one job at a time.

Declared in ``jupyterhub_config.py`` (see the README, "On JupyterHub")::

    c.JupyterHub.services = [{
        "name": "trio-gpus", "url": "http://127.0.0.1:10100",
        "command": [sys.executable, "-m", "jupyter_trio.hub", "--TrioGPUArbiter.gpus=0,1"],
    }]

Callers authenticate with a Hub token (a user server's ``JUPYTERHUB_API_TOKEN``) that holds the custom scope
``custom:trio-gpus:request``; ``custom:trio-gpus:admin`` sees every lease and revokes. A job's supervisor
renews and releases its own lease with the lease's secret, so a lease lives exactly as long as its job, even
while the user's server is stopped.

One user cannot slow the others down: request fields are bounded, each user's lease requests and releases
(and, more generously, reads) are rate-limited, each user keeps a bounded history, and a change writes only
what changed (SQLite, see ``state.py``). Renewals are never rate-limited: they are O(1) and write nothing.

Leases are advisory: a process can open any GPU its OS user may open. Every ``gpu_check_interval`` seconds
the arbiter reads NVML's compute processes and reports (in ``GET api/gpus``, and in its log) those of a user
other than the GPU's lease holder. It compares OS user names with Hub user names, which holds on a Hub whose
spawner runs each user's server as the OS user of the same name (local or systemd spawners); with
containers the processes are not the Hub users' (and the containers' device lists enforce the leases).
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth
from tornado import ioloop, web
from traitlets import Bool, Float, Int, List, Unicode, Union, default
from traitlets.config import Application

from ..runner.gpus import GPUProcess, Grant, gpu_processes, nvml_gpus, parse_gpu_setting, unleased_uses
from .leases import ENDED, GRANTED, RELEASED, REVOKED, WAITING, LeaseBook, LeaseRefused, Policy
from .limits import (
    MAX_BODY_BYTES,
    MAX_LEASE_ID_CHARS,
    BadRequest,
    RateLimiter,
    parse_lease_request,
    retry_after,
)
from .schedules import MAX_SCHEDULES_BODY, ServerStarter, next_fire_after, parse_schedules
from .state import LeaseStore

REQUEST_SCOPE = "custom:trio-gpus:request"
ADMIN_SCOPE = "custom:trio-gpus:admin"
# a user's server may hand its schedules to this service, which starts the server when one fires
SCHEDULES_SCOPE = "custom:trio-schedules"
SECRET_HEADER = "X-Trio-Lease-Secret"


class TrioGPUArbiter(Application):
    name = "jupyter-trio-gpu-arbiter"
    description = __doc__

    gpus = Union(
        [Unicode(), List(Int())],
        default_value="",
        config=True,
        help="GPU indices to lease, e.g. '0,1'. Empty: every GPU NVML sees.",
    )
    max_gpus_per_user = Int(0, config=True, help="GPUs one user may hold at once (0: no limit).")
    max_queued_per_user = Int(10, config=True, help="Requests one user may have waiting at once.")
    lease_ttl = Float(30.0, config=True, help="Seconds a lease lives without a renewal.")
    fair_share_window = Float(
        24.0, config=True, help="Hours of GPU use that count for fair share (fewest recent GPU-hours first)."
    )
    show_holder_names = Bool(
        False, config=True, help="Show other users' names on GPUs they hold (else 'another user')."
    )
    max_history_per_user = Int(
        50,
        config=True,
        help="Ended leases listed per user; older ones are kept only as GPU-hours for fair share.",
    )
    max_job_chars = Int(256, config=True, help="Longest job name a lease request may carry.")
    user_rate_limit = Float(
        5.0, config=True, help="Lease requests and releases per second one user may make (0: no limit)."
    )
    user_rate_burst = Int(30, config=True, help="Lease requests and releases one user may make at once.")
    user_read_rate_limit = Float(
        20.0, config=True, help="Reads (GPUs, leases, policy) per second one user may make (0: no limit)."
    )
    user_read_rate_burst = Int(100, config=True, help="Reads one user may make at once.")
    gpu_check_interval = Float(
        10.0,
        config=True,
        help="Seconds between looks at NVML's GPU processes for uses without a lease (0: never).",
    )
    schedule_check_interval = Float(
        5.0,
        config=True,
        help="Seconds between looks for users' schedules that are due while their server is stopped (0: "
        "never; the service then keeps no schedules' promise).",
    )
    state_file = Unicode(
        config=True,
        help="The SQLite file where leases are kept across restarts of the service (an old JSON state "
        "file at this path, or beside it as .json, is migrated once).",
    )
    bind_url = Unicode(config=True, help="Where to listen. Default: $JUPYTERHUB_SERVICE_URL.")
    prefix = Unicode(config=True, help="URL prefix of the routes. Default: $JUPYTERHUB_SERVICE_PREFIX.")

    aliases = {"gpus": "TrioGPUArbiter.gpus", "port": "TrioGPUArbiter.bind_url"}

    @default("state_file")
    def _default_state_file(self) -> str:
        return str(Path.cwd() / "trio-gpu-leases.sqlite")

    @default("bind_url")
    def _default_bind_url(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10100")

    @default("prefix")
    def _default_prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/trio-gpus/")

    def inventory(self) -> list[int]:
        mode = parse_gpu_setting(self.gpus or "auto")
        if mode == "auto":
            return [g.index for g in nvml_gpus()]
        return [] if mode == "none" else list(mode)

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        self.book = LeaseBook(
            self.inventory(),
            Policy(
                max_gpus_per_user=self.max_gpus_per_user,
                max_queued_per_user=self.max_queued_per_user,
                ttl=self.lease_ttl,
                fair_share_window=self.fair_share_window * 3600,
                max_history_per_user=self.max_history_per_user,
            ),
        )
        self.store = LeaseStore(self.state_file)
        self.store.load(self.book)
        # renewals are not written down: give every held lease a full TTL for its supervisor to renew
        self.book.extend_granted(time.time())
        self.writes = RateLimiter(self.user_rate_limit, self.user_rate_burst)
        self.reads = RateLimiter(self.user_read_rate_limit, self.user_read_rate_burst)
        self.unleased: dict[int, list[GPUProcess]] = {}
        self._reported: set[tuple[int, int]] = set()
        self.hub_auth = HubAuth(cache_max_age=60)
        self.starter: ServerStarter | None = None  # made when a schedule is first due

    # the GPU processes NVML lists; tests and GPU-less deployments replace it
    process_reader: Callable[[Iterable[int]], list[GPUProcess]] = staticmethod(gpu_processes)

    def save(self) -> None:
        """Write what changed since the last save (a few rows, whatever the history)."""
        self.store.flush(self.book)

    def tick(self) -> None:
        self.book.expire(time.time())
        self.save()

    def check_gpu_uses(self) -> None:
        """Find the processes on a GPU whose OS user is not the GPU's lease holder (a free GPU: anyone's);
        log each new one, keep them for ``GET api/gpus``."""
        try:
            processes = self.process_reader(self.book.inventory)
        except Exception:
            self.log.exception("reading the GPUs' processes failed")
            return
        grants = {gpu: [Grant(lease.user)] for gpu, lease in self.book.held().items()}
        found = unleased_uses([p for p in processes if p.gpu in self.book.inventory], grants)
        self.unleased = {}
        for process in found:
            self.unleased.setdefault(process.gpu, []).append(process)
            if (process.gpu, process.pid) not in self._reported:
                holder = self.book.held().get(process.gpu)
                self.log.warning(
                    "GPU %s is used without a lease by pid %s of %s (%s)",
                    process.gpu,
                    process.pid,
                    process.user or "an unknown user",
                    f"leased to {holder.user}" if holder else "not leased",
                )
        self._reported = {(p.gpu, p.pid) for p in found}

    async def check_schedules(self) -> None:
        """Start the server of every user with a schedule due (hub/schedules.py); the server fires it."""
        now = time.time()
        for kept in self.store.due_schedules(now):
            if self.starter is None:
                api, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
                if not (api and token):
                    self.log.warning("schedules are due but this service runs outside a Hub: none is kept")
                    return
                self.starter = ServerStarter(api, token)
            message = await self.starter.ensure_running(kept.user, kept.server)
            self.log.info("schedule %s of %s: %s", kept.id, kept.user, message)
            self.store.schedule_fired(kept, next_fire_after(kept, now), message)

    def make_app(self) -> web.Application:
        prefix = "/" + self.prefix.strip("/") + "/"
        return ArbiterApp(
            [
                (rf"{prefix}api/gpus", GPUsHandler),
                (rf"{prefix}api/policy", PolicyHandler),
                (rf"{prefix}api/leases", LeasesHandler),
                (rf"{prefix}api/leases/(?P<lid>[^/]+)", LeaseHandler),
                (rf"{prefix}api/leases/(?P<lid>[^/]+)/renew", RenewHandler),
                (rf"{prefix}api/schedules", SchedulesHandler),
            ],
            arbiter=self,
            default_handler_class=NotFoundHandler,
        )

    def start(self) -> None:
        url = urlparse(self.bind_url)
        # a body past this is refused before it is read whole (a lease request is a few dozen bytes)
        self.make_app().listen(url.port or 80, url.hostname or "127.0.0.1", max_body_size=16 * MAX_BODY_BYTES)
        self.log.info(
            "jupyter-trio GPU arbiter: GPUs %s, listening on %s%s",
            self.book.inventory,
            self.bind_url,
            self.prefix,
        )
        ioloop.PeriodicCallback(self.tick, 1000).start()
        if self.schedule_check_interval > 0:
            ioloop.PeriodicCallback(self.check_schedules, self.schedule_check_interval * 1000).start()
        if self.gpu_check_interval > 0:
            self.check_gpu_uses()
            ioloop.PeriodicCallback(self.check_gpu_uses, self.gpu_check_interval * 1000).start()
        ioloop.IOLoop.current().start()


class TooMany(web.HTTPError):
    """A 429 that is not logged line by line: under a flood the log would cost the loop what the limit
    saves (the access log keeps one line per request; see ``log_request``)."""

    def __init__(self, message: str, wait: float):
        super().__init__(429)
        self.message, self.wait = message, wait


class ArbiterApp(web.Application):
    def log_request(self, handler: web.RequestHandler) -> None:
        """Tornado's access log, with refused requests of a flood (429) at debug level."""
        if handler.get_status() == 429:
            took = 1000 * handler.request.request_time()
            web.access_log.debug("429 %s %.2fms", handler._request_summary(), took)
        else:
            super().log_request(handler)


class ArbiterHandler(web.RequestHandler):
    @property
    def arbiter(self) -> TrioGPUArbiter:
        return self.settings["arbiter"]

    @property
    def book(self) -> LeaseBook:
        return self.arbiter.book

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "log_message", None) or getattr(exc, "message", None) or self._reason
        if isinstance(exc, TooMany):
            self.set_header("Retry-After", retry_after(exc.wait))
        self.finish({"error": {"status": status_code, "message": message}})

    def fail(self, status: int, message: str) -> None:
        raise web.HTTPError(status, message)

    def limit(self, user: str, *, write: bool) -> None:
        """Spend one of ``user``'s requests (writes: lease requests and releases; else reads); 429 when
        they are used up, with ``Retry-After``."""
        wait = (self.arbiter.writes if write else self.arbiter.reads).take(user, time.monotonic())
        if wait > 0:
            kind = "lease requests and releases" if write else "reads"
            raise TooMany(f"too many {kind} from {user}: try again in {wait:.1f} s", wait)

    async def caller(self, *, required: bool = True, scope: str = REQUEST_SCOPE) -> dict[str, Any] | None:
        """The Hub user behind the request's token, with ``admin`` set from the custom admin scope; a
        token without ``scope`` (or the admin scope) is refused."""
        header = self.request.headers.get("Authorization", "")
        token = header.split(None, 1)[1] if " " in header else ""
        if not token:
            if required:
                self.fail(403, f"a Hub token with the {scope} scope is required")
            return None
        model = await self.arbiter.hub_auth.user_for_token(token, sync=False)
        if not model:
            self.fail(403, "the Hub does not know this token")
        scopes = set(model.get("scopes") or [])
        admin = ADMIN_SCOPE in scopes
        if not admin and scope not in scopes:
            self.fail(403, f"this token lacks the {scope} scope")
        self.limit(model["name"], write=self.request.method in ("POST", "DELETE"))
        return {"name": model["name"], "admin": admin}

    def body(self) -> dict[str, Any]:
        if len(self.request.body) > MAX_BODY_BYTES:
            self.fail(413, f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
            self.fail(400, "the body is not JSON")
        if not isinstance(data, dict):
            self.fail(400, "the body must be a JSON object")
        return data

    def lease_view(
        self, lease, viewer: dict[str, Any] | None, *, with_secret: bool = False
    ) -> dict[str, Any]:
        out = lease.to_dict(with_secret=with_secret)
        out["position"] = self.book.queue_position(lease, time.time())
        return out

    async def find(self, lid: str, *, allow_secret: bool = True):
        """The lease and who asks: its owner, an admin, or its job's supervisor (with the lease's secret)."""
        lease = self.book.leases.get(lid) if len(lid) <= MAX_LEASE_ID_CHARS else None
        secret = self.request.headers.get(SECRET_HEADER)
        if lease is not None and allow_secret and secret:
            # headers are latin-1 text: compare bytes (compare_digest refuses non-ASCII str)
            if not hmac.compare_digest(secret.encode("latin-1", "replace"), lease.secret.encode()):
                self.fail(403, "wrong lease secret")
            return lease, None
        viewer = await self.caller()
        if lease is None or (lease.user != viewer["name"] and not viewer["admin"]):
            shown = lid if len(lid) <= MAX_LEASE_ID_CHARS else lid[:MAX_LEASE_ID_CHARS] + "..."
            self.fail(404, f"no lease {shown} of yours")  # another user's lease is not even named
        return lease, viewer


class NotFoundHandler(ArbiterHandler):
    """Any other path: a JSON 404 like every other answer."""

    def prepare(self) -> None:
        self.fail(404, f"no such route: {self.request.path[:200]}")


class GPUsHandler(ArbiterHandler):
    async def get(self) -> None:
        viewer = await self.caller()
        held = self.book.held()
        out = []
        for index in self.book.inventory:
            lease = held.get(index)
            if lease is None:
                holder, state = None, "free"
            elif lease.user == viewer["name"]:
                holder, state = lease.user, "yours"
            else:
                state = "other"
                holder = lease.user if (viewer["admin"] or self.arbiter.show_holder_names) else "another user"
            out.append(
                {
                    "index": index,
                    "state": state,
                    "user": holder,
                    "job": lease.job if state == "yours" else None,
                    "unleased": [self.process_view(p, viewer) for p in self.arbiter.unleased.get(index, [])],
                }
            )
        self.finish({"gpus": out})

    def process_view(self, process: GPUProcess, viewer: dict[str, Any]) -> dict[str, Any]:
        """A process using a GPU without its lease; its user named as holders are (else 'another user')."""
        out = process.to_dict()
        shown = viewer["admin"] or self.arbiter.show_holder_names or process.user == viewer["name"]
        if process.user and not shown:  # '' (no owner could be read for NVML's pid) stays ''
            out["user"] = "another user"
        return out


class PolicyHandler(ArbiterHandler):
    async def get(self) -> None:
        await self.caller()
        p = self.book.policy
        self.finish(
            {
                "gpus": self.book.inventory,
                "max_gpus_per_user": p.max_gpus_per_user or len(self.book.inventory),
                "max_queued_per_user": p.max_queued_per_user,
                "lease_ttl": p.ttl,
            }
        )


class LeasesHandler(ArbiterHandler):
    async def get(self) -> None:
        viewer = await self.caller()
        everyone = viewer["admin"] and self.get_argument("all", "") in ("1", "true")
        now = time.time()
        for lease in self.book.leases.values():
            if lease.user == viewer["name"] and lease.state == WAITING:
                lease.seen_at = now  # its server still wants it
        leases = [
            self.lease_view(x, viewer)
            for x in self.book.leases.values()
            if (everyone or x.user == viewer["name"])
            and (x.state not in ENDED or self.get_argument("ended", ""))
        ]
        self.finish({"leases": leases})

    async def post(self) -> None:
        viewer = await self.caller()
        try:
            asked = parse_lease_request(self.body(), max_job_chars=self.arbiter.max_job_chars)
            lease = self.book.request(viewer["name"], asked.job, asked.gpus, asked.priority, time.time())
        except (BadRequest, LeaseRefused) as exc:
            self.fail(exc.status, exc.message)
        self.arbiter.save()
        self.set_status(201 if lease.state == GRANTED else 202)
        self.finish(self.lease_view(lease, viewer, with_secret=True))


class LeaseHandler(ArbiterHandler):
    async def get(self, lid: str) -> None:
        lease, viewer = await self.find(lid)
        self.finish(
            self.lease_view(lease, viewer, with_secret=viewer is not None and viewer["name"] == lease.user)
        )

    async def delete(self, lid: str) -> None:
        """Release (the owner or its job); an admin's delete of someone else's lease revokes it."""
        lease, viewer = await self.find(lid)
        revoke = viewer is not None and viewer["admin"] and viewer["name"] != lease.user
        message = f"revoked by {viewer['name']}" if revoke else ""
        self.book.end(lease, REVOKED if revoke else RELEASED, time.time(), message)
        self.arbiter.save()
        self.finish(self.lease_view(lease, viewer))


class RenewHandler(ArbiterHandler):
    async def post(self, lid: str) -> None:
        lease, viewer = await self.find(lid)
        try:
            self.book.renew(lease, time.time())
        except LeaseRefused as exc:
            self.fail(exc.status, exc.message)
        self.finish(self.lease_view(lease, viewer))


class SchedulesHandler(ArbiterHandler):
    """A user's server hands over its schedules (``PUT``, the whole list of one server); ``GET`` lists the
    caller's (an admin's: everyone's)."""

    async def get(self) -> None:
        viewer = await self.caller(scope=SCHEDULES_SCOPE)
        kept = self.arbiter.store.schedules(None if viewer["admin"] else viewer["name"])
        self.finish({"schedules": [{"user": k.user, **k.to_dict()} for k in kept]})

    async def put(self) -> None:
        viewer = await self.caller(scope=SCHEDULES_SCOPE)
        if len(self.request.body) > MAX_SCHEDULES_BODY:
            self.fail(413, f"the body is over {MAX_SCHEDULES_BODY} bytes")
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError):
            self.fail(400, "the body is not JSON")
        if not isinstance(data, dict):
            self.fail(400, "the body must be a JSON object")
        try:
            server, kept = parse_schedules(viewer["name"], data)
        except BadRequest as exc:
            self.fail(exc.status, exc.message)
        self.arbiter.store.replace_schedules(viewer["name"], server, kept)
        self.finish({"server": server, "kept": len(kept)})


def main() -> None:
    TrioGPUArbiter.launch_instance()
