"""Notifications when a run ends, through Apprise (issue 34) (runs in: server).

Who is told: the server's ``c.TrioApp.notify_urls`` about every run, and a task's own ``notify`` URLs about
its runs (set by the generator or ``PATCH /trio/api/tasks/{name}/notify``). An Apprise URL names a service
and its credentials (``json://host/path``, ``mailto://user:password@host``, ``slack://TokenA/TokenB/TokenC``):
it is kept in full in the store and sent to nobody; replies and log lines carry ``NotifyTarget.shown``,
Apprise's private form (``url(privacy=True)``) without the defaults it adds, header and parameter values
masked too.

Delivery never holds up the runner: its ``on_finish`` hook (``Notifier.run_finished``) only queues the
run; worker threads read the run, its task and its series summaries, compose the message and send it to
each URL through Apprise with a timeout. A failed try is logged (the URL masked) and tried again after
``retry_delays``; a full queue drops its oldest entry with a log line. Apprise's own log lines may hold a
URL's secrets, so they are not passed on: ours say what failed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from ..domain import NotifyTarget, RunState, ScheduledRun, SeriesSummary
from ..errors import ValidationFailed
from ..store import Store

log = logging.getLogger(__name__)

MAX_URLS = 20  # a task's own notify URLs
MAX_URL_LENGTH = 2048
MAX_PENDING = 1000  # runs and deliveries waiting; past it the oldest is dropped
MAX_SERIES = 8  # tracked series named in a message
MAX_MESSAGE = 1000  # characters of a failure message in a notification
DEFAULT_RETRY_DELAYS = (2.0, 10.0, 60.0)
WORKERS = 2
WIKI = "https://github.com/caronc/apprise/wiki"
# query keys Apprise reads as HTTP headers (+), URL parameters (-) and payload fields (:) of the custom
# json/form/xml targets: their values are often tokens, and privacy=True leaves them as they are
_PASSED_THROUGH = ("+", "-", ":")

_capture = threading.local()  # Apprise's log lines of the send this thread is making


class _AppriseLines(logging.Filter):
    """Keeps Apprise's records out of the logs (they may hold a URL's secrets); while a thread sends, its
    warnings are kept for that send's own (masked) log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        lines = getattr(_capture, "lines", None)
        if lines is not None and record.levelno >= logging.WARNING and len(lines) < 5:
            lines.append(record.getMessage())
        return False


_apprise_module: Any = None
_import_lock = threading.Lock()


def _apprise() -> Any:
    """Apprise, imported on first use (its plugins load on the first URL: a second or so, once)."""
    global _apprise_module
    with _import_lock:
        if _apprise_module is None:
            import apprise

            logging.getLogger("apprise").addFilter(_AppriseLines())
            _apprise_module = apprise
    return _apprise_module


def _known_schemes() -> Any:
    from apprise.manager_plugins import NotificationManager

    return NotificationManager()  # one shared registry: ``"json" in it``


def _instantiate(url: str) -> Any:
    """Apprise's plugin object for ``url``, or None when Apprise cannot make one."""
    return _apprise().Apprise.instantiate(url, suppress_exceptions=True)


def mask(plugin: Any, url: str) -> str:
    """``url`` as it may be shown: Apprise's private form (passwords, tokens and keys masked), keeping only
    the parameters the URL gave (not the defaults Apprise adds), header and parameter values masked."""
    try:
        private = urlsplit(plugin.url(privacy=True))
        given = {key for key, _ in _query(urlsplit(url).query)}
    except ValueError:  # Apprise read what urllib cannot: show the scheme alone
        return f"{url.partition('://')[0]}://****"
    kept = [
        (key, "****" if key.startswith(_PASSED_THROUGH) else value)
        for key, value in _query(private.query)
        if key in given
    ]
    query = urlencode(kept, safe="*/:@+")
    # not urlunsplit: it drops the '//' of a URL without a host (ntfy://?..., a cloud service)
    return f"{private.scheme}://{private.netloc}{private.path}" + (f"?{query}" if query else "")


def _query(query: str) -> list[tuple[str, str]]:
    # Apprise reads a '+' in a query as itself (a header key's mark), not as a space
    return parse_qsl(query.replace("+", "%2B"), keep_blank_values=True)


