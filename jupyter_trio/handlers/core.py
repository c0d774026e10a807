"""Health, the OpenAPI document, and workspace files (read anywhere, write under uploads/)."""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from .._version import __version__
from ..errors import NotFound
from ..schemas.native import (
    DirectoryListing,
    FileEntry,
    FileWritten,
    GPUInfo,
    GPUState,
    HealthReply,
    Identity,
    TrainingAvailability,
)
from .base import TrioHandler, operation
from .openapi import build_openapi

CHUNK = 64 * 1024
# Shown in the browser when opened: raster images and plain text. Anything else a user may have uploaded
# (.html, .svg, .xml, .js, .pdf...) is a download, so it never runs as a page of the server's origin.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp", "image/tiff", "text/plain"}


def raw_file_headers(name: str, content_type: str, csp: str = "") -> dict[str, str]:
    """Headers for a workspace file served as it is: never sniffed into another type, sandboxed (no
    script, no same-origin access) even when opened, and a download unless it is an image or plain text.
    ``csp`` is the server's own policy (jupyter_server's ``default-src 'none'`` for API routes), kept."""
    policy = f"{csp}; sandbox" if csp else "sandbox"
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": policy}
    if content_type.split(";")[0].strip().lower() not in INLINE_TYPES:
        fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
        headers["Content-Disposition"] = (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        )
    return headers


class HealthHandler(TrioHandler):
    @operation("Server version, current user, workspace, schema version and GPUs", response=HealthReply)
    def get(self) -> None:
        self.trio.users.touch(self.username, getattr(self.current_user, "display_name", ""))
        app = self.trio
        self.reply(
            HealthReply(
                version=__version__,
                user=self.username,
                identity=Identity(**self.identity()),
                workspace=str(app.workspace_files.root),
                schema_version=app.schema_version,
                gpus=[GPUInfo(**g.to_dict()) for g in app.gpu_list],
                gpu_source=app.gpu_source,
                gpu_states=[GPUState(**s) for s in app.tasks.gpu_states()],
                executor=app.runner.executor.name,
                executor_state=app.runner.executor.describe(),
                max_cpu_jobs=app.max_cpu_jobs,
                training=TrainingAvailability(**app.trainer_env.status().to_dict()),
            )
        )


class OpenAPIHandler(TrioHandler):
    @operation("This OpenAPI document")
    def get(self) -> None:
        self.reply(build_openapi(self.trio.route_table()))


class FilesHandler(TrioHandler):
    """Workspace artifacts: logs, images, checkpoints, exports. Paths are relative to the workspace."""

    @operation(
        "Download a workspace file, or list a workspace folder", response=DirectoryListing, tag="files"
    )
    async def get(self, path: str = "") -> None:
        files = self.trio.workspace_files
        target = files.target(path)
        if target.is_dir():
            self.reply(
                DirectoryListing(
                    path=files.relative(target), entries=[FileEntry(**e) for e in files.listing(target)]
                )
            )
            return
        if not target.is_file():
            raise NotFound(f"no such file in the workspace: {path}")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.set_header("Content-Type", ctype)
        for header, value in raw_file_headers(target.name, ctype, self.content_security_policy).items():
            self.set_header(header, value)
        self.set_header("Content-Length", str(target.stat().st_size))
        with open(target, "rb") as fh:
            while chunk := fh.read(CHUNK):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type=ctype)

    @operation(
        "Upload a file into the workspace's uploads/ folder (the raw body is the file)",
        response=FileWritten,
        status=201,
        tag="files",
    )
    def put(self, path: str = "") -> None:
        target = self.trio.workspace_files.write_upload(path, self.request.body)
        self.reply(
            FileWritten(path=self.trio.workspace_files.relative(target), size=len(self.request.body)), 201
        )

    @operation("Delete a file from the workspace's uploads/ folder", status=204, tag="files")
    def delete(self, path: str = "") -> None:
        self.trio.workspace_files.delete_upload(path)
        self.set_status(204)
        self.finish()
