"""pyruns dialect: the machine the server runs on (version, CPU, memory, disk, GPUs)."""

from __future__ import annotations

import asyncio

from ..schemas.pyruns_parity import SystemInfoReply, SystemMetricsQuery, SystemMetricsReply
from ..services.system_info import system_info, system_metrics
from .base import TrioHandler, operation


class SystemInfoHandler(TrioHandler):
    @operation(
        "The version running and the one installed (a restart is due when they differ), the Python, the OS",
        response=SystemInfoReply,
        tag="system",
    )
    async def get(self) -> None:
        self.reply(SystemInfoReply.of(await asyncio.to_thread(system_info)))


class SystemMetricsHandler(TrioHandler):
    @operation(
        "CPU, memory and workspace disk use now, and each GPU's utilisation and memory (MiB)",
        query=SystemMetricsQuery,
        response=SystemMetricsReply,
        tag="system",
    )
    async def get(self) -> None:
        q = self.parse_query(SystemMetricsQuery)
        runner, workspace = self.trio.runner, self.trio.workspace_files.root
        metrics = await asyncio.to_thread(
            lambda: system_metrics(
                runner.gpus, workspace, include_processes=q.include_processes, detail=q.detail
            )
        )
        self.reply(SystemMetricsReply.of(metrics))
