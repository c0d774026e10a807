"""What every panel shares: a client (found by itself in a kernel of the server, or handed in), an error
line that shows what the server said, and live updates that stop with the panel (see live.py)."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from tornado.httpclient import HTTPRequest

from ..client import ServiceClient, TrioClientError
from ..vocabulary import CHILD_JOB_KINDS
from .i18n import Translator, translator_for
from .labels import task_kind
from .live import Live, on_events


def table(headers: list[str], rows: list[list[Any]], css_class: str = "trio-table") -> str:
    """An HTML table (values escaped)."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def newest_task(client: ServiceClient, kinds: tuple[str, ...] = (), trans: Translator | None = None) -> str:
    """The newest task (of ``kinds`` when given): what a panel built with no task shows. Child jobs of a
    training run (evaluate, export, predict, analysis) are never the default: they belong under their
    run, and following an export job would show a chart with no curves. ``trans`` words the ValueError
    when there is none."""
    items = client.call("GET", "trio/api/tasks", params={"limit": 200, "order": "desc"})["items"]
    for task in items:
        if task["kind"] in CHILD_JOB_KINDS:
            continue
        if not kinds or task["kind"] in kinds:
            return task["id"] if kinds else task["name"]
    trans = trans or Translator()
    if kinds:
        names = trans._p("list separator", ", ").join(task_kind(trans, k) for k in kinds)
        raise ValueError(trans.__("no task of kind %1 yet: create one first", names))
    raise ValueError(trans.__("no task yet: create one first"))


class Panel(w.VBox):
    """Base of the panels. ``refresh()`` reads the server once; ``live`` reads it again whenever the server
    pushes a change the panel ``wants`` (``/trio/api/events``), while the panel is shown. Its words are in
    JupyterLab's language (``self.trans``, see i18n.py); ``title`` is an English key, not shown."""

    title = "panel"

    def __init__(self, client: ServiceClient | None = None, *, live: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.client = client if client is not None else ServiceClient()
        self.trans = translator_for(self.client)
        self.error = w.HTML("", layout=w.Layout(min_height="0"))
        self._refresh_lock = threading.Lock()
        self.live = Live(self.live_target()) if live else None

    def live_target(self) -> Callable[[Callable[[], bool]], None]:
        return on_events(self.events_request, self.safe_refresh, self.wants)

    def wants(self, event: dict[str, Any]) -> bool:
        """Whether an event may change what the panel shows (default: any task change or progress)."""
        return event.get("type", "").startswith("task")

    def events_request(self, since: int | None) -> HTTPRequest:
        base = self.client.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        url = f"{base}trio/api/events" + (f"?since={since}" if since is not None else "")
        token = self.client.location.token
        return HTTPRequest(url, headers={"Authorization": f"token {token}"} if token else {})

    def compose(self, *children: w.Widget) -> None:
        extra = (self.live.heartbeat,) if self.live is not None else ()
        self.children = (*children, self.error, *extra)
        if self.live is not None:
            self.live.ensure_running()

    # ---- errors: what the server said, next to the control that asked
    def show_error(self, exc: BaseException | str | None) -> None:
        if exc is None:
            self.error.value = ""
            return
        message = getattr(exc, "message", None) or str(exc)
        self.error.value = f"<span class='trio-error' style='color:#c62828'>{html.escape(message)}</span>"

    def action(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a button handler: a client error is shown, not raised into the log."""

        def run(*args: Any) -> Any:
            try:
                result = fn(*args)
            except (TrioClientError, ValueError) as exc:  # the server's word, or a missing choice
                self.show_error(exc)
                return None
            self.show_error(None)
            self.safe_refresh()
            return result

        return run

    def refresh(self) -> None:  # overridden
        raise NotImplementedError

    def safe_refresh(self) -> None:
        if not self._refresh_lock.acquire(blocking=False):
            return  # a refresh is already under way (the live thread and a button at once)
        try:
            self.refresh()
        except TrioClientError as exc:
            self.show_error(exc)
        finally:
            self._refresh_lock.release()

    def close(self) -> None:
        if self.live is not None:
            self.live.close()
        close_tree(self)


def close_tree(widget: w.Widget) -> None:
    """Close a widget and every widget under it (ipywidgets closes only the one asked)."""
    for child in getattr(widget, "children", ()) or ():
        close_tree(child)
    for attr in ("marks", "axes"):  # bqplot figures hold marks, axes and scales
        for item in getattr(widget, attr, ()) or ():
            for scale in (getattr(item, "scales", None) or {}).values():
                scale.close()
            if hasattr(item, "scale") and item.scale is not None:
                item.scale.close()
            item.close()
    w.Widget.close(widget)
