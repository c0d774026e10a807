"""The entrypoint of a jupyter-trio job on Ray: ``python -m jupyter_trio.runner.ray_entry``.

``TRIO_RAY_JOB`` (JSON, set through the job's ``runtime_env``) holds what the local shim reads from
``command.json``: argv, cwd, env, plus ``shared`` (does this node see the server's workspace?) and the
server's workspace and root paths. Ray lists that spec to whoever reaches its dashboard, so it holds no
token: ``TRIO_TOKEN_CLAIM``, a one-time claim, is traded for the run's token with the server first. This
process:

1. prints ``MARKER`` — the server copies everything Ray logs after it into the run's ``output.log``;
   trades the claim for the run's token (``TRIO_TOKEN``, and ``TRIO_INGEST_TOKEN`` without a shared
   filesystem, in the job's environment only);
2. without a shared filesystem, maps the server's paths onto its copy of the inputs (Ray's
   ``working_dir``: ``workspace/`` and ``root/``), in argv, cwd, env and the frozen ``config.yaml``;
3. runs the job, passing its stdout and stderr through (Ray's job log, as valid UTF-8: Ray cannot serve a
   log with broken bytes) and, as they are, into ``stdout.log`` and ``stderr.log`` of the run folder;
4. without a shared filesystem, uploads those two logs and every new or changed file of the task's output
   folders to the server (``tracking/remote.py``);
5. exits with the job's exit code (Ray's ``driver_exit_code``).

Ray's ``stop_job`` sends SIGTERM to this process and the job together, and SIGKILL after
``RAY_JOB_STOP_WAIT_TIME_S``; this process outlives the job's SIGTERM to record what it wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MARKER = "\x1e[jupyter-trio] job starts"


@dataclass(frozen=True)
class RayJobSpec:
    """``TRIO_RAY_JOB``: what the server sends a job's entrypoint (JSON; the same keys across versions)."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    workspace: str  # the server's workspace and root folders (mapped onto the job's copy without ``shared``)
    root: str
    shared: bool = True  # does this node see the server's workspace at the same paths?
    outputs: list[str] = field(default_factory=list)  # the task's output folders (the server's paths)
    sample_s: float = 0.0  # the run's system metrics every this many seconds (0: none)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RayJobSpec:
        data = json.loads(text)
        return cls(
            argv=[str(a) for a in data["argv"]],
            cwd=str(data["cwd"]),
            env={str(k): str(v) for k, v in data["env"].items()},
            workspace=str(data.get("workspace", "")),
            root=str(data.get("root", "")),
            shared=bool(data.get("shared", True)),
            outputs=[str(f) for f in data.get("outputs") or []],
            sample_s=float(data.get("sample_s") or 0.0),
        )


class PathMap:
    """The server's workspace and root folders → this node's copies (identity with a shared fs)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        # longest prefix first: the workspace usually lies inside the root
        self.pairs = sorted(((a.rstrip("/"), b.rstrip("/")) for a, b in pairs), key=lambda p: -len(p[0]))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for server, local in self.pairs:
                if value == server or value.startswith(server + "/"):
                    return local + value[len(server) :]
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value


_SINK_LOCK = threading.Lock()


def _pump(stream, log_path: Path) -> None:
    """Copy one of the job's streams into its log file and, under one lock, to this process's stdout:
    both streams go to Ray's job log through the same file descriptor (two descriptors on Ray's one log
    file would write over each other), whole lines only, so the two streams interleave by line (an
    unbuffered job writes a line's text and its newline apart)."""
    import codecs

    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    sink = sys.stdout.buffer
    partial = b""

    def send(data: bytes, final: bool = False) -> None:
        with _SINK_LOCK:
            sink.write(text.decode(data, final=final).encode())
            sink.flush()

    with open(log_path, "ab") as log:
        for chunk in iter(lambda: stream.read1(65536), b""):
            log.write(chunk)
            log.flush()
            partial += chunk
            cut = partial.rfind(b"\n") + 1
            if cut or len(partial) > 65536:  # a very long line goes as it is
                cut = cut or len(partial)
                send(partial[:cut])
                partial = partial[cut:]
        send(partial, final=True)


def _rewrite_config(path: Path, mapping: PathMap) -> None:
    import yaml

    if path.is_file():
        data = yaml.safe_load(path.read_text()) or {}
        path.write_text(yaml.safe_dump(mapping(data), sort_keys=False, allow_unicode=True))


def run(spec: RayJobSpec) -> int:
    print(MARKER, flush=True)
    shared = spec.shared
    here = Path.cwd()
    pairs = [] if shared else [(spec.workspace, str(here / "workspace")), (spec.root, str(here / "root"))]
    # the server may name a folder by its real path (symlinks resolved) as well
    pairs += [(os.path.realpath(a), b) for a, b in pairs if os.path.realpath(a) != a]
    mapping = PathMap(pairs)
    env = os.environ.copy()
    env.pop("TRIO_RAY_JOB", None)
    env.update(mapping(spec.env))
    argv, cwd = mapping(spec.argv), mapping(spec.cwd)
    run_dir = Path(env["TRIO_RUN_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    Path(cwd).mkdir(parents=True, exist_ok=True)
    try:
        _claim_token(env, shared)
    except OSError as exc:
        message = f"[jupyter-trio] could not get this run's token from the server: {exc}"
        print(message, file=sys.stderr, flush=True)
        if not shared:  # without its token nothing the job makes could come back: fail now, not at the end
            (run_dir / "stderr.log").write_text(message + "\n")
            return 1
    if not shared:
        if env.get("TRIO_CONFIG"):
            _rewrite_config(Path(env["TRIO_CONFIG"]), mapping)
        # what is there now was staged from the server: only what the job adds or changes goes back
        _client(env, run_dir).mark_present([Path(mapping(f)) for f in spec.outputs])

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # the job got it too; wait for its end
    try:
        child = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        print(f"could not start {argv[0]!r}: {exc}", file=sys.stderr, flush=True)
        (run_dir / "stderr.log").write_text(f"could not start {argv[0]!r}: {exc}\n")
        code = 127
    else:
        pumps = [
            # daemons: a grandchild that keeps the pipes open must not keep the Ray job running
            threading.Thread(target=_pump, args=(child.stdout, run_dir / "stdout.log"), daemon=True),
            threading.Thread(target=_pump, args=(child.stderr, run_dir / "stderr.log"), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        sampler = _start_sampler(spec, env, run_dir, child.pid)
        code = child.wait()
        if sampler is not None:
            sampler.stop()
        for pump in pumps:
            pump.join(5)
    if not shared:
        _send_back(spec, env, run_dir, mapping)
    return code if code >= 0 else 128 - code


def _start_sampler(spec: RayJobSpec, env: dict[str, str], run_dir: Path, pid: int):
    """The run's system metrics, sampled on this node (``sysmetrics.py``): into the run folder with a shared
    filesystem, else sent to the server as points of a writer of their own. None when off or not possible."""
    if spec.sample_s <= 0:
        return None
    from .sysmetrics import SystemSampler

    sink = None
    if not spec.shared and env.get("TRIO_INGEST_TOKEN"):
        client = _client(env, run_dir)
        client.writer = f"sys-{client.writer}"[:100]
        sink = lambda data: client.send("metrics", data)
    gpus = [int(g) for g in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip().isdigit()]
    try:
        return SystemSampler(run_dir, pid, spec.sample_s, gpus, sink=sink).start()
    except Exception as exc:  # the job runs without its system series
        print(f"[jupyter-trio] no system metrics: {exc}", file=sys.stderr, flush=True)
        return None


def _claim_token(env: dict[str, str], shared: bool) -> None:
    """Trade the job spec's one-time claim for the run's token (``services/run_tokens.py``): the token goes
    into the job's environment (``TRIO_TOKEN``; ``TRIO_INGEST_TOKEN`` too without a shared filesystem),
    never into anything Ray lists. Raises OSError when the server cannot be reached or refuses."""
    import urllib.error
    import urllib.request

    claim = env.pop("TRIO_TOKEN_CLAIM", "")
    if not claim or not env.get("TRIO_SERVER_URL"):
        return
    base = env["TRIO_SERVER_URL"].rstrip("/")
    request = urllib.request.Request(
        f"{base}/trio/api/ingest/{env['TRIO_TASK_ID']}/{env['TRIO_RUN_INDEX']}/token",
        method="POST",
        data=b"",
        headers={"X-Trio-Run-Claim": claim},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            token = json.loads(reply.read())["token"]
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code}: {exc.read()[:300].decode(errors='replace')}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise OSError(f"unexpected reply: {exc}") from None
    env["TRIO_TOKEN"] = token
    if not shared:
        env["TRIO_INGEST_TOKEN"] = token


def _client(env: dict[str, str], run_dir: Path):
    from ..tracking.remote import IngestClient

    return IngestClient(env["TRIO_INGEST_URL"], env["TRIO_INGEST_TOKEN"], run_dir / ".published.json")


def _send_back(spec: RayJobSpec, env: dict[str, str], run_dir: Path, mapping: PathMap) -> None:
    from ..tracking.remote import IngestError

    client = _client(env, run_dir)
    workspace = Path(mapping(spec.workspace))
    folders = [run_dir / "stdout.log", run_dir / "stderr.log"]
    folders += [Path(mapping(folder)) for folder in spec.outputs]
    for folder in folders:
        if not folder.exists():
            continue
        try:
            client.publish(folder, workspace)  # a file the server refuses is reported and skipped
        except IngestError as exc:
            print(f"[jupyter-trio] could not send {folder} back: {exc}", file=sys.stderr, flush=True)


def main() -> None:
    sys.exit(run(RayJobSpec.from_json(os.environ["TRIO_RAY_JOB"])))


if __name__ == "__main__":
    main()
