"""A run's log as a file download (pyruns's ``/logs/download``): opened once, its size and identity pinned
at that moment, and streamed from that open file by the caller, so memory stays bounded whatever its size
and a log replaced meanwhile is never mixed in."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import Conflict, NotFound, ValidationFailed
from .run_files import RunFiles
from .tasks import TaskService

# pyruns names a run's combined log "run<N>.log"; its other files (queue and error logs) have no twin here
PYRUNS_LOG = re.compile(r"run([1-9][0-9]{0,9})\.log")


@dataclass
class OpenedLog:
    """An open log: stream ``size`` bytes of ``handle`` and close it (the caller owns it)."""

    handle: BinaryIO
    filename: str  # what the download is called: "<task>--run<N>.log" as in pyruns
    size: int
    identity: str  # "<device>:<inode>" in hex: a client pins the file it saw with ?log_identity=


def log_identity(st: os.stat_result) -> str:
    return f"{st.st_dev:x}:{st.st_ino:x}"


def open_log(
    tasks: TaskService,
    run_files: RunFiles,
    name: str,
    *,
    run: int | None = None,
    stream: str = "output",
    log_file_name: str | None = None,
    expected_identity: str | None = None,
) -> OpenedLog:
    """Open run ``run``'s log (default the latest run; ``log_file_name`` "run<N>.log" names run N's
    combined log as pyruns does). 404: no such task, run or log yet; 409: the log is no longer the file
    ``expected_identity`` names. Symlinks are not followed: a job cannot make this serve another file."""
    if log_file_name is not None:
        match = PYRUNS_LOG.fullmatch(log_file_name)
        if match is None:
            raise ValidationFailed(f"log_file_name: select a run's log, 'run<N>.log'; got {log_file_name!r}")
        if run is not None or stream != "output":
            raise ValidationFailed("give log_file_name, or run and stream, not both")
        run = int(match.group(1))
    task, row = tasks.run_of(name, run)
    path = run_files.log_path(tasks.run_dir(task.id, row.run_index), stream)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"run {row.run_index} of task {task.name!r} has no {stream} log yet") from None
    except OSError as exc:  # a symlink (ELOOP), or unreadable
        raise NotFound(f"the {stream} log of run {row.run_index} of {task.name!r} cannot be read") from exc
    handle = os.fdopen(fd, "rb")
    try:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise NotFound(f"the {stream} log of run {row.run_index} of {task.name!r} is not a file")
        identity = log_identity(st)
        if expected_identity and expected_identity != identity:
            raise Conflict(
                "this log changed since it was read: read it again before downloading", code="log_changed"
            )
    except BaseException:
        handle.close()
        raise
    suffix = "" if stream == "output" else f".{stream}"
    return OpenedLog(handle, f"{task.name}--run{row.run_index}{suffix}.log", st.st_size, identity)
