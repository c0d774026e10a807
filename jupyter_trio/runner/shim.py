"""The job shim: the one process the server starts per run, in a session of its own.

``python -m jupyter_trio.runner.shim RUN_DIR`` reads ``command.json`` (argv, cwd, env; it then rewrites the
file with argv and cwd alone: the environment is not kept on disk), starts the job,
relays its stdout and stderr into ``stdout.log``, ``stderr.log`` and the combined ``output.log``, and
writes ``shim.json`` (pids, start time) when the job starts and ``exit.json`` (exit code, end time)
when it ends. Because it lives in its own session, the job outlives a server restart, and the next
server learns the result from these files.

The shim is a child subreaper: descendants that the job leaves behind (daemons, ``setsid``-ed
grandchildren) are re-parented to it, and it terminates them when the job ends, so a run never
leaves orphans. SIGTERM (the server's cancel) is passed to the job's process group and recorded;
the shim itself stays to record the exit.

This module only imports the standard library, to start fast (``python -S shim.py``). Faster still, the
server keeps a *spare* (``shim.py --spare``): started ahead of need, imported and waiting on its stdin for a
run folder, so a job's start does not wait for a Python interpreter to come up. A spare whose stdin closes
(the server went away) exits.

Fastest, the server keeps a *zygote* (``python -u shim.py --zygote``, with site-packages): an interpreter
that has imported the job's side (``warm_job.py``, and with it ``jupyter_trio``) and forks a supervisor for
each run folder it is sent, in a session of its own; that supervisor forks the job itself when the zygote's
interpreter can stand in for the job's (``can_fork_job``: a script task of the same Python with the same
start-up environment), and starts any other job cold. No interpreter starts for a sweep's trial: on two
cores, the two it took (a spare's and the job's) were most of a 50 ms trial's cost (bench/sweep_bench.py).
The zygote exits when its stdin closes; the supervisors it forked, like any, outlive it and the server.
Only one supervisor ever takes a run folder (``shim.claim``).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
LOST = (403, 404, 410)  # the arbiter no longer knows or honours the lease
LEASE_KILL_AFTER_S = 10.0  # a job told its lease is gone gets SIGTERM, then SIGKILL after this
ORPHAN_GRACE_S = 3.0
EXIT_RETRY_S = 600.0  # a full disk: keep trying to record the exit this long (the run stays running)
JOB_SIDE = "jupyter_trio.runner.warm_job"  # what the zygote imports for the jobs it forks
# what an interpreter or the C library reads once, at start-up: a warm interpreter started with other
# values cannot stand in for a cold start
STARTUP_PREFIXES = ("PYTHON", "LD_", "LC_", "MALLOC_")
STARTUP_NAMES = frozenset({"LANG", "LANGUAGE", "TZ", "HOME", "GLIBC_TUNABLES"})


class Sink:
    """The run folder's log files, written so that a failing disk (ENOSPC, EIO) never stops the shim: the
    first error is kept, later writes are dropped, and the job's last stderr bytes stay in memory so its
    exit can still say why it failed."""

    def __init__(self) -> None:
        self.error = ""
        self.stderr_tail = b""

    def write(self, fd: int, data: bytes, stderr: bool = False) -> None:
        if stderr:
            self.stderr_tail = (self.stderr_tail + data)[-4096:]
        if self.error:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            self.error = f"{exc.strerror or exc}: the job's output could not be written to the run folder"

    def last_error_line(self) -> str:
        text = self.stderr_tail.decode(errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:500] if lines else ""


def record_exit(path: Path, data: dict) -> None:
    """Write exit.json, retrying while the disk refuses (full): the run is recorded once space is back."""
    deadline = time.monotonic() + EXIT_RETRY_S
    while True:
        try:
            write_json_atomic(path, data)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def write_json_atomic(path: Path, data: dict, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data))
    os.replace(tmp, path)


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: orphans are then only caught through the process group


def _descendants() -> list[int]:
    """Pids whose parent chain leads to this shim (read from /proc; no psutil needed): from each process's
    ``children`` lists where the kernel has them (a walk of the job's few processes), else by reading every
    process's parent (a millisecond or two on a busy machine, at every run's end)."""
    me = os.getpid()
    if os.path.exists(f"/proc/{me}/task/{me}/children"):
        return _descendants_from_children(me)
    return _descendants_from_stat(me)


def _children(pid: int) -> list[int]:
    """``pid``'s child processes, from each of its threads' ``children`` list; [] once it is gone."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                found += [int(p) for p in fh.read().split()]
        except OSError:  # the thread or the process ended meanwhile
            continue
    return found