def check_urls(
    urls: Iterable[str], what: str = "notify", limit: int | None = MAX_URLS
) -> tuple[NotifyTarget, ...]:
    """Apprise URLs, checked (422 naming the first bad one without its secrets) and masked; repeats are
    dropped. Blocking the first time (Apprise loads its plugins)."""
    urls = list(urls)
    if limit is not None and len(urls) > limit:
        raise ValidationFailed(f"{what}: at most {limit} URLs")
    targets: list[NotifyTarget] = []
    for number, url in enumerate(urls, 1):
        if not isinstance(url, str) or not url.strip():
            raise ValidationFailed(f"{what} URL {number} is empty")
        url = url.strip()
        if len(url) > MAX_URL_LENGTH:
            raise ValidationFailed(f"{what} URL {number} is longer than {MAX_URL_LENGTH} characters")
        if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in url):
            raise ValidationFailed(f"{what} URL {number} holds a control character")
        scheme, sep, _ = url.partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            raise ValidationFailed(f"{what} URL {number} is not an Apprise URL (scheme://...; see {WIKI})")
        scheme = scheme.lower()
        _apprise()
        if scheme not in _known_schemes():
            raise ValidationFailed(
                f"{what} URL {number}: unknown notification scheme {scheme!r} (Apprise's include json://, "
                f"mailto://, slack://, workflows:// for Microsoft Teams...; see {WIKI})"
            )
        try:
            plugin = _instantiate(url)
            shown = mask(plugin, url) if plugin is not None else ""
        except Exception:  # what Apprise's own checks let through
            plugin = None
        if plugin is None:
            raise ValidationFailed(f"{what} URL {number} is not a valid {scheme}:// URL (see {WIKI})")
        if all(t.url != url for t in targets):
            targets.append(NotifyTarget(url, shown))
    return tuple(targets)


def redact(text: str, target: NotifyTarget) -> str:
    """``text`` without the parts of ``target``'s URL that its shown form hides (a password, a token)."""
    shown = target.shown
    for part in sorted(set(re.split(r"[/:@?&=#]+", target.url)), key=len, reverse=True):
        if len(part) >= 3 and part not in shown:
            text = text.replace(part, "****")
    return text


# ---- the message
@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    kind: str  # Apprise's notify type: success, failure, warning, info


_KINDS = {
    RunState.COMPLETED: "success",
    RunState.FAILED: "failure",
    RunState.INTERRUPTED: "failure",
    RunState.CANCELLED: "warning",
}


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def compose(
    task_name: str,
    run_index: int,
    status: str,
    *,
    exit_code: int | None = None,
    started_at: float | None = None,
    ended_at: float | None = None,
    message: str = "",
    series: Sequence[SeriesSummary] = (),
    link: str = "",
) -> Message:
    """The notification of a run's end: title ``<task> run <n> <status>``, and a plain-text body."""
    lines = [f"Status: {status}", f"Exit code: {'-' if exit_code is None else exit_code}"]
    if started_at is not None and ended_at is not None:
        lines.append(f"Duration: {_duration(ended_at - started_at)}")
    if status != RunState.COMPLETED:
        reason = message or ("ended without a reason" if status != RunState.CANCELLED else "")
        if reason:
            cut = reason if len(reason) <= MAX_MESSAGE else reason[: MAX_MESSAGE - 1] + "…"
            lines.append(f"{'Failure' if status != RunState.CANCELLED else 'Reason'}: {cut}")
    if series:
        lines.append("Tracked series (last, best):")
        for s in series[:MAX_SERIES]:
            step = f" at step {s.last_step}" if s.last_step is not None else ""
            lines.append(f"  {s.series}: {_number(s.last)}{step}, best {_number(s.best)}")
        if len(series) > MAX_SERIES:
            lines.append(f"  ... and {len(series) - MAX_SERIES} more")
    if link:
        lines.append(f"Open in JupyterLab: {link}")
    return Message(f"{task_name} run {run_index} {status}", "\n".join(lines), _KINDS.get(status, "info"))


def task_link(base: str, task_name: str) -> str:
    """JupyterLab at ``base`` (a server's URL, base_url included), asked to show the task."""
    if not base:
        return ""
    return f"{base.rstrip('/')}/lab?trio-task={quote(task_name, safe='')}"


# ---- the queue and its workers
@dataclass(frozen=True, slots=True)
class _Ended:
    """A run that ended: to be composed and sent to its URLs."""

    task_id: str
    run_index: int
    task_name: str


@dataclass(frozen=True, slots=True)
class _Delivery:
    """One message to one URL: ``tries`` made so far."""

    target: NotifyTarget
    message: Message
    tries: int = 0

    def describe(self) -> str:
        return f"{self.message.title!r} to {self.target.shown}"


