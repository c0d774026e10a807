"""Errors the service layer raises; every dialect turns them into its own 4xx reply.

Each carries a stable machine ``code`` and an HTTP ``status``. Nothing here imports tornado: the
store, runner and trainers raise these, the handlers translate them.
"""

from __future__ import annotations


class TrioError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequest(TrioError):
    status, code = 400, "bad_request"


class ValidationFailed(TrioError):
    status, code = 422, "validation_error"


class Forbidden(TrioError):
    status, code = 403, "forbidden"


class NotFound(TrioError):
    status, code = 404, "not_found"


class Conflict(TrioError):
    status, code = 409, "conflict"


class PayloadTooLarge(TrioError):
    status, code = 413, "payload_too_large"


class Unavailable(TrioError):
    status, code = 503, "unavailable"
