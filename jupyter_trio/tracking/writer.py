"""Writing tracked points and records: ``track``, ``record``, ``flush`` — buffered in the process and
appended to the run folder by a background thread (see the package docstring for the guarantees)."""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from .. import _trackfile
from . import remote
from .run import get_run_dir

_now = time.time


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
        # a job without the run folder's filesystem sends its blocks to the server instead (remote.py)
        self.remote = remote.client()
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
        if self.remote is not None:
            self.remote.send(kind, payload)  # what cannot go now is kept and goes with the next flush
            return
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
        if self.remote is not None:
            with self.io_lock:  # not while a flush of the background thread sends
                self.remote.close()
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()
        if self.mirror is not None:
            self.mirror.close()


class _TensorBoardMirror:
    """Mirror tracked points into TensorBoard/VisualDL event files (``TRIO_TB_DIR``), via tensorboardX.

    At the end of the run the same event file gets the run's HParams (see :meth:`write_hparams`), so
    TensorBoard's HParams dashboard lists the run: its config, flattened, beside the last value of each
    series mirrored here.
    """

    def __init__(self, writer: Any):
        self.writer = writer
        self.started = time.time()

    @classmethod
    def create(cls) -> _TensorBoardMirror | None:
        folder = os.environ.get("TRIO_TB_DIR")
        if not folder:
            return None
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            import warnings

            warnings.warn(
                "TRIO_TB_DIR is set but tensorboardX is not installed "
                "(pip install 'jupyter-trio[tensorboard]'); not mirroring",
                stacklevel=3,
            )
            return None
        # one event file per process: tensorboardX names it by the second and the host only, and
        # data-parallel workers starting within the same second would truncate each other's file
        return cls(SummaryWriter(logdir=folder, flush_secs=1, filename_suffix=f".{os.getpid()}"))

    def write(self, pending: dict[str, tuple[list[int], list[float], list[float]]]) -> None:
        for key, (steps, values, times) in pending.items():
            for step, value, when in zip(steps, values, times):
                self.writer.add_scalar(key, value, global_step=step, walltime=when)

    def write_hparams(self) -> None:
        """Write the run's config as a TensorBoard HParams session into this run folder.

        TensorBoard's HParams plugin reads a session from one run folder: its ``session_start_info``
        (the hyperparameters) and ``session_end_info`` (status, end time) summaries, and takes each
        metric's value as the last point of that scalar series in the same folder — the series mirrored
        here, so no metric is written twice. No ``experiment`` summary is written: TensorBoard then
        builds the table's columns from the sessions of every run under its logdir, where a per-run
        experiment summary would make it show one run's columns only.
        """
        if not _writes_hparams():
            return
        config = _run_config()
        if not config:
            return
        from tensorboardX.proto.api_pb2 import Status

        hparams = _flatten_hparams(config)
        status = Status.STATUS_FAILURE if _ended_badly() else Status.STATUS_SUCCESS
        for summary in _hparams_summaries(hparams, self.started, time.time(), status):
            self.writer.file_writer.add_summary(summary)

    def close(self) -> None:
        try:
            self.write_hparams()
        except Exception as exc:  # the mirror is a convenience: it never fails the job
            import logging

            logging.getLogger(__name__).warning("TensorBoard HParams not written to TRIO_TB_DIR: %r", exc)
        finally:
            self.writer.close()


def _writes_hparams() -> bool:
    """Whether this process is the run's main one: workers (multiprocessing children, forked processes,
    data-parallel ranks other than 0) mirror their points but leave the run's HParams to it."""
    import sys

    if _forked:
        return False
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        return False
    return all(os.environ.get(name, "0") == "0" for name in ("RANK", "PADDLE_TRAINER_ID"))