def _descendants_from_children(me: int) -> list[int]:
    found, frontier = [], [me]
    while frontier:
        children = _children(frontier.pop())
        found += children
        frontier += children
    return found


def _descendants_from_stat(me: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The comm field may hold spaces and parentheses: ppid comes after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    found, frontier = [], [me]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_leftovers() -> None:
    """SIGTERM then SIGKILL whatever the job left running below us."""
    deadline = time.monotonic() + ORPHAN_GRACE_S
    sent_term = False
    while True:
        _reap()
        left = _descendants()
        if not left:
            return
        if not sent_term:
            sig = signal.SIGTERM
            sent_term = True
        elif time.monotonic() > deadline:
            sig = signal.SIGKILL
        else:
            time.sleep(0.05)
            continue
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if sig == signal.SIGKILL:
            time.sleep(0.05)
            _reap()
            return


class LeaseKeeper:
    """Renews the run's GPU lease with the Hub's arbiter while the job runs, and releases it at the end —
    so the lease follows the job, whether or not the server that asked for it is still up. A lease the
    arbiter no longer honours (revoked by an admin, or expired) stops the job."""

    def __init__(self, lease: dict, on_lost):
        import threading

        self.url, self.secret, self.every = lease["url"], lease["secret"], float(lease.get("every", 10.0))
        self.on_lost = on_lost
        self.lost = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _send(self, method: str, path: str = "") -> int:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=b"{}" if method == "POST" else None,
            headers={"X-Trio-Lease-Secret": self.secret, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status
        except urllib.error.HTTPError as exc:
            if exc.code in LOST and not self.lost:
                try:
                    reason = json.loads(exc.read() or b"{}").get("error", {}).get("message", "")
                except ValueError:
                    reason = ""
                self.lost = reason or f"the arbiter answered {exc.code}"
            return exc.code
        except OSError:
            return 0  # the arbiter is away for a moment: the next renewal tries again

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            if self._send("POST", "/renew") in LOST and not self._stop.is_set():
                self.on_lost(self.lost)
                return

    def start(self) -> None:
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        self._thread.join(15)  # a renewal in flight finishes first: its answer is not a lost lease
        self._send("DELETE")


def _sighup_default() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # the job gets default dispositions (the shim ignores it)


WARM_ENV: dict[str, str] | None = None  # in the zygote and its forks: the start-up environment they share


class BecomeJob(BaseException):
    """Raised in a job forked from a zygote's supervisor: it unwinds to :func:`main`, which runs the job at
    the interpreter's top level, so the job ends as a cold interpreter ends."""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str]):
        super().__init__()
        self.argv, self.cwd, self.env = argv, cwd, env


class ForkedJob:
    """A job forked from this supervisor, with what :func:`run` uses of a ``Popen``."""

    def __init__(self, pid: int, stdout_fd: int, stderr_fd: int):
        self.pid = pid
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)
        self.stderr = os.fdopen(stderr_fd, "rb", buffering=0)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def can_fork_job(argv: list[str], env: dict[str, str]) -> bool:
    """True in a zygote's supervisor for ``<this python> -u <script> [args]`` with the start-up environment
    the zygote had."""
    return (
        WARM_ENV is not None
        and len(argv) >= 3
        and os.path.abspath(argv[0]) == os.path.abspath(sys.executable)
        and argv[1] == "-u"
        and not argv[2].startswith("-")
        and _startup_env(env) == _startup_env(WARM_ENV)
    )