class Notifier:
    """Tells ``targets`` (the server's URLs) and each task's own URLs when a run ends (see the module's
    docstring). ``link`` gives the server's public URL ('' when unknown) for a link to the task."""

    def __init__(
        self,
        store: Store,
        targets: Sequence[NotifyTarget] = (),
        *,
        link: Callable[[], str] = lambda: "",
        timeout_s: float = 10.0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        max_pending: int = MAX_PENDING,
        workers: int = WORKERS,
    ):
        self.store = store
        self.targets = tuple(targets)
        self.link = link
        self.timeout_s = timeout_s
        self.retry_delays = tuple(retry_delays)
        self.max_pending = max(1, max_pending)
        self.workers = max(1, workers)
        self._queue: list[tuple[float, int, _Ended | _Delivery]] = []  # (due, order, entry): a heap
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        # what happened so far (a health figure, and what the tests wait for)
        self.sent = self.failed_tries = self.given_up = self.dropped = 0

    # ---- the runner's side: never blocks
    def run_finished(self, item: ScheduledRun) -> None:
        """``Runner.on_finish`` hook: queue the run, return at once."""
        self._push(time.monotonic(), _Ended(item.run.task_id, item.run.run_index, item.task_name))

    def _push(self, due: float, entry: _Ended | _Delivery) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._queue) >= self.max_pending:
                oldest = min(range(len(self._queue)), key=lambda i: self._queue[i][1])
                _, _, dropped = self._queue.pop(oldest)
                heapq.heapify(self._queue)
                self.dropped += 1
                what = dropped.describe() if isinstance(dropped, _Delivery) else f"run {dropped.task_name}"
                log.warning("notification queue full (%d): dropped the oldest, %s", self.max_pending, what)
            heapq.heappush(self._queue, (due, next(self._order), entry))
            if len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work, name=f"trio-notify-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, wait_s: float = 1.0) -> None:
        """Stop the workers (a send under way gets ``wait_s`` to end); what still waits is not sent."""
        with self._cond:
            self._closed = True
            left, self._queue = len(self._queue), []
            self._cond.notify_all()
        if left:
            log.warning("%d notification(s) not sent: the server stopped", left)
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # ---- the workers
    def _next(self) -> _Ended | _Delivery | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    return heapq.heappop(self._queue)[2]
                self._cond.wait(self._queue[0][0] - now if self._queue else None)
            return None

    def _work(self) -> None:
        while (entry := self._next()) is not None:
            try:
                if isinstance(entry, _Ended):
                    self._compose(entry)
                else:
                    self._deliver(entry)
            except Exception:  # a worker must outlive any one notification
                log.exception("notification failed")

    def _compose(self, ended: _Ended) -> None:
        task = self.store.tasks.get(ended.task_id)
        targets = list(self.targets)
        for target in task.notify if task is not None else ():
            if all(t.url != target.url for t in targets):
                targets.append(target)
        if not targets:
            return
        run = self.store.tasks.run(ended.task_id, ended.run_index)
        if run is None:  # deleted since it ended
            message = compose(ended.task_name, ended.run_index, "ended")
        else:
            message = compose(
                task.name if task is not None else ended.task_name,
                run.run_index,
                str(run.status),
                exit_code=run.exit_code,
                started_at=run.started_at,
                ended_at=run.ended_at,
                message=run.message,
                series=self._series(run.key, str(run.status), run.ended_at) if run.started_at else (),
                link=task_link(self.link(), task.name) if task is not None else "",
            )
        now = time.monotonic()
        for target in targets:
            self._push(now, _Delivery(target, message))

    def _series(self, key: tuple[str, int], status: str, ended_at: float | None) -> list[SeriesSummary]:
        """The run's tracked series, summed up (the run table's summaries, the last points folded in)."""
        try:
            self.store.run_series.fold(key, status, ended_at)
            return self.store.run_series.summaries([key])[key]
        except Exception as exc:  # the message goes without them
            log.info("no series summaries for run %s/%s in its notification: %s", *key, exc)
            return []

    def _deliver(self, delivery: _Delivery) -> None:
        tries = delivery.tries + 1
        ok, why = self._send(delivery.target, delivery.message)
        if ok:
            with self._cond:
                self.sent += 1
            if tries > 1:
                log.info("notification %s sent (try %d)", delivery.describe(), tries)
            return
        with self._cond:
            self.failed_tries += 1
        if why is None or tries > len(self.retry_delays):
            with self._cond:
                self.given_up += 1
            why = why or "its URL no longer loads in this Apprise"
            log.error("notification %s failed %d time(s), given up: %s", delivery.describe(), tries, why)
            return
        delay = self.retry_delays[tries - 1]
        log.warning(
            "notification %s failed (try %d of %d: %s); trying again in %gs",
            delivery.describe(),
            tries,
            len(self.retry_delays) + 1,
            why,
            delay,
        )
        self._push(time.monotonic() + delay, replace(delivery, tries=tries))

    def _send(self, target: NotifyTarget, message: Message) -> tuple[bool, str | None]:
        """(sent, why not); why is None when trying again cannot help (the URL no longer loads)."""
        plugin = _instantiate(target.url)
        if plugin is None:
            return False, None
        # every plugin reads these two (an HTTP request's timeouts, SMTP's socket timeout)
        plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, self.timeout_s)
        plugin.socket_read_timeout = min(plugin.socket_read_timeout, self.timeout_s)
        _capture.lines = []
        try:
            ok = plugin.notify(body=message.body, title=message.title, notify_type=message.kind)
            why = "; ".join(_capture.lines) or "the service refused it"
        except Exception as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        finally:
            _capture.lines = None
        return bool(ok), redact(why, target) if not ok else ""
