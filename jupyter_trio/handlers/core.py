"""Health, the OpenAPI document, and workspace files (read anywhere, write under uploads/)."""

from __future__ import annotations

import mimetypes
import os
import uuid
from pathlib import Path

from .._version import __version__
from ..errors import Forbidden, NotFound
from ..schemas.native import DirectoryListing, FileEntry, FileWritten, GPUInfo, HealthReply, TrainingAvailability
from .base import TrioHandler, operation
from .openapi import build_openapi

CHUNK = 64 * 1024
WRITABLE_ROOT = "uploads"


class HealthHandler(TrioHandler):
    @operation("Server version, current user, workspace, schema version and GPUs", response=HealthReply)
    def get(self) -> None:
        self.store.users.touch(self.username, getattr(self.current_user, "display_name", ""))
        app = self.trio
        self.reply(
            HealthReply(
                version=__version__,
                user=self.username,
                workspace=str(self.store.root),
                schema_version=self.store.schema_version,
                gpus=[GPUInfo(**g.to_dict()) for g in app.gpu_list],
                executor=app.executor,
                max_cpu_jobs=app.max_cpu_jobs,
                training=TrainingAvailability(**app.trainer.status().to_dict()),
            )
        )


class OpenAPIHandler(TrioHandler):
    @operation("This OpenAPI document")
    def get(self) -> None:
        self.reply(build_openapi(self.trio.route_table()))


class FilesHandler(TrioHandler):
    """Workspace artifacts: logs, images, checkpoints, exports. Paths are relative to the workspace."""

    def _target(self, path: str) -> Path:
        target = self.store.resolve(path)
        if target.name.startswith(self.store.layout.DB_FILE) and target.parent == self.store.root:
            raise Forbidden("the workspace database is not served as a file", code="forbidden")
        return target

    @operation("Download a workspace file, or list a workspace folder", response=DirectoryListing,
               tag="files")
    async def get(self, path: str = "") -> None:
        target = self._target(path)
        if target.is_dir():
            entries = []
            for child in sorted(target.iterdir(), key=lambda p: p.name):
                if child.parent == self.store.root and child.name.startswith(self.store.layout.DB_FILE):
                    continue
                st = child.stat()
                entries.append(FileEntry(name=child.name, path=self.store.layout.relative(child),
                                         is_dir=child.is_dir(), size=st.st_size, modified=st.st_mtime))
            self.reply(DirectoryListing(path=self.store.layout.relative(target), entries=entries))
            return
        if not target.is_file():
            raise NotFound(f"no such file in the workspace: {path}")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.set_header("Content-Type", ctype)
        self.set_header("Content-Length", str(target.stat().st_size))
        with open(target, "rb") as fh:
            while chunk := fh.read(CHUNK):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type=ctype)

    def _writable(self, path: str) -> Path:
        target = self._target(path)
        uploads = self.store.root / WRITABLE_ROOT
        if target == uploads or uploads.resolve() not in target.parents:
            raise Forbidden(f"files can only be written under {WRITABLE_ROOT}/ of the workspace",
                            code="read_only")
        return target

    @operation("Upload a file into the workspace's uploads/ folder (the raw body is the file)",
               response=FileWritten, status=201, tag="files")
    def put(self, path: str = "") -> None:
        target = self._writable(path)
        if target.is_dir():
            raise Forbidden(f"{path} is a folder", code="is_a_directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        tmp.write_bytes(self.request.body)
        os.replace(tmp, target)
        self.reply(FileWritten(path=self.store.layout.relative(target), size=len(self.request.body)), 201)

    @operation("Delete a file from the workspace's uploads/ folder", status=204, tag="files")
    def delete(self, path: str = "") -> None:
        target = self._writable(path)
        if not target.is_file():
            raise NotFound(f"no such file in the workspace: {path}")
        target.unlink()
        self.set_status(204)
        self.finish()
