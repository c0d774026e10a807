"""The in-job API: ``read``, ``load``, ``record``, ``track``, ``get_task_dir``, ``get_run_index``, ``init``.

Inside a job started by the runner, the environment says where the run lives (``TRIO_RUN_DIR``,
``TRIO_CONFIG``...). ``track`` and ``record`` append to files of the run folder, never over HTTP:

- each process writes its own ``metrics/<host>-<pid>.trk`` (series points, binary) and
  ``records/<host>-<pid>.jsonl`` (records), so data-parallel workers never contend or tear lines;
- points are buffered in memory and written by a background thread at least every
  ``TRIO_TRACK_FLUSH_S`` seconds (default 0.5), at exit, and on SIGTERM (the runner's cancel), so a
  ``track()`` call costs about a microsecond;
- ``track(..., flush=True)`` (or ``TRIO_TRACK_SYNC=1``) writes the point through to the operating
  system before returning: it survives the process being killed. ``TRIO_TRACK_FSYNC=1`` adds an fsync.

Outside a job ``record``/``track`` return silently; ``init(name=...)`` opens a tracked run from a
notebook instead (see :func:`init`).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

_now = time.time
from typing import Any

from . import _trackfile

__all__ = [
    "ConfigNode", "ConfigKeyError", "read", "load", "record", "track", "flush", "init", "finish",
    "get_task_dir", "get_run_index", "get_run_dir",
]


# --------------------------------------------------------------------------- configs
class ConfigKeyError(KeyError, AttributeError):
    """A config key that is not there; the message names its full dotted path."""

    def __str__(self) -> str:
        return self.args[0] if self.args else "missing config key"


class ConfigNode:
    """Nested config with attribute and item access: ``cfg.model.name`` or ``cfg["model"]["name"]``."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: dict[str, Any] | None = None, path: str = ""):
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_path", path)

    def _wrap(self, key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return ConfigNode(value, f"{self._path}.{key}" if self._path else str(key))
        if isinstance(value, list):
            return [self._wrap(f"{key}[{i}]", v) if isinstance(v, dict) else v for i, v in enumerate(value)]
        return value

    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            where = f"{self._path}.{key}" if self._path else str(key)
            known = ", ".join(map(str, self._data)) or "none"
            raise ConfigKeyError(f"config has no key {where!r} (keys here: {known})") from None
        return self._wrap(key, value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __setattr__(self, key: str, value: Any) -> None:
        self._data[key] = value.to_dict() if isinstance(value, ConfigNode) else value

    __setitem__ = __setattr__

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConfigNode):
            return self._data == other._data
        return isinstance(other, dict) and self._data == other

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._data else default

    def keys(self):
        return self._data.keys()

    def items(self):
        return [(k, self._wrap(k, v)) for k, v in self._data.items()]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._data, default=str)) if self._data else {}

    def __repr__(self) -> str:
        import yaml

        body = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None).strip()
        label = f" {self._path}" if self._path else ""
        return f"ConfigNode{label}:\n  " + body.replace("\n", "\n  ") if body != "{}" else f"ConfigNode{label}: {{}}"


_config: ConfigNode | None = None


def _default_config_path() -> Path | None:
    """``<workspace>/scripts/<script stem>/config_default.yaml`` for the script being run."""
    import sys

    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    if not script:
        return None
    for workspace in _workspace_candidates():
        candidate = workspace / "scripts" / script / "config_default.yaml"
        if candidate.is_file():
            return candidate
    return None


def _workspace_candidates() -> list[Path]:
    if os.environ.get("TRIO_WORKSPACE"):
        return [Path(os.environ["TRIO_WORKSPACE"])]
    here = Path.cwd().absolute()
    return [folder / ".trio" for folder in (here, *here.parents) if (folder / ".trio").is_dir()]


def _parse_config(path: Path) -> dict[str, Any]:
    from . import config_yaml  # imported on use (it imports yaml): `import jupyter_trio` stays cheap in jobs

    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text) if text.strip() else {}
    else:
        data = config_yaml.load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of keys to values, not {type(data).__name__}")
    return data


def read(file_path: str | os.PathLike | None = None) -> ConfigNode:
    """Read the run's config and make it the one :func:`load` returns.

    Look-up order: the config the runner gave this job (``TRIO_CONFIG``), then ``file_path``, then the
    workspace's default config of the running script. YAML and JSON are both read.
    """
    global _config
    candidates = [os.environ.get("TRIO_CONFIG"), file_path]
    for candidate in candidates:
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise FileNotFoundError(f"config file not found: {path}")
            _config = ConfigNode(_parse_config(path))
            return _config
    default = _default_config_path()
    if default is None:
        raise FileNotFoundError(
            "no config: not inside a jupyter-trio task (TRIO_CONFIG unset), no file_path given, and no "
            "workspace default config for this script"
        )
    _config = ConfigNode(_parse_config(default))
    return _config


