"""/file (images as base64, optionally with labels drawn; xml as text; log/txt as JSON) and /demo."""

from __future__ import annotations

import base64
from typing import Any

from tornado.ioloop import IOLoop

from ...errors import ValidationFailed
from ...schemas.paddlex import (
    DemoAction,
    DemoLoaded,
    DemoRef,
    DemoReply,
    FileQuery,
    FileReply,
)
from ...services.file_preview import kind_of
from ...vocabulary import project_type
from ..base import operation
from ..core import raw_file_headers
from .base import PaddleXHandler
from .enums import DEMO_STATUS


class PaddleXFileHandler(PaddleXHandler):
    @operation(
        "PaddleX: a workspace file (path): image → img_data (base64; labels drawn when did is given; "
        "a multi-band image as PNG of three bands), "
        "xml → the XML itself, log/txt → lines",
        request=FileQuery,
        also_content_types=("application/xml",),
        response=FileReply,
        tag="paddlex",
    )
    async def get(self) -> None:
        args = self.arguments(FileQuery)
        target = self.trio.workspace_files.viewable(args.path)
        kind = kind_of(target)
        if kind == "image":
            dataset = self.trio.projects.dataset(args.did) if args.did else None
            # decoding (a multi-band raster: up to rasters.MAX_BYTES) runs off the event loop
            files = self.trio.workspace_files
            data, _ = await IOLoop.current().run_in_executor(
                files.decoder, files.image, target, dataset, args.bands
            )
            self.ok(img_data=base64.b64encode(data).decode("ascii"))
        elif kind == "xml":
            # PaddleX's clients read the XML as text; a browser opening it must not run what it holds
            ctype = "application/xml; charset=utf-8"
            for header, value in raw_file_headers(target.name, ctype, self.content_security_policy).items():
                if header != "Content-Disposition":  # shown as it is, as PaddleX serves it, but sandboxed
                    self.set_header(header, value)
            self.finish(target.read_bytes(), set_content_type=ctype)
        else:
            text = target.read_text(encoding="utf-8", errors="replace")
            self.ok(lines=text.splitlines(), text=text)


def demo_attr(state: Any) -> dict[str, Any]:
    """PaddleX's demo ``attr``: its DownloadStatus, progress and message."""
    return {"status": DEMO_STATUS[state.status].value, "progress": state.progress, "message": state.message}


def _demo_type(args: DemoRef) -> str:
    try:
        return project_type(args.prj_type)
    except ValueError as exc:
        raise ValidationFailed(f"prj_type: {exc}") from None


class PaddleXDemoHandler(PaddleXHandler):
    @operation(
        "PaddleX: progress of a demo dataset's generation (prj_type)",
        request=DemoRef,
        response=DemoReply,
        tag="paddlex",
    )
    def get(self) -> None:
        state = self.trio.demo_datasets.status(_demo_type(self.arguments(DemoRef)))
        self.ok(attr=demo_attr(state))

    @operation(
        "PaddleX: type=download generates a demo dataset in the background; type=load creates its "
        "dataset (imported, split) and project → did, pid",
        request=DemoAction,
        response=DemoLoaded,
        tag="paddlex",
    )
    async def post(self) -> None:
        args = self.arguments(DemoAction)
        kind = _demo_type(args)
        if args.type == "download":
            self.trio.demo_datasets.download(kind)
            self.ok()
        else:
            out = await IOLoop.current().run_in_executor(
                None, self.trio.demo_datasets.load, kind, self.username
            )
            self.ok(did=out.dataset_id, pid=out.project_id, loading_status=out.loading_status)

    @operation(
        "PaddleX: stop generating a demo dataset (prj_type)",
        request=DemoRef,
        response=DemoReply,
        tag="paddlex",
    )
    def put(self) -> None:
        state = self.trio.demo_datasets.stop(_demo_type(self.arguments(DemoRef)))
        self.ok(attr=demo_attr(state))
