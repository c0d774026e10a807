"""Samplers: models loaded for inference from a checkpoint or a kept model, each in a process of its own.

Creating a sampler checks and records what it serves; the first prediction starts its process
(``jupyter_trio.trainers.sampler_worker``), which keeps the model loaded so later predictions cost only the
forward pass. At most ``max_processes`` stay up (the least recently used one is stopped first); a stopped
sampler simply starts again on its next prediction. The server never imports PaddlePaddle itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..domain import JSONObject, Sampler, SamplerState
from ..errors import NotFound, Unavailable, ValidationFailed
from ..runner.job_env import job_environ
from ..store import Store
from ..trainers.checkpoints import has_weights, read_state
from .checkpoints import CheckpointService
from .trainer_env import TrainerEnvironment

STREAM_LIMIT = 64 * 1024 * 1024  # one JSON line may carry a base64 image


@dataclass
class _Process:
    proc: asyncio.subprocess.Process
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)


class SamplerService:
    def __init__(
        self,
        store: Store,
        checkpoints: CheckpointService,
        trainer: TrainerEnvironment,
        max_processes: int = 2,
        load_timeout_s: float = 300.0,
        predict_timeout_s: float = 120.0,
    ):
        self.store = store
        self.checkpoints = checkpoints
        self.trainer = trainer
        self.python = trainer.python
        self.max_processes = max(1, max_processes)
        self.load_timeout_s = load_timeout_s
        self.predict_timeout_s = predict_timeout_s
        self._procs: dict[str, _Process] = {}
        self._starting = asyncio.Lock()

    # ---- records
    def create(self, owner: str, path: str, session_id: str | None = None) -> Sampler:
        if session_id and self.store.sessions.get(session_id) is None:
            raise NotFound(f"no such session: {session_id!r}")
        folder, run = self.checkpoints.folder_for(path)
        self.trainer.require("sampling")
        if not has_weights(folder):
            raise ValidationFailed(
                f"path: {path!r} holds no model.pdparams (an exported inference model cannot be "
                f"sampled; use the checkpoint or pretrained model it came from)"
            )
        state = read_state(folder)
        attrs = {
            "folder": self.store.layout.relative(folder),
            "task_type": state.get("task_type", ""),
            "labels": state.get("labels", []),
            "base_model": state.get("params", {}).get("model", ""),
            "epoch": state.get("epoch"),
        }
        return self.store.samplers.create(owner, session_id, path, run.id if run else None, attrs)

    def get(self, sid: str) -> Sampler:
        sampler = self.store.samplers.get(sid or "")
        if sampler is None:
            raise NotFound(f"no such sampler: {sid!r}")
        return sampler

    # ---- processes
    def log_path(self, sid: str) -> Path:
        return self.store.root / "samplers" / f"{sid}.log"

    async def _process(self, sampler: Sampler) -> _Process:
        sid = sampler.id
        async with self._starting:
            running = self._procs.get(sid)
            if running is not None and running.proc.returncode is None:
                return running
            while len(self._procs) >= self.max_processes:
                oldest = min(self._procs, key=lambda k: self._procs[k].last_used)
                await self.stop(oldest)
            folder = self.store.root / sampler.attrs["folder"]
            if not has_weights(folder):
                raise NotFound(f"the model of sampler {sid} is gone ({sampler.source_path} was deleted)")
            # the sampler unpickles a checkpoint a job wrote: it gets no more of the server's
            # credentials than a job does
            env = {
                **job_environ(os.environ),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
                "CUDA_VISIBLE_DEVICES": "",
                "PYTHONUNBUFFERED": "1",
            }
            log = open(self.log_path(sid), "ab")  # noqa: SIM115 - the sampler process keeps it; closed on stop
            try:
                proc = await asyncio.create_subprocess_exec(
                    self.python,
                    "-m",
                    "jupyter_trio.trainers.sampler_worker",
                    str(folder),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=log,
                    env=env,
                    limit=STREAM_LIMIT,
                    start_new_session=True,
                )
            finally:
                log.close()
            entry = _Process(proc)
            hello = await self._read(entry, self.load_timeout_s, sid)
            if not hello.get("ready"):
                await self._kill(proc)
                self.store.samplers.update(sid, status=SamplerState.FAILED)
                raise Unavailable(f"sampler {sid} could not load its model: {hello.get('error')}")
            self._procs[sid] = entry
            self.store.samplers.update(sid, status=SamplerState.LOADED)
            return entry

    async def _read(self, entry: _Process, timeout: float, sid: str) -> JSONObject:
        """The process's next JSON line (its hello, or a prediction's reply)."""
        try:
            line = await asyncio.wait_for(entry.proc.stdout.readline(), timeout)  # type: ignore[union-attr]
        except TimeoutError:
            await self._kill(entry.proc)
            self._procs.pop(sid, None)
            raise Unavailable(f"sampler {sid} did not answer within {timeout:.0f}s") from None
        if not line:
            self._procs.pop(sid, None)
            raise Unavailable(f"sampler {sid}'s process ended; its log is samplers/{sid}.log")
        return json.loads(line)

    async def predict(
        self, sid: str, image_b64: str, score_thresh: float = 0.5, visualize: bool = True
    ) -> JSONObject:
        """The worker's reply: ``result`` (the prediction as JSON) and maybe ``visualization``."""
        sampler = self.get(sid)
        entry = await self._process(sampler)
        async with entry.lock:
            entry.last_used = time.monotonic()
            request = json.dumps({"image": image_b64, "score_thresh": score_thresh, "visualize": visualize})
            entry.proc.stdin.write(request.encode() + b"\n")  # type: ignore[union-attr]
            try:
                await entry.proc.stdin.drain()  # type: ignore[union-attr]
            except (BrokenPipeError, ConnectionResetError):
                self._procs.pop(sid, None)
                raise Unavailable(f"sampler {sid}'s process ended; its log is samplers/{sid}.log") from None
            reply = await self._read(entry, self.predict_timeout_s, sid)
        if "error" in reply:
            raise ValidationFailed(f"image: {reply['error']}")
        if sampler.session_id:
            self.store.sessions.touch(sampler.session_id)
        return reply

    @staticmethod
    async def _kill(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()

    async def stop(self, sid: str) -> None:
        entry = self._procs.pop(sid, None)
        if entry is None:
            return
        if entry.proc.stdin is not None:
            entry.proc.stdin.close()  # the worker's read loop ends and it exits
        try:
            await asyncio.wait_for(entry.proc.wait(), 5)
        except TimeoutError:
            await self._kill(entry.proc)
        if self.store.samplers.get(sid) is not None:
            self.store.samplers.update(sid, status=SamplerState.READY)

    async def delete(self, sid: str) -> None:
        self.get(sid)
        await self.stop(sid)
        self.store.samplers.delete(sid)

    async def shutdown(self) -> None:
        for sid in list(self._procs):
            await self.stop(sid)