def load() -> ConfigNode:
    """The config read by :func:`read` (read first if needed)."""
    return _config if _config is not None else read()


# --------------------------------------------------------------------------- the run
def get_run_dir() -> Path | None:
    run_dir = os.environ.get("TRIO_RUN_DIR")
    return Path(run_dir) if run_dir else (_notebook_run["run_dir"] if _notebook_run else None)


def get_task_dir() -> str | None:
    """The task's folder, or ``None`` outside a jupyter-trio run."""
    if os.environ.get("TRIO_TASK_DIR"):
        return os.environ["TRIO_TASK_DIR"]
    return str(_notebook_run["task_dir"]) if _notebook_run else None


def get_run_index() -> int | None:
    """The run slot (1, 2, ...) of this run, or ``None`` outside a jupyter-trio run."""
    if os.environ.get("TRIO_RUN_INDEX"):
        return int(os.environ["TRIO_RUN_INDEX"])
    return _notebook_run["run_index"] if _notebook_run else None


class _Writer:
    """Per-process buffered appender to ``metrics/`` and ``records/`` of one run folder.

    Points wait in per-series lists; a flush writes one binary block per series (see ``_trackfile``),
    so serialising costs no Python work per point. Records are JSON lines.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.lock = threading.Lock()
        self.io_lock = threading.Lock()
        self.pending: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self.records: list[dict] = []
        self.next_step: dict[str, int] = {}
        self.fds: dict[str, int] = {}
        self.interval = float(os.environ.get("TRIO_TRACK_FLUSH_S", "0.5"))
        self.sync = os.environ.get("TRIO_TRACK_SYNC", "") not in ("", "0")
        self.fsync = os.environ.get("TRIO_TRACK_FSYNC", "") not in ("", "0")
        self.mirror = _TensorBoardMirror.create()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="trio-track-flush", daemon=True)
        self.thread.start()

    def _fd(self, kind: str) -> int:
        fd = self.fds.get(kind)
        if fd is None:
            folder = self.run_dir / kind
            folder.mkdir(parents=True, exist_ok=True)
            suffix = _trackfile.SUFFIX if kind == "metrics" else ".jsonl"
            name = f"{socket.gethostname()}-{os.getpid()}{suffix}"
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self.fds[kind] = fd
        return fd

    def _loop(self) -> None:
        while not self.stop.wait(self.interval):
            self.flush()

    def add_point(self, key: str, value: float, step: int | None, now: float) -> None:
        with self.lock:
            buf = self.pending.get(key)
            if buf is None:
                buf = self.pending[key] = ([], [], [])
            following = self.next_step.get(key, 0)
            if step is None:
                step = following
            if step >= following:
                self.next_step[key] = step + 1
            buf[0].append(step)
            buf[1].append(value)
            buf[2].append(now)

    def add_record(self, data: dict) -> None:
        with self.lock:
            self.records.append(data)

    def flush(self) -> None:
        # One flush at a time keeps the lines in the order the points were taken; track() only waits
        # for the short swap under self.lock, never for the serialising and writing.
        with self.io_lock:
            with self.lock:
                pending, self.pending = self.pending, {}
                records, self.records = self.records, []
            if pending:
                payload = b"".join(_trackfile.encode(key, *columns) for key, columns in pending.items())
                self._write("metrics", payload)
                if self.mirror is not None:
                    self.mirror.write(pending)
            if records:
                now = time.time()
                payload = "".join(json.dumps({"t": now, "data": r}, default=str) + "\n" for r in records)
                self._write("records", payload.encode())

    def _write(self, kind: str, payload: bytes) -> None:
        fd = self._fd(kind)
        view = memoryview(payload)
        while view:  # one O_APPEND write per flush; loop only on a short write
            written = os.write(fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(fd)

    def close(self) -> None:
        self.stop.set()
        self.flush()
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()
        if self.mirror is not None:
            self.mirror.close()


class _TensorBoardMirror:
    """Mirror tracked points into TensorBoard/VisualDL event files (``TRIO_TB_DIR``), via tensorboardX."""

    def __init__(self, writer: Any):
        self.writer = writer

    @classmethod
    def create(cls) -> "_TensorBoardMirror | None":
        folder = os.environ.get("TRIO_TB_DIR")
        if not folder:
            return None
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            import warnings

            warnings.warn("TRIO_TB_DIR is set but tensorboardX is not installed "
                          "(pip install 'jupyter-trio[tensorboard]'); not mirroring", stacklevel=3)
            return None
        return cls(SummaryWriter(logdir=folder, flush_secs=1))

    def write(self, pending: dict[str, tuple[list[int], list[float], list[float]]]) -> None:
        for key, (steps, values, times) in pending.items():
            for step, value, when in zip(steps, values, times):
                self.writer.add_scalar(key, value, global_step=step, walltime=when)

    def close(self) -> None:
        self.writer.close()


_writer: _Writer | None = None
_writer_lock = threading.Lock()
_notebook_run: dict[str, Any] | None = None


def _get_writer() -> _Writer | None:
    global _writer
    if _writer is not None:
        return _writer
    run_dir = get_run_dir()
    if run_dir is None:
        return None
    with _writer_lock:
        if _writer is None:
            _writer = _Writer(run_dir)
            _install_exit_hooks()
            _flush_at_multiprocessing_exit()
    return _writer


def _flush_at_multiprocessing_exit() -> None:
    """multiprocessing workers leave through os._exit, skipping atexit: flush in its finalizers too."""
    import sys

    if "multiprocessing" in sys.modules:
        from multiprocessing import util

        util.Finalize(None, _close_writer, exitpriority=100)


def flush() -> None:
    """Write everything buffered so far (``track`` and ``record`` flush on their own, too)."""
    if _writer is not None:
        _writer.flush()


def record(data: dict[str, Any] | None = None, *, flush: bool = False, **kwargs: Any) -> None:
    """Merge key/values into this run's record (later values win). Silent outside a run."""
    payload = {**(data or {}), **kwargs}
    writer = _writer or _get_writer()
    if writer is None or not payload:
        return
    writer.add_record(payload)
    if flush or writer.sync:
        writer.flush()


