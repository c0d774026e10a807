"""pyruns dialect: script workspaces, the launcher, and the batch generator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from ..domain import GeneratedBatch
from ..schemas.native import (
    GeneratorBody,
    GeneratorReply,
    OpenWorkspaceRequest,
    PathList,
    PickScriptReply,
    PickScriptRequest,
    RunRootRequest,
    WorkspaceInfo,
    WorkspaceList,
)
from ..services.tasks import GeneratorRequest
from .base import TrioHandler, operation


class WorkspaceHandler(TrioHandler):
    @operation("The open script workspace (pyruns run root)", response=WorkspaceInfo, tag="workspace")
    async def get(self) -> None:
        # reads and parses the workspace's config_default.yaml: in a worker thread, off the event loop
        ws = await asyncio.to_thread(self.trio.workspaces.current, self.username)
        self.reply(WorkspaceInfo.of(ws))


class RunRootHandler(TrioHandler):
    @operation(
        "Open (creating if needed) the workspace of a Python script",
        request=RunRootRequest,
        response=WorkspaceInfo,
        tag="workspace",
    )
    async def post(self) -> None:
        body = self.parse_body(RunRootRequest)
        ws = await asyncio.to_thread(
            self.trio.workspaces.open_script, self.username, body.script_path, body.config_path
        )
        self.reply(WorkspaceInfo.of(ws))


class ShellWorkspaceHandler(TrioHandler):
    @operation("Open the shell workspace", response=WorkspaceInfo, tag="workspace")
    def post(self) -> None:
        self.reply(WorkspaceInfo.of(self.trio.workspaces.open_shell(self.username)))


class GeneratorHandler(TrioHandler):
    """``/generator/preview`` and ``/generator/create`` share the body and the reply.

    A batch may expand to many thousands of configs: the service's work and the reply's JSON are made in
    a worker thread, so other requests go on meanwhile.
    """

    def _request(self) -> GeneratorRequest:
        return GeneratorRequest(**self.parse_body(GeneratorBody).model_dump())

    async def _reply_off_loop(
        self, work: Callable[[GeneratorRequest, str], GeneratedBatch], status: int
    ) -> None:
        request, owner = self._request(), self.username

        def run() -> str:
            return json.dumps(GeneratorReply.wire(work(request, owner)), default=str)

        body = await asyncio.to_thread(run)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class GeneratorPreviewHandler(GeneratorHandler):
    @operation(
        "Expand a batch without creating anything",
        request=GeneratorBody,
        response=GeneratorReply,
        tag="generator",
    )
    async def post(self) -> None:
        await self._reply_off_loop(self.trio.tasks.preview, 200)


class GeneratorCreateHandler(GeneratorHandler):
    @operation(
        "Create every task of a batch atomically (each with its frozen config.yaml)",
        request=GeneratorBody,
        response=GeneratorReply,
        status=201,
        tag="generator",
    )
    async def post(self) -> None:
        await self._reply_off_loop(self.trio.tasks.create, 201)


class LauncherScriptsHandler(TrioHandler):
    @operation("Python scripts under the server's root folder", response=PathList, tag="launcher")
    def get(self) -> None:
        self.reply(PathList(items=self.trio.workspaces.scripts()))


class LauncherConfigsHandler(TrioHandler):
    @operation("YAML configs under the server's root folder", response=PathList, tag="launcher")
    def get(self) -> None:
        self.reply(PathList(items=self.trio.workspaces.configs()))


class LauncherWorkspacesHandler(TrioHandler):
    @operation("Script workspaces that exist", response=WorkspaceList, tag="launcher")
    async def get(self) -> None:
        found = await asyncio.to_thread(self.trio.workspaces.list)  # parses every workspace's config
        self.reply(WorkspaceList(items=[WorkspaceInfo.of(w) for w in found]))


class LauncherOpenHandler(TrioHandler):
    @operation(
        "Switch to an existing workspace",
        request=OpenWorkspaceRequest,
        response=WorkspaceInfo,
        tag="launcher",
    )
    async def post(self) -> None:
        body = self.parse_body(OpenWorkspaceRequest)
        ws = await asyncio.to_thread(self.trio.workspaces.open_existing, self.username, body.script_name)
        self.reply(WorkspaceInfo.of(ws))


class LauncherPickScriptHandler(TrioHandler):
    @operation(
        "Check a script and list the configs beside it",
        request=PickScriptRequest,
        response=PickScriptReply,
        tag="launcher",
    )
    def post(self) -> None:
        body = self.parse_body(PickScriptRequest)
        self.reply(
            PickScriptReply.model_validate(
                self.trio.workspaces.pick_script(body.script_path), from_attributes=True
            )
        )
