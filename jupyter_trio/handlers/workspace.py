"""pyruns dialect: script workspaces, the launcher, and the batch generator."""

from __future__ import annotations

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
    def get(self) -> None:
        self.reply(WorkspaceInfo(**self.trio.workspaces.current(self.username)))


class RunRootHandler(TrioHandler):
    @operation(
        "Open (creating if needed) the workspace of a Python script",
        request=RunRootRequest,
        response=WorkspaceInfo,
        tag="workspace",
    )
    def post(self) -> None:
        body = self.parse_body(RunRootRequest)
        ws = self.trio.workspaces.open_script(self.username, body.script_path, body.config_path)
        self.reply(WorkspaceInfo(**ws))


class ShellWorkspaceHandler(TrioHandler):
    @operation("Open the shell workspace", response=WorkspaceInfo, tag="workspace")
    def post(self) -> None:
        self.reply(WorkspaceInfo(**self.trio.workspaces.open_shell(self.username)))


class GeneratorHandler(TrioHandler):
    """``/generator/preview`` and ``/generator/create`` share the body and the reply."""

    def _request(self) -> GeneratorRequest:
        return GeneratorRequest(**self.parse_body(GeneratorBody).model_dump())


class GeneratorPreviewHandler(GeneratorHandler):
    @operation(
        "Expand a batch without creating anything",
        request=GeneratorBody,
        response=GeneratorReply,
        tag="generator",
    )
    def post(self) -> None:
        self.reply(self.trio.tasks.preview(self._request(), self.username))


class GeneratorCreateHandler(GeneratorHandler):
    @operation(
        "Create every task of a batch atomically (each with its frozen config.yaml)",
        request=GeneratorBody,
        response=GeneratorReply,
        status=201,
        tag="generator",
    )
    def post(self) -> None:
        result = self.trio.tasks.create(self._request(), self.username)
        self.reply(result, 201)


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
    def get(self) -> None:
        self.reply(WorkspaceList(items=[WorkspaceInfo(**w) for w in self.trio.workspaces.list()]))


class LauncherOpenHandler(TrioHandler):
    @operation(
        "Switch to an existing workspace",
        request=OpenWorkspaceRequest,
        response=WorkspaceInfo,
        tag="launcher",
    )
    def post(self) -> None:
        body = self.parse_body(OpenWorkspaceRequest)
        self.reply(WorkspaceInfo(**self.trio.workspaces.open_existing(self.username, body.script_name)))


class LauncherPickScriptHandler(TrioHandler):
    @operation(
        "Check a script and list the configs beside it",
        request=PickScriptRequest,
        response=PickScriptReply,
        tag="launcher",
    )
    def post(self) -> None:
        body = self.parse_body(PickScriptRequest)
        self.reply(PickScriptReply(**self.trio.workspaces.pick_script(body.script_path)))
