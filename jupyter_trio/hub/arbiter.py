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
"""

from __future__ import annotations

import hmac
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth
from tornado import ioloop, web
from traitlets import Bool, Float, Int, List, Unicode, Union, default
from traitlets.config import Application

from ..runner.gpus import nvml_gpus, parse_gpu_setting
from .leases import ENDED, GRANTED, RELEASED, REVOKED, WAITING, LeaseBook, LeaseRefused, Policy

REQUEST_SCOPE = "custom:trio-gpus:request"
ADMIN_SCOPE = "custom:trio-gpus:admin"
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
    state_file = Unicode(config=True, help="Where leases are kept across restarts of the service.")
    bind_url = Unicode(config=True, help="Where to listen. Default: $JUPYTERHUB_SERVICE_URL.")
    prefix = Unicode(config=True, help="URL prefix of the routes. Default: $JUPYTERHUB_SERVICE_PREFIX.")

    aliases = {"gpus": "TrioGPUArbiter.gpus", "port": "TrioGPUArbiter.bind_url"}

    @default("state_file")
    def _default_state_file(self) -> str:
        return str(Path.cwd() / "trio-gpu-leases.json")

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
            ),
        )
        state = Path(self.state_file)
        if state.is_file():
            self.book.load_json(json.loads(state.read_text()))
            # renewals are not written down: give every held lease a full TTL for its supervisor to renew
            self.book.extend_granted(time.time())
        self.hub_auth = HubAuth(cache_max_age=60)

    def save(self) -> None:
        state = Path(self.state_file)
        tmp = state.with_name(f".{state.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the lease secrets
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(self.book.to_json()))
        os.replace(tmp, state)

    def tick(self) -> None:
        if self.book.expire(time.time()):
            self.save()

    def make_app(self) -> web.Application:
        prefix = "/" + self.prefix.strip("/") + "/"
        return web.Application(
            [
                (rf"{prefix}api/gpus", GPUsHandler),
                (rf"{prefix}api/policy", PolicyHandler),
                (rf"{prefix}api/leases", LeasesHandler),
                (rf"{prefix}api/leases/(?P<lid>[^/]+)", LeaseHandler),
                (rf"{prefix}api/leases/(?P<lid>[^/]+)/renew", RenewHandler),
            ],
            arbiter=self,
        )

    def start(self) -> None:
        url = urlparse(self.bind_url)
        self.make_app().listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info(
            "jupyter-trio GPU arbiter: GPUs %s, listening on %s%s",
            self.book.inventory,
            self.bind_url,
            self.prefix,
        )
        ioloop.PeriodicCallback(self.tick, 1000).start()
        ioloop.IOLoop.current().start()


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
        self.finish({"error": {"status": status_code, "message": message}})

    def fail(self, status: int, message: str) -> None:
        raise web.HTTPError(status, message)

    async def caller(self, *, required: bool = True) -> dict[str, Any] | None:
        """The Hub user behind the request's token, with ``admin`` set from the custom admin scope."""
        header = self.request.headers.get("Authorization", "")
        token = header.split(None, 1)[1] if " " in header else ""
        if not token:
            if required:
                self.fail(403, "a Hub token with the custom:trio-gpus:request scope is required")
            return None
        model = await self.arbiter.hub_auth.user_for_token(token, sync=False)
        if not model:
            self.fail(403, "the Hub does not know this token")
        scopes = set(model.get("scopes") or [])
        admin = ADMIN_SCOPE in scopes
        if not admin and REQUEST_SCOPE not in scopes:
            self.fail(403, f"this token lacks the {REQUEST_SCOPE} scope")
        return {"name": model["name"], "admin": admin}

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
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
        lease = self.book.leases.get(lid)
        secret = self.request.headers.get(SECRET_HEADER)
        if lease is not None and allow_secret and secret:
            if not hmac.compare_digest(secret, lease.secret):
                self.fail(403, "wrong lease secret")
            return lease, None
        viewer = await self.caller()
        if lease is None or (lease.user != viewer["name"] and not viewer["admin"]):
            self.fail(404, f"no lease {lid} of yours")  # another user's lease is not even named
        return lease, viewer


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
                }
            )
        self.finish({"gpus": out})


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
        data = self.body()
        job = str(data.get("job") or "")
        if not job:
            self.fail(422, "job: name the job this lease is for")
        try:
            gpus, priority = int(data.get("gpus", 1)), int(data.get("priority", 0))
        except (TypeError, ValueError):
            self.fail(422, "gpus and priority must be integers")
        try:
            lease = self.book.request(viewer["name"], job, gpus, priority, time.time())
        except LeaseRefused as exc:
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


def main() -> None:
    TrioGPUArbiter.launch_instance()