def track(key: str | dict[str, float] | None = None, value: float | None = None, *,
          step: int | None = None, flush: bool = False, **kwargs: float) -> None:
    """Append points to named series: ``track(loss=0.8)``, ``track("acc", 0.91, step=3)``.

    ``step`` defaults to one more than the series' last step in this process. ``flush=True`` writes the
    point through before returning. Silent outside a run.
    """
    writer = _writer or _get_writer()
    if writer is None:
        return
    now = _now()
    if key is not None:
        if isinstance(key, dict):
            kwargs = {**key, **kwargs}
        elif value is None:
            raise TypeError("track(key, value): value is missing")
        else:
            writer.add_point(str(key), float(value), step, now)
    for name, val in kwargs.items():
        writer.add_point(name, float(val), step, now)
    if flush or writer.sync:
        writer.flush()


# --------------------------------------------------------------------------- exit handling
_hooks_installed = False
_terminating = threading.Event()


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_close_writer)
    os.register_at_fork(after_in_child=_forget_writer_after_fork)
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        # The runner's cancel may deliver SIGTERM twice (to the group, and forwarded by the shim);
        # a second one must not cut the first one's flush short.
        if _terminating.is_set():
            return
        _terminating.set()
        _close_writer()
        if callable(previous):
            previous(signum, frame)
        else:  # default action: die by SIGTERM, as the runner expects
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    if previous in (signal.SIG_DFL, None) or callable(previous):
        signal.signal(signal.SIGTERM, on_sigterm)


def _close_writer() -> None:
    global _writer
    writer, _writer = _writer, None
    if writer is not None:
        writer.close()


def _forget_writer_after_fork() -> None:
    """A forked worker starts its own files (its own pid) and does not inherit the parent's buffer."""
    global _writer, _writer_lock
    _writer = None
    _writer_lock = threading.Lock()


# --------------------------------------------------------------------------- notebook runs
def init(name: str | None = None, *, workspace: str | os.PathLike | None = None,
         config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Open a tracked run from a notebook cell (or any process the runner did not start).

    Creates a task of kind ``notebook`` in the workspace (``workspace``, else ``TRIO_WORKSPACE``, else the
    nearest ``.trio`` folder above the current directory) and a running run slot; ``track``/``record``
    then write there, and the server shows the run like any other. :func:`finish` (or process exit)
    marks it completed. Calling ``init`` again with the same name opens the task's next run slot.
    """
    global _notebook_run, _config
    if os.environ.get("TRIO_RUN_DIR"):
        raise RuntimeError("init() is for runs outside the runner; this process already is a jupyter-trio run")
    finish()
    from .services.notebook_runs import open_notebook_run

    root = Path(workspace) if workspace else next(iter(_workspace_candidates()), None)
    if root is None:
        raise FileNotFoundError("no jupyter-trio workspace found: pass workspace= or set TRIO_WORKSPACE")
    _notebook_run = open_notebook_run(root, name, config or {})
    if config is not None:
        _config = ConfigNode(config)
    _install_exit_hooks()
    atexit.register(finish)
    return {k: str(v) if isinstance(v, Path) else v for k, v in _notebook_run.items()}


def finish(status: str = "completed") -> None:
    """Close the run opened by :func:`init`: flush and mark it ``completed`` (or ``failed``...)."""
    global _notebook_run
    if _notebook_run is None:
        return
    _close_writer()
    from .services.notebook_runs import close_notebook_run

    run, _notebook_run = _notebook_run, None
    close_notebook_run(run, status)
