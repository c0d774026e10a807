"""The job's half of a warm start (runs in: the job process, forked from the zygote's supervisor).

The zygote (``shim.py --zygote``, started once by the server) imports this module, and with it
``jupyter_trio`` (the tracking API every script task reads its config and tracks through), then forks a
supervisor per run; the supervisor forks the job. A script task the zygote's interpreter can stand in for
(same executable, ``-u``, a script path, the same start-up environment: ``shim.can_fork_job``) runs in that
fork through :func:`run_job`, as ``python -u script.py`` would run it: as ``__main__``, with ``sys.argv``,
``sys.path[0]``, the working directory and the environment of the job, stdin at /dev/null. No interpreter
starts for it, which on two busy cores is most of a short trial's cost (bench/sweep_bench.py); a job the
zygote cannot stand in for starts cold under its supervisor.

What differs from a cold start, and why it is safe for the jobs sent here: the modules named above are
imported already (a script folder's own ``json.py`` would not shadow the standard one), and the environment
is set after start-up, which is why the shim compares every variable the interpreter or the C library reads
at start-up (``PYTHON*``, ``LD_*``, locale, ``TZ``, ``HOME``) and starts cold on any difference. What the
zygote loaded is frozen out of the collector's sight (``gc.freeze``): the collections at the job's exit skip
it, which halves the interpreter's teardown.
"""

from __future__ import annotations

import os
import sys
import types

import jupyter_trio  # noqa: F401  the point of the zygote: imported before any run arrives


def run_job(argv: list[str], cwd: str, env: dict[str, str]) -> None:
    """Run ``argv`` (``python -u script.py args``) here, as ``__main__``; called at the interpreter's top
    level, so the job then ends as a cold interpreter ends (exit hooks, flushes, the exit code). Its
    descriptors and signals are set already (``shim.fork_job``)."""
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
