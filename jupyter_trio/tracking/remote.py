"""Sending a job's data to the server when the job cannot write the run folder (a Ray worker without the
workspace's filesystem): ``TRIO_INGEST_URL`` (the run's ingest route) and ``TRIO_INGEST_TOKEN`` (its run
token) are then set, and ``track``/``record`` post their buffered blocks there instead of appending to
local files; ``publish`` uploads output files (checkpoints, exports) as they are saved.

Only the standard library (``urllib``): this runs inside the job. A write carries the writer's byte offset,
so a retry after a lost reply or a server restart neither loses nor repeats data; what cannot be sent yet
stays queued and goes with the next flush (at exit, retries go on for ``TRIO_INGEST_CLOSE_S`` seconds).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from pathlib import Path

CHUNK = 8 << 20  # file uploads go in chunks of this size
MAX_PENDING = 256 << 20  # points and records kept while the server is away, per kind
TIMEOUT_S = 10.0


class IngestError(OSError):
    """A send that did not land; ``retry``: worth trying again (network, a restarting or busy server), not
    a refusal (4xx) that would only be refused again."""

    def __init__(self, message: str, retry: bool):
        super().__init__(message)
        self.retry = retry


def configured() -> bool:
    return bool(os.environ.get("TRIO_INGEST_URL") and os.environ.get("TRIO_INGEST_TOKEN"))


def writer_name() -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{socket.gethostname()}-{os.getpid()}")[:100]


class IngestClient:
    def __init__(self, url: str | None = None, token: str | None = None, manifest: Path | None = None):
        self.url = (url or os.environ["TRIO_INGEST_URL"]).rstrip("/")
        self.token = token or os.environ["TRIO_INGEST_TOKEN"]
        self.writer = writer_name()
        self.sent: dict[str, int] = {}  # bytes of each kind's file the server holds
        self.pending: dict[str, list[bytes]] = {}
        # file → [size, mtime_ns] as last uploaded (or as staged: inputs are not sent back), kept in a file
        # of the run folder that every process of the job shares, so no checkpoint is sent twice
        self.manifest = manifest
        self.published: dict[str, list[int]] = {}

    def _load_manifest(self) -> None:
        if self.manifest is not None:
            try:
                self.published = json.loads(self.manifest.read_text())
            except (OSError, ValueError):
                pass

    def _save_manifest(self) -> None:
        if self.manifest is not None:
            tmp = self.manifest.with_name(f".{self.manifest.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.published))
            os.replace(tmp, self.manifest)

    @staticmethod
    def _files(folder: Path) -> list[Path]:
        if folder.is_file():
            return [folder]
        return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))

    def mark_present(self, folders: list[Path]) -> None:
        """Count the files now in ``folders`` as sent (the job's inputs, staged from the server)."""
        self._load_manifest()
        for folder in folders:
            if folder.exists():
                for path in self._files(folder):
                    stat = path.stat()
                    self.published[str(path)] = [stat.st_size, stat.st_mtime_ns]
        self._save_manifest()

    def _request(self, method: str, path: str, query: dict, body: bytes) -> dict:
        import urllib.error  # here, not at import: only jobs without a shared filesystem send
        import urllib.parse
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}/{path}?{urllib.parse.urlencode(query)}",
            data=body,
            method=method,
            headers={"X-Trio-Run-Token": self.token, "Content-Type": "application/octet-stream"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
                return json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
            except ValueError:
                payload = {}
            if exc.code == 409 and "received" in payload:
                return {"mismatch": int(payload["received"])}
            message = payload.get("error", {}).get("message") or str(exc)
            raise IngestError(
                f"the server answered {exc.code} to {path}: {message}", exc.code >= 500
            ) from None
        except (OSError, ValueError) as exc:
            raise IngestError(f"the server is not reachable: {exc}", True) from None

    # ---- points and records
    def send(self, kind: str, payload: bytes) -> bool:
        """Queue ``payload`` (whole blocks or lines) and send everything queued, in order; False when some
        of it must wait for the next try."""
        queue = self.pending.setdefault(kind, [])
        queue.append(payload)
        while sum(len(p) for p in queue) > MAX_PENDING and len(queue) > 1:
            lost = queue.pop(0)
            print(f"[jupyter-trio] server away: dropped {len(lost)} bytes of {kind}", file=sys.stderr)
        return self.drain(kind)

    def drain(self, kind: str) -> bool:
        queue = self.pending.get(kind, [])
        while queue:
            body = queue[0]
            offset = self.sent.get(kind, 0)
            try:
                reply = self._request("POST", kind, {"writer": self.writer, "offset": offset}, body)
            except IngestError:
                return False
            if "mismatch" in reply:  # the server holds a different amount: resume from there
                self.sent[kind] = reply["mismatch"]
                if reply["mismatch"] == offset + len(body):
                    queue.pop(0)
                continue
            self.sent[kind] = int(reply["received"])
            queue.pop(0)
        return True

    def close(self, kinds: tuple[str, ...] = ("metrics", "records")) -> None:
        deadline = time.monotonic() + float(os.environ.get("TRIO_INGEST_CLOSE_S", "60"))
        pause = 0.2
        while any(self.pending.get(k) for k in kinds):
            if all(self.drain(k) for k in kinds):
                return
            if time.monotonic() > deadline:
                left = sum(len(p) for k in kinds for p in self.pending.get(k, []))
                print(f"[jupyter-trio] could not send {left} bytes of points to the server", file=sys.stderr)
                return
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    # ---- files
    def upload(self, path: Path, target: str) -> None:
        """Upload one file to ``target`` (relative to the workspace), in chunks; put in place at the end."""
        size = path.stat().st_size
        with open(path, "rb") as fh:
            offset = 0
            while True:
                data = fh.read(CHUNK)
                final = offset + len(data) >= size
                query = {"path": target, "offset": offset, "final": "true" if final else "false"}
                reply = self._retrying("PUT", "files", query, data)
                if "mismatch" in reply:
                    offset = reply["mismatch"]
                    fh.seek(offset)
                    continue
                offset += len(data)
                if final:
                    return

    def _retrying(self, method: str, path: str, query: dict, body: bytes) -> dict:
        deadline = time.monotonic() + float(os.environ.get("TRIO_INGEST_CLOSE_S", "60"))
        pause = 0.2
        while True:
            try:
                return self._request(method, path, query, body)
            except IngestError as exc:
                if not exc.retry or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def publish(self, folder: Path, workspace: Path) -> int:
        """Upload the files under ``folder`` (a path in the job's copy of the workspace) that are new or
        changed since the last call; returns how many went. A file the server refuses is reported on
        stderr and skipped; a server that stays away raises ``IngestError``."""
        folder, workspace = Path(folder), Path(workspace)
        self._load_manifest()
        count = 0
        for path in self._files(folder):
            stat = path.stat()
            mark = [stat.st_size, stat.st_mtime_ns]
            if self.published.get(str(path)) == mark:
                continue
            try:
                target = path.relative_to(workspace).as_posix()
                self.upload(path, target)
            except ValueError:
                print(f"[jupyter-trio] not sent: {path} is outside the workspace copy", file=sys.stderr)
            except IngestError as exc:
                if exc.retry:
                    raise
                print(f"[jupyter-trio] not sent: {path}: {exc}", file=sys.stderr)
            else:
                count += 1
            self.published[str(path)] = mark
            self._save_manifest()
        return count


_client: IngestClient | None = None


def client() -> IngestClient | None:
    """The process's ingest client, when the job has no shared filesystem; ``None`` otherwise."""
    global _client
    if _client is None and configured():
        run_dir = os.environ.get("TRIO_RUN_DIR")
        _client = IngestClient(manifest=Path(run_dir) / ".published.json" if run_dir else None)
    return _client


def publish(folder: str | Path) -> None:
    """Send the files of ``folder`` (checkpoints, an export) back to the server now, when this job has no
    filesystem shared with it (Ray without a shared filesystem); a no-op when it writes the workspace
    itself. The job's supervisor sends whatever is left when the job ends."""
    sender = client()
    workspace = os.environ.get("TRIO_WORKSPACE")
    if sender is None or not workspace:
        return
    try:
        sender.publish(Path(folder), Path(workspace))
    except IngestError as exc:  # the job goes on; what did not go now goes when it ends
        print(f"[jupyter-trio] {folder} not sent yet: {exc}", file=sys.stderr, flush=True)