def _run_config() -> dict[str, Any] | None:
    """The config this run read (``trio.read``/``load``, ``init(config=...)``), else the runner's
    ``TRIO_CONFIG`` if there is one; ``None`` without a config."""
    from . import config

    if config._config is not None:
        return config._config.to_dict()
    path = os.environ.get("TRIO_CONFIG")
    if not path or not Path(path).is_file():
        return None
    return config._parse_config(Path(path))


def _flatten_hparams(config: dict[str, Any], prefix: str = "") -> dict[str, bool | float | str]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``: numbers, strings and bools as they
    are (what an HParams value holds), anything else (lists, ``None``, NaN and infinities, which the
    dashboard's JSON cannot carry) as its string."""
    flat: dict[str, bool | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten_hparams(value, f"{name}."))
        elif isinstance(value, (bool, str)):
            flat[name] = value
        elif isinstance(value, (int, float)) and abs(value) < 1e300:
            flat[name] = float(value)
        else:
            flat[name] = str(value)
    return flat


def _ended_badly() -> bool:
    """A cancelled job (SIGTERM), or a job leaving on an uncaught exception (the interpreter keeps it in
    ``sys.last_value`` before the exit hooks run; a kernel keeps its cells' errors there too, so only
    for jobs)."""
    import sys

    if _terminating.is_set():
        return True
    return bool(os.environ.get("TRIO_RUN_DIR")) and getattr(sys, "last_value", None) is not None


def _hparams_summaries(
    hparams: dict[str, bool | float | str], started: float, ended: float, status: int
) -> list[Any]:
    """The ``session_start_info`` and ``session_end_info`` summaries of TensorBoard's HParams plugin
    (``tensorboard/plugins/hparams/metadata.py``), as ``tensorboard.plugins.hparams.summary_v2`` writes
    them: an empty float tensor whose summary metadata carries the plugin data."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.types_pb2 import DT_FLOAT

    start = SessionStartInfo(start_time_secs=started)
    for name, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
        elif isinstance(value, float):
            start.hparams[name].number_value = value
        else:
            start.hparams[name].string_value = value
    end = SessionEndInfo(status=status, end_time_secs=ended)
    empty = TensorProto(dtype=DT_FLOAT, tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=0)]))
    summaries = []
    for tag, data in (
        ("_hparams_/session_start_info", HParamsPluginData(version=0, session_start_info=start)),
        ("_hparams_/session_end_info", HParamsPluginData(version=0, session_end_info=end)),
    ):
        plugin = SummaryMetadata.PluginData(plugin_name="hparams", content=data.SerializeToString())
        value = Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin), tensor=empty)
        summaries.append(Summary(value=[value]))
    return summaries


_writer: _Writer | None = None
_writer_lock = threading.Lock()


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
            install_exit_hooks()
            _flush_at_multiprocessing_exit()
    return _writer


def _flush_at_multiprocessing_exit() -> None:
    """multiprocessing workers leave through os._exit, skipping atexit: flush in its finalizers too."""
    import sys

    if "multiprocessing" in sys.modules:
        from multiprocessing import util

        util.Finalize(None, close_writer, exitpriority=100)


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


def track(
    key: str | dict[str, float] | None = None,
    value: float | None = None,
    *,
    step: int | None = None,
    flush: bool = False,
    **kwargs: float,
) -> None:
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


_hooks_installed = False
_terminating = threading.Event()
_forked = False  # a fork of a process that tracked (see _writes_hparams)


def install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(close_writer)
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
        close_writer()
        if callable(previous):
            previous(signum, frame)
        else:  # default action: die by SIGTERM, as the runner expects
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    if previous in (signal.SIG_DFL, None) or callable(previous):
        signal.signal(signal.SIGTERM, on_sigterm)


def close_writer() -> None:
    global _writer
    writer, _writer = _writer, None
    if writer is not None:
        writer.close()


def _forget_writer_after_fork() -> None:
    """A forked worker starts its own files (its own pid) and does not inherit the parent's buffer."""
    global _writer, _writer_lock, _forked
    _writer = None
    _forked = True
    _writer_lock = threading.Lock()
