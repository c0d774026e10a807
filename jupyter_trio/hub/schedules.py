"""Users' schedules, kept by the Hub service so that a fire starts a stopped (or culled) server.

A user's jupyter-trio server sends its schedules (``PUT api/schedules``: id, cron, time zone, next fire)
whenever they change or fire; the service keeps them in its state file. Every ``schedule_check_interval``
seconds it looks for fires that are due: if the user's server is up it does nothing (the server fires its
own schedules); if it is stopped, it starts it through the Hub's REST API with its own token — which needs
the ``servers`` scope for that user (``servers!user=<name>``: the users who opted in) — and the server, once
up, fires the schedule itself (a fire late by less than ``c.TrioApp.schedule_misfire_grace`` runs as on
time). Then the Hub's idle culler works as it always does: the server stays while the job runs.

Runs in the Hub service process (``python -m jupyter_trio.hub``); nothing here touches a user's files.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from croniter import croniter

from .limits import BadRequest

log = logging.getLogger(__name__)

MAX_SCHEDULES_PER_SERVER = 500
MAX_SCHEDULES_BODY = 256 * 1024
ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SERVER_NAME = re.compile(r"[A-Za-z0-9_.~-]{0,255}")


@dataclass(frozen=True, slots=True)
class KeptSchedule:
    """A schedule of a user's server, as the service keeps it."""

    user: str
    server: str  # the named server ('' the default one)
    id: str
    cron: str
    timezone: str
    next_fire: float | None  # None: paused
    message: str = ""  # what the service did at its last due fire

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "id": self.id,
            "cron": self.cron,
            "timezone": self.timezone,
            "next_fire": self.next_fire,
            "message": self.message,
        }


def parse_schedules(user: str, body: dict[str, Any]) -> tuple[str, list[KeptSchedule]]:
    """``{"server": name, "schedules": [{id, cron, timezone, next_fire}]}`` → what to keep; BadRequest
    naming the first bad field."""
    server = body.get("server", "")
    if not isinstance(server, str) or not SERVER_NAME.fullmatch(server):
        raise BadRequest(400, "server: a server name ('' for the default server)")
    items = body.get("schedules")
    if not isinstance(items, list):
        raise BadRequest(400, "schedules: a list is required")
    if len(items) > MAX_SCHEDULES_PER_SERVER:
        raise BadRequest(400, f"schedules: at most {MAX_SCHEDULES_PER_SERVER} a server")
    out = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(400, f"schedules[{n}]: an object is required")
        sid, cron, zone, next_fire = (item.get(k) for k in ("id", "cron", "timezone", "next_fire"))
        if not isinstance(sid, str) or not ID.fullmatch(sid):
            raise BadRequest(400, f"schedules[{n}].id: 1 to 64 letters, digits, '.', '_' or '-'")
        if not isinstance(cron, str) or len(cron) > 200 or not croniter.is_valid(cron):
            raise BadRequest(400, f"schedules[{n}].cron: not a cron expression croniter reads")
        try:
            ZoneInfo(zone) if isinstance(zone, str) and zone else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if not isinstance(zone, str) or not zone:
            raise BadRequest(400, f"schedules[{n}].timezone: not a known time zone")
        if next_fire is not None and (isinstance(next_fire, bool) or not isinstance(next_fire, (int, float))):
            raise BadRequest(400, f"schedules[{n}].next_fire: epoch seconds or null (paused)")
        out.append(
            KeptSchedule(user, server, sid, cron, zone, None if next_fire is None else float(next_fire))
        )
    return server, out


def next_fire_after(kept: KeptSchedule, now: float) -> float:
    return float(croniter(kept.cron, datetime.fromtimestamp(now, ZoneInfo(kept.timezone))).get_next(float))


class ServerStarter:
    """Starts users' servers through the Hub's REST API with the service's own token
    (``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``; the token needs ``servers`` for those users)."""

    def __init__(self, api_url: str, token: str):
        self.api = api_url.rstrip("/")
        self.http = httpx.AsyncClient(headers={"Authorization": f"token {token}"}, timeout=30)

    async def ensure_running(self, user: str, server: str) -> str:
        """Start ``user``'s server unless it runs; what happened, in words."""
        path = f"{self.api}/users/{quote(user)}/server" + (f"s/{quote(server)}" if server else "")
        try:
            reply = await self.http.post(path, json={})
        except httpx.HTTPError as exc:
            return f"the Hub could not be reached: {exc}"
        if reply.status_code in (201, 202):
            return f"started {user}'s server{' ' + server if server else ''} for a schedule"
        if reply.status_code == 400 and "already" in reply.text:
            return "the server was running"
        if reply.status_code == 403:
            return (
                f"this service may not start {user}'s server (its role needs the servers!user={user} scope)"
            )
        return f"the Hub refused to start {user}'s server: {reply.status_code} {reply.text[:200]}"

    async def close(self) -> None:
        await self.http.aclose()
