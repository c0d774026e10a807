"""The RestClient dialect (``/trio/api/v1``): training runs, checkpoints, weights, sessions, samplers, user.

Paths and JSON shapes follow the public Tinker REST API; list replies carry ``cursor: {offset, limit,
total_count}``. A client may name its session in an ``X-Trio-Session`` header; the session's last request
time follows it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from tornado.iostream import StreamClosedError

from .._version import __version__
from ..domain import Sampler as SamplerRecord
from ..domain import Session
from ..errors import NotFound, PayloadTooLarge, ValidationFailed
from ..schemas.v1 import (
    ArchiveUrl,
    Checkpoint,
    CheckpointsList,
    ClientConfig,
    ClientDynamicConfig,
    Cursor,
    ListQuery,
    PageQuery,
    PathQuery,
    Sampler,
    SamplerCreate,
    SampleReply,
    SampleRequest,
    SessionCreate,
    SessionInfo,
    SessionsList,
    TelemetryAccepted,
    TrainingRun,
    TrainingRunCreate,
    TrainingRunsList,
    TrainingRunsQuery,
    UserCheckpointsQuery,
    UserInfo,
    WeightsEntry,
    WeightsInfo,
    WeightsInfoRequest,
    WeightsList,
)
from ..services.archives import stream_tar_gz
from .base import TrioHandler, operation

MAX_IMAGE_BYTES = 32 * 1024 * 1024
SESSION_HEADER = "X-Trio-Session"


class _V1(TrioHandler):
    async def prepare(self) -> None:
        await super().prepare()
        sid = self.request.headers.get(SESSION_HEADER)
        if sid and self.request.method != "GET":
            self.trio.sessions.touch(sid)

    @property
    def runs(self) -> Any:
        return self.trio.training_runs

    def archive_url(self, target: str) -> ArchiveUrl:
        query, expires = self.trio.archive_signer.sign(target)
        path = f"{self.base_url.rstrip('/')}/trio/api/v1/archives/{target}?{query}"
        return ArchiveUrl(
            url=f"{self.request.protocol}://{self.request.host}{path}",
            expires=datetime.fromtimestamp(expires, UTC),
        )


# ---- user
class UserHandler(_V1):
    @operation("Who the server takes you for", response=UserInfo, tag="v1")
    def get(self) -> None:
        display = (
            self.username if self.personal_server else getattr(self.current_user, "display_name", "") or ""
        )
        self.reply(
            UserInfo(
                user_id=self.username,
                name=self.username,
                display_name=display,
                server_version=__version__,
                workspace=str(self.trio.workspace_files.root),
                **{k: v for k, v in self.identity().items() if k in ("admin", "groups", "scopes")},
            )
        )


# ---- training runs and their checkpoints
class TrainingRunsHandler(_V1):
    @operation(
        "Your training runs (train and prune tasks), oldest first",
        query=TrainingRunsQuery,
        response=TrainingRunsList,
        tag="v1",
    )
    def get(self) -> None:
        q = self.parse_query(TrainingRunsQuery)
        runs, total = self.runs.page(self.username, q.limit, q.offset, q.project_id)
        self.reply(
            TrainingRunsList(
                training_runs=[TrainingRun.of(r.task, r.checkpoints) for r in runs],
                cursor=Cursor(offset=q.offset, limit=q.limit, total_count=total),
            )
        )

    @operation(
        "Create a training run from a project or a split dataset, and start it",
        request=TrainingRunCreate,
        response=TrainingRun,
        status=201,
        tag="v1",
    )
    def post(self) -> None:
        body = self.parse_body(TrainingRunCreate)
        run = self.runs.create(
            self.username,
            project_id=body.project_id,
            dataset_id=body.dataset_id,
            params=body.params,
            description=body.description,
            session_id=body.session_id,
            start=body.start,
        )
        self.reply(TrainingRun.of(run.task, run.checkpoints), 201)


class TrainingRunHandler(_V1):
    @operation("One training run", response=TrainingRun, tag="v1")
    def get(self, run: str) -> None:
        view = self.runs.get(run, self.username)
        self.reply(TrainingRun.of(view.task, view.checkpoints))


class RunCheckpointsHandler(_V1):
    @operation("The checkpoints of a training run", response=CheckpointsList, tag="v1")
    def get(self, run: str) -> None:
        items = self.runs.checkpoints_of(run, self.username)
        self.reply(
            CheckpointsList(
                checkpoints=[Checkpoint.of(c) for c in items],
                cursor=Cursor(offset=0, limit=len(items), total_count=len(items)),
            )
        )


class RunCheckpointHandler(_V1):
    @operation("Delete a checkpoint (refused while a queued or running job needs it)", status=204, tag="v1")
    def delete(self, run: str, cid: str) -> None:
        self.runs.owned(run, self.username)
        self.trio.checkpoints.delete(run, cid)
        self.set_status(204)
        self.finish()


class RunCheckpointArchiveHandler(_V1):
    @operation("A signed, time-limited link to a .tar.gz of the checkpoint", response=ArchiveUrl, tag="v1")
    def get(self, run: str, cid: str) -> None:
        self.runs.owned(run, self.username)
        found = self.trio.checkpoints.locate(run, cid)
        self.reply(self.archive_url(f"checkpoints/{found.task.id}/{found.row.id}"))


class UserCheckpointsHandler(_V1):
    @operation(
        "All your checkpoints across training runs, oldest first",
        query=UserCheckpointsQuery,
        response=CheckpointsList,
        tag="v1",
    )
    def get(self) -> None:
        q = self.parse_query(UserCheckpointsQuery)
        rows, total = self.trio.checkpoints.page(self.username, q.limit, q.offset)
        self.reply(
            CheckpointsList(
                checkpoints=[Checkpoint.of(r) for r in rows],
                cursor=Cursor(offset=q.offset, limit=q.limit, total_count=total),
            )
        )


class WeightsInfoHandler(_V1):
    @operation(
        "What a checkpoint path (or kept model) holds: model, task type, labels, epoch, metrics",
        query=PathQuery,
        response=WeightsInfo,
        tag="v1",
    )
    def get(self) -> None:
        self.reply(WeightsInfo.of(self.runs.weights_info(self.parse_query(PathQuery).path)))

    @operation(
        "The same, asked as the Tinker SDK does (get_weights_info_by_tinker_path)",
        request=WeightsInfoRequest,
        response=WeightsInfo,
        tag="v1",
    )
    def post(self) -> None:
        self.reply(WeightsInfo.of(self.runs.weights_info(self.parse_body(WeightsInfoRequest).tinker_path)))


# ---- what the Tinker SDK asks before its first call
class ClientConfigHandler(_V1):
    @operation(
        "Client settings for the Tinker SDK (no JWT exchange: the Jupyter token is the credential)",
        response=ClientConfig,
        tag="v1",
    )
    def post(self) -> None:
        self.reply(ClientConfig())


class ClientDynamicConfigHandler(_V1):
    @operation("The Tinker SDK's refreshed settings", response=ClientDynamicConfig, tag="v1")
    def post(self) -> None:
        self.reply(ClientDynamicConfig())


class TelemetryHandler(_V1):
    @operation(
        "The Tinker SDK's telemetry: accepted and dropped (nothing leaves this server)",
        response=TelemetryAccepted,
        tag="v1",
    )
    def post(self) -> None:
        body = self.json_body()
        events = body.get("events") if isinstance(body, dict) else None
        self.log.debug(
            "dropped %s Tinker SDK telemetry events", len(events) if isinstance(events, list) else 0
        )
        self.reply(TelemetryAccepted())


# ---- weights (kept models)
class WeightsHandler(_V1):
    @operation(
        "Your kept models (pretrained and exported), paged", query=PageQuery, response=WeightsList, tag="v1"
    )
    def get(self) -> None:
        q = self.parse_query(PageQuery)
        offset = (q.page - 1) * q.page_size
        rows, total = self.trio.weights.page(self.username, q.page_size, offset)
        base = f"{self.base_url.rstrip('/')}/trio/api/v1/weights"
        self.reply(
            WeightsList(
                weights=[WeightsEntry.of(w, f"{base}/{w.id}/archive") for w in rows],
                cursor=Cursor(offset=offset, limit=q.page_size, total_count=total),
                page=q.page,
                page_size=q.page_size,
            )
        )


class WeightsArchiveHandler(_V1):
    @operation("A signed, time-limited link to a .tar.gz of kept weights", response=ArchiveUrl, tag="v1")
    def get(self, wid: str) -> None:
        model = self.trio.weights.owned(wid, self.username)
        self.reply(self.archive_url(f"weights/{model.id}"))


class ArchiveHandler(_V1):
    """Streams what a signed link names; an altered or expired link gets 403."""

    @operation("Download a signed archive (.tar.gz)", content_type="application/gzip", tag="v1")
    async def get(self, target: str) -> None:
        self.trio.archive_signer.verify(
            target, self.get_query_argument("expires", None), self.get_query_argument("signature", None)
        )
        folder, name = self._folder(target)
        self.set_header("Content-Type", "application/gzip")
        self.set_header("Content-Disposition", f'attachment; filename="{name}.tar.gz"')
        chunks = stream_tar_gz(folder, name)
        try:
            async for chunk in chunks:
                self.write(chunk)
                await self.flush()
        except StreamClosedError:
            return
        finally:
            await chunks.aclose()
        self.finish()

    def _folder(self, target: str):
        kind, _, rest = target.partition("/")
        if kind == "checkpoints":
            run, _, cid = rest.partition("/")
            found = self.trio.checkpoints.locate(run, cid)
            return found.folder, f"{found.task.id}-{found.row.id}"
        return self.trio.weights.folder(rest), rest


# ---- sessions
class SessionsHandler(_V1):
    @operation("Your client sessions (ids), oldest first", query=ListQuery, response=SessionsList, tag="v1")
    def get(self) -> None:
        q = self.parse_query(ListQuery)
        rows, total = self.trio.sessions.page(self.username, q.limit, q.offset)
        self.reply(
            SessionsList(
                sessions=[r.id for r in rows],
                cursor=Cursor(offset=q.offset, limit=q.limit, total_count=total),
            )
        )

    @operation(
        "Open a client session (ServiceClient does this)",
        request=SessionCreate,
        response=SessionInfo,
        status=201,
        tag="v1",
    )
    def post(self) -> None:
        body = self.parse_body(SessionCreate)
        session = self.trio.sessions.create(
            self.username, body.kernel_id, body.notebook_path, body.user_metadata
        )
        self.reply(session_info(self, session), 201)


def session_info(handler: TrioHandler, session: Session) -> SessionInfo:
    return SessionInfo.of(session, *handler.trio.sessions.contents(session.id))


class SessionHandler(_V1):
    @operation("A session with the training runs and samplers it created", response=SessionInfo, tag="v1")
    def get(self, sid: str) -> None:
        self.reply(session_info(self, self.trio.sessions.get(sid, self.username)))


# ---- samplers
class _Samplers(_V1):
    def owned(self, sid: str) -> SamplerRecord:
        sampler = self.trio.samplers.get(sid)
        if sampler.owner != self.username:
            raise NotFound(f"no such sampler: {sid!r}")
        return sampler


class SamplersHandler(_Samplers):
    @operation(
        "Load a sampler from a checkpoint path or a kept model",
        request=SamplerCreate,
        response=Sampler,
        status=201,
        tag="v1",
    )
    def post(self) -> None:
        body = self.parse_body(SamplerCreate)
        self.reply(Sampler.of(self.trio.samplers.create(self.username, body.path, body.session_id)), 201)


class SamplerHandler(_Samplers):
    @operation("One sampler", response=Sampler, tag="v1")
    def get(self, sid: str) -> None:
        self.reply(Sampler.of(self.owned(sid)))

    @operation("Stop and forget a sampler", status=204, tag="v1")
    async def delete(self, sid: str) -> None:
        self.owned(sid)
        await self.trio.samplers.delete(sid)
        self.set_status(204)
        self.finish()


class SamplerPredictHandler(_Samplers):
    @operation(
        "Predict one image with a sampler (its process starts on first use)",
        request=SampleRequest,
        response=SampleReply,
        tag="v1",
    )
    async def post(self, sid: str) -> None:
        if len(self.request.body) > MAX_IMAGE_BYTES * 4 // 3 + 1024:
            raise PayloadTooLarge(f"image larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
        body = self.parse_body(SampleRequest)
        try:
            base64.b64decode(body.image, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("image: not valid base64") from None
        self.owned(sid)
        reply = await self.trio.samplers.predict(sid, body.image, body.score_thresh, body.visualize)
        self.reply(
            SampleReply(sampler_id=sid, result=reply["result"], visualization=reply.get("visualization"))
        )