def fork_job(argv: list[str], cwd: str, env: dict[str, str]) -> ForkedJob:
    """Fork the job: in the child, stdout and stderr become pipes to this supervisor, stdin /dev/null, every
    other descriptor closed, signals as a fresh interpreter has them; then :class:`BecomeJob` is raised."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        except BaseException:
            os._exit(127)
        raise BecomeJob(argv, cwd, env)
    os.close(out_w)
    os.close(err_w)
    return ForkedJob(pid, out_r, err_r)


def _startup_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(STARTUP_PREFIXES) or k in STARTUP_NAMES}


def claim(run_dir: Path) -> bool:
    """Take the run folder for this supervisor; False when another one has (a run starts once)."""
    try:
        os.close(os.open(run_dir / "shim.claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return False
    return True


def run(run_dir: Path) -> int:
    if not claim(run_dir):
        return 0
    spec = json.loads((run_dir / "command.json").read_text())
    # What the job runs stays on record; its environment (and a lease's secret) lives on only in this
    # process's memory: nothing that reads the run folder later sees them.
    write_json_atomic(
        run_dir / "command.json", {"argv": spec["argv"], "cwd": spec.get("cwd", "")}, mode=0o600
    )
    _become_subreaper()
    cancelled = {"flag": False}

    def on_term(signum, frame):  # the server's cancel, or anyone's SIGTERM to the shim
        if not cancelled["flag"]:
            cancelled["flag"] = True
            try:
                os.killpg(os.getpgid(0), signal.SIGTERM)  # reaches the job even if sent to us alone
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    env = dict(spec["environ"]) if "environ" in spec else os.environ.copy()
    env.update(spec.get("env", {}))
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    out_fd = os.open(run_dir / "stdout.log", flags, 0o644)
    err_fd = os.open(run_dir / "stderr.log", flags, 0o644)
    all_fd = os.open(run_dir / "output.log", flags, 0o644)
    sink = Sink()
    started = time.time()
    child: subprocess.Popen | ForkedJob | None = None
    if can_fork_job(spec["argv"], env):
        child = fork_job(spec["argv"], spec.get("cwd", ""), env)
    try:
        if child is None:
            child = subprocess.Popen(
                spec["argv"],
                cwd=spec.get("cwd") or None,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=_sighup_default,
            )
    except OSError as exc:
        message = f"could not start {spec['argv'][0]!r}: {exc}\n".encode()
        sink.write(err_fd, message)
        sink.write(all_fd, message)
        record_exit(
            run_dir / "exit.json",
            {"exit_code": 127, "ended_at": time.time(), "cancelled": False, "error": str(exc)},
        )
        return 127

    keeper = None
    if spec.get("lease"):

        def lease_lost(message: str) -> None:
            import threading

            note = f"[jupyter-trio] GPU lease lost ({message}): stopping the job\n".encode()
            sink.write(err_fd, note)
            sink.write(all_fd, note)
            on_term(signal.SIGTERM, None)

            def kill() -> None:  # the GPU is someone else's now: no waiting on a job that ignores SIGTERM
                if child.poll() is None:
                    try:
                        os.killpg(os.getpgid(0), signal.SIGKILL)
                    except ProcessLookupError:
                        pass

            timer = threading.Timer(LEASE_KILL_AFTER_S, kill)
            timer.daemon = True
            timer.start()

        keeper = LeaseKeeper(spec["lease"], lease_lost)
        keeper.start()
    try:
        write_json_atomic(
            run_dir / "shim.json",
            {
                "shim_pid": os.getpid(),
                "pgid": os.getpgid(0),
                "child_pid": child.pid,
                "started_at": started,
            },
        )
    except OSError:  # a full disk: the shim goes on without it (exit.json is what counts)
        pass
    sampler = _start_sampler(run_dir, child.pid, spec, env)
    selector = selectors.DefaultSelector()
    targets = {child.stdout.fileno(): out_fd, child.stderr.fileno(): err_fd}
    for stream in (child.stdout, child.stderr):
        os.set_blocking(stream.fileno(), False)
        selector.register(stream.fileno(), selectors.EVENT_READ)

    def pump(timeout: float) -> None:
        for key, _ in selector.select(timeout):
            fd = key.fd
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                selector.unregister(fd)
                continue
            sink.write(targets[fd], data, stderr=targets[fd] == err_fd)
            sink.write(all_fd, data)

    # Relay until the job exits; pipes may stay open after that if it left children holding them.
    while selector.get_map() and child.poll() is None:
        pump(0.2)
    exit_code = child.wait()
    if sampler is not None:
        sampler.stop()
    drain_until = time.monotonic() + 0.5
    while selector.get_map() and time.monotonic() < drain_until:
        pump(0.05)
    _kill_leftovers()
    if keeper is not None:
        keeper.release()
    drain_until = time.monotonic() + 1.0
    while selector.get_map() and time.monotonic() < drain_until:
        pump(0.05)
    error = f"GPU lease lost: {keeper.lost}" if keeper is not None and keeper.lost else ""
    if sink.error:  # a full disk: say so, with the job's own last word if it failed
        last = sink.last_error_line() if exit_code else ""
        error = sink.error + (f"; the job's last error line: {last}" if last else "")
    record_exit(
        run_dir / "exit.json",
        {
            "exit_code": exit_code,
            "ended_at": time.time(),
            "cancelled": cancelled["flag"],
            **({"error": error} if error else {}),
        },
    )
    return exit_code


SAMPLER_DELAY_S = 0.5  # the sampler loads after the launch's busiest half second (bench/sysmetrics_bench.py)


class _DeferredSampler:
    """The run's sampler, loaded and started ``SAMPLER_DELAY_S`` after the job, on a thread: loading it
    (about 10 ms of CPU) right at the start made a launch 1.5-2.4 ms slower on two cores busy starting the
    job and the next spare. It counts the job's processes from zero, so the late start loses nothing; a job
    that ends sooner has no system series."""

    def __init__(self, start: Callable[[], object]):
        import threading

        self._start, self._sampler = start, None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trio-sampler-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if not self._stopped.wait(SAMPLER_DELAY_S):
            self._sampler = self._start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        if self._sampler is not None:
            self._sampler.stop()


def _start_sampler(run_dir: Path, pid: int, spec: dict, env: dict[str, str]):
    """The run's system metrics (``sysmetrics.py``) every ``sample_s`` seconds; None when off (0). Loaded
    by a thread after the job started: a shim that samples nothing never loads it."""
    interval = float(spec.get("sample_s") or 0)
    if interval <= 0:
        return None
    since = time.monotonic()
    return _DeferredSampler(lambda: _load_sampler(run_dir, pid, interval, env, since))


def _load_sampler(run_dir: Path, pid: int, interval: float, env: dict[str, str], since: float):
    try:
        import importlib.util

        # loaded from its file beside this one (it is standard library only, like this module)
        found = importlib.util.spec_from_file_location(
            "_trio_sysmetrics", Path(__file__).with_name("sysmetrics.py")
        )
        assert found is not None and found.loader is not None
        sysmetrics = importlib.util.module_from_spec(found)
        found.loader.exec_module(sysmetrics)
        gpus = [int(g) for g in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip().isdigit()]
        return sysmetrics.SystemSampler(run_dir, pid, interval, gpus, since=since).start()
    except Exception:  # the job runs without its system series
        return None


def wait_as_spare() -> Path | None:
    """The spare's wait: one line on stdin names the run folder; end of file (no server) means none."""
    line = sys.stdin.buffer.readline().decode().strip()
    if not line:
        return None
    run_dir = Path(line)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the server's pipe is done with: nothing the job starts inherits it
    os.close(devnull)
    try:
        err = os.open(run_dir / "shim.err", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(err, 2)  # from here on, the shim's own errors go where a cold-started shim's go
        os.close(err)
    except OSError:
        pass
    return run_dir


def _leave() -> None:
    """End the shim once exit.json is written, without the interpreter's teardown: the shim writes through
    file descriptors and has nothing left to flush but its own stdout and stderr, and the teardown of its
    modules (some 7 ms on two busy cores) stood between a job's end and the server hearing of it (the
    pidfd), on every trial of a sweep (bench/sweep_bench.py)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def serve_as_zygote() -> None:
    """The zygote's loop: import the jobs' side, then fork a supervisor for each run folder read on stdin
    and answer its pid; end when stdin ends."""
    global WARM_ENV
    import importlib

    importlib.import_module(JOB_SIDE)
    WARM_ENV = dict(os.environ, PYTHONUNBUFFERED="1")
    gc.collect()
    gc.freeze()  # what is loaded now lives as long as the forks: out of the collector's sight
    signal.signal(signal.SIGCHLD, _reap_forks)
    os.write(1, b"ready\n")
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = os.read(0, 4096)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        run_dir = Path(line.decode())
        pid = os.fork()
        if pid == 0:
            try:
                _supervise_fork(run_dir)
            except BecomeJob:
                raise
            except BaseException:
                import traceback

                traceback.print_exc()
                os._exit(1)
            _leave()
        os.write(1, f"{pid}\n".encode())


def _reap_forks(signum: int, frame: object) -> None:
    """The zygote's supervisors end as its children: reaped, so none lingers as a zombie."""
    _reap()


def _supervise_fork(run_dir: Path) -> None:
    """In a supervisor forked from the zygote: a session of its own, off the zygote's pipes, then the run."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        err = os.open(run_dir / "shim.err", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(err, 2)
        os.close(err)
    except OSError:
        pass
    run(run_dir)


def main() -> None:
    if sys.argv[1:2] == ["--zygote"]:
        job = None
        try:
            serve_as_zygote()
        except BecomeJob as become:  # in a job forked by one of the zygote's supervisors
            job = (become.argv, become.cwd, become.env)
        if job is not None:  # outside the handler: the job's own errors carry no context of ours
            sys.modules[JOB_SIDE].run_job(*job)
        return
    if sys.argv[1:2] == ["--spare"]:
        run_dir = wait_as_spare()
        if run_dir is not None:
            run(run_dir)
            _leave()
        return
    if len(sys.argv) != 2:
        print("usage: python -m jupyter_trio.runner.shim RUN_DIR | --spare | --zygote", file=sys.stderr)
        sys.exit(2)
    run(Path(sys.argv[1]))  # the job's exit code is in exit.json; the shim itself always succeeds
    _leave()


if __name__ == "__main__":
    main()
