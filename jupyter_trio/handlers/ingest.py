"""Where a job with no shared filesystem sends its points, records and output files (``services/ingest``).

These routes take a run token (``X-Trio-Run-Token``, handed to the job in ``TRIO_INGEST_TOKEN``) instead
of a user's credentials: a job on a cluster node must not hold its owner's Jupyter token, and the run token
lets it write into its own run only, and only while that run runs. The token is checked in ``prepare``
before any method body, so no request gets further without one.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated
from pydantic import BaseModel, Field

from ..acting import acting_user
from ..domain import Run, Task
from ..errors import Forbidden
from ..services.ingest import OffsetMismatch
from .base import TrioHandler, operation

TOKEN_HEADER = "X-Trio-Run-Token"
CLAIM_HEADER = "X-Trio-Run-Claim"


class IngestQuery(BaseModel):
    writer: str = Field(description="the writing process's name (host-pid); one file per writer")
    offset: int = Field(0, ge=0, description="bytes of this writer's file the client sent before")


class FileQuery(BaseModel):
    path: str = Field(description="where the file goes, relative to the workspace (a task output folder)")
    offset: int = Field(0, ge=0, description="bytes of this upload sent before (chunked uploads)")
    final: bool = Field(False, description="the last chunk: put the file in place")


class IngestReply(BaseModel):
    received: int = Field(description="bytes of the file the server now holds")


class RunTokenHandler(TrioHandler):
    """Authenticated by the run token of the run in the path, not by a user."""

    task: Task
    run: Run

    def check_xsrf_cookie(self) -> None:
        # the credential is a header a page on another origin cannot set: no cookie to forge
        return None

    async def prepare(self) -> None:
        self.prepare_without_user()
        kwargs = self.path_kwargs
        token = self.request.headers.get(TOKEN_HEADER, "") or self.run_token()
        if not token:
            raise Forbidden(f"this route takes the run's token in {TOKEN_HEADER}")
        self.task, self.run = self.trio.ingest.authorize(kwargs["task_id"], kwargs["run_index"], token)
        acting_user.set(self.task.owner)

    def answer(self, write) -> None:
        """Reply with the bytes received, or a 409 that says how many (where the client resumes)."""
        try:
            size = write()
        except OffsetMismatch as exc:
            self.set_status(409)
            self.finish(
                {"error": {"code": exc.code, "message": exc.message, "status": 409}, "received": exc.received}
            )
            return
        self.reply(IngestReply(received=size))


class TokenReply(BaseModel):
    token: str = Field(description="the run's token (the job's TRIO_TOKEN): read the API, write this run")


class RunTokenClaimHandler(RunTokenHandler):
    """A Ray job's entrypoint trades the one-time claim from its job spec for its run token (the token
    itself is never in a spec Ray lists to anyone: ``services/run_tokens.py``)."""

    async def prepare(self) -> None:
        self.prepare_without_user()
        if not self.request.headers.get(CLAIM_HEADER, ""):
            raise Forbidden(f"this route takes the run's claim in {CLAIM_HEADER}")

    @allow_unauthenticated  # the claim is the credential, checked by the service
    @operation(
        "Trade a Ray job's one-time claim (X-Trio-Run-Claim) for its run token; a second trade is refused",
        response=TokenReply,
        tag="ingest",
    )
    def post(self, task_id: str, run_index: str) -> None:
        token = self.trio.ingest.redeem_claim(task_id, run_index, self.request.headers[CLAIM_HEADER])
        self.set_header("Cache-Control", "no-store")
        self.reply(TokenReply(token=token))


class IngestHandler(RunTokenHandler):
    @allow_unauthenticated  # the run token is checked in prepare (jupyter_server's user auth is not used)
    @operation(
        "Append tracked points (binary blocks) or records (JSON lines) of a job's writer",
        query=IngestQuery,
        response=IngestReply,
        tag="ingest",
    )
    def post(self, task_id: str, run_index: str, kind: str) -> None:
        q = self.parse_query(IngestQuery)
        self.answer(
            lambda: self.trio.ingest.append(
                self.task.id, self.run.run_index, kind, q.writer, q.offset, self.request.body
            )
        )


class IngestFileHandler(RunTokenHandler):
    @allow_unauthenticated  # the run token is checked in prepare (jupyter_server's user auth is not used)
    @operation(
        "Upload a chunk of a job's output file (checkpoint, export, split log) into the workspace",
        query=FileQuery,
        response=IngestReply,
        tag="ingest",
    )
    def put(self, task_id: str, run_index: str) -> None:
        q = self.parse_query(FileQuery)
        self.answer(
            lambda: self.trio.ingest.write_file(
                self.task, self.run.run_index, q.path, q.offset, self.request.body, q.final
            )
        )
