"""A job's Python interpreter started ahead of need (runs in: the job process).

A spare shim (``shim.py --spare``) starts this module next to itself: the interpreter comes up and imports
``jupyter_trio`` (the tracking API every script task reads its config and tracks through) while no run
needs it, then waits on its stdin. When the shim is handed a script task whose interpreter this one can
stand in for (same executable, ``-u``, a script path, the same start-up environment: ``shim.can_run_warm``),
it writes one JSON line ``{"argv", "cwd", "env"}``; the script then runs as ``python -u script.py`` would
run it: as ``__main__``, with ``sys.argv``, ``sys.path[0]``, the working directory and the environment of
the job, stdin at /dev/null. A short script task starts some 40 ms sooner (bench/sweep_bench.py); a job this
interpreter cannot stand in for starts cold as before, and this one exits when its stdin ends.

What differs from a cold start, and why it is safe for the jobs the shim sends here: the modules named
above are imported already (a script folder's own ``json.py`` would not shadow the standard one), and the
environment is set after start-up, which is why the shim compares every variable the interpreter or the
C library reads at start-up (``PYTHON*``, ``LD_*``, locale, ``TZ``, ``HOME``) and starts cold on any
difference.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import types

import jupyter_trio  # noqa: F401  the point of starting early: imported before the run arrives


def _read_spec() -> dict | None:
    """One line on stdin, read without buffering past it; None when stdin ends first (no run came)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def _run(argv: list[str], cwd: str, env: dict[str, str]) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # as a cold job's: the shim's pipe is done with
    os.close(devnull)
    if cwd:
        os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    script = argv[2]
    sys.argv = argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    try:
        with open(script, "rb") as fh:  # bytes: compile() honours the file's encoding declaration
            source = fh.read()
    except OSError as exc:
        why = f"[Errno {exc.errno}] {exc.strerror}"
        print(f"{sys.executable}: can't open file {script!r}: {why}", file=sys.stderr)
        sys.exit(2)
    try:
        exec(compile(source, script, "exec"), main.__dict__)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # what a cold interpreter prints: the traceback from the script down
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        # as PyErr_Print leaves them for the exit hooks (the tracking mirror's HParams read the status there)
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc.with_traceback(tb), tb
        sys.excepthook(type(exc), exc, tb)
        sys.exit(1)


def main() -> None:
    # What is loaded now lives as long as the process: out of the collector's sight (gc.freeze), the
    # collections at the job's exit skip it, which halves the interpreter's teardown (some 4 ms of each
    # short trial's turn-around, bench/sweep_bench.py); the job's own objects are collected as ever.
    gc.collect()
    gc.freeze()
    spec = _read_spec()
    if spec is None:
        return
    _run(spec["argv"], spec.get("cwd", ""), spec["env"])


if __name__ == "__main__":
    main()
