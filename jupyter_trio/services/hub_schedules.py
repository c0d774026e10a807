"""On JupyterHub: hand this server's schedules to the jupyter-trio Hub service, which starts the server when
one of them is due while it is stopped or culled (``hub/schedules.py``).

The whole list (id, cron, time zone, next fire; a paused one without a next fire) is sent with
``PUT api/schedules`` after any schedule changes or fires, and once at start-up, by a worker thread: a
slow or absent service never holds the event loop or a request. The server's Hub token must hold the
``custom:trio-schedules`` scope (the user's consent) and ``read:services!service=<service>`` to find it.
"""

from __future__ import annotations

import logging
import os
import threading

import httpx

from ..store import Store

log = logging.getLogger(__name__)

RETRY_S = 10.0  # after a failed hand-over, try again this much later


class HubScheduleMirror:
    def __init__(self, store: Store, service: str, *, api_url: str, token: str, server: str = ""):
        self.store = store
        self.service = service
        self.api_url = api_url.rstrip("/")
        self.server = server
        self.http = httpx.Client(
            headers={"Authorization": f"token {token}"}, timeout=httpx.Timeout(10.0, connect=3.0)
        )
        self.base: str | None = None
        self.sent = 0  # hand-overs the service took (tests and logs read it)
        self.last_error = ""
        self._wake = threading.Event()
        self._closed = False
        self._worker = threading.Thread(target=self._work, daemon=True, name="trio-hub-schedules")
        store.schedules.on_change.append(lambda _id: self._wake.set())
        self._wake.set()  # the list as it is now, once at start-up
        self._worker.start()

    @classmethod
    def from_environment(cls, store: Store, service: str) -> HubScheduleMirror | None:
        """The mirror of a server the Hub spawned (``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``);
        None elsewhere, or when ``service`` is empty."""
        api, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
        if not (service and api and token):
            return None
        return cls(
            store, service, api_url=api, token=token, server=os.environ.get("JUPYTERHUB_SERVER_NAME", "")
        )

    def payload(self) -> dict:
        return {
            "server": self.server,
            "schedules": [
                {
                    "id": s.id,
                    "cron": s.cron,
                    "timezone": s.timezone,
                    "next_fire": None if s.paused else s.next_fire,
                }
                for s in self.store.schedules.list()
            ],
        }

    def _discover(self) -> str:
        reply = self.http.get(f"{self.api_url}/services/{self.service}")
        reply.raise_for_status()
        model = reply.json()
        return model["url"].rstrip("/") + model.get("prefix", f"/services/{self.service}/")

    def _send(self) -> None:
        if self.base is None:
            self.base = self._discover().rstrip("/") + "/"
        reply = self.http.put(self.base + "api/schedules", json=self.payload())
        if reply.status_code >= 400:
            raise RuntimeError(f"{reply.status_code} {reply.text[:300]}")
        self.sent += 1

    def _work(self) -> None:
        while not self._closed:
            self._wake.wait()
            if self._closed:
                return
            self._wake.clear()
            try:
                self._send()
                self.last_error = ""
            except Exception as exc:  # the service is down, or this token may not hand schedules over
                if str(exc) != self.last_error:
                    log.warning(
                        "jupyter-trio: the Hub service %r does not keep this server's schedules (%s); they "
                        "fire only while this server runs",
                        self.service,
                        exc,
                    )
                self.last_error = str(exc)
                self._wake.wait(RETRY_S)
                self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._worker.join(timeout=5)
        self.http.close()
