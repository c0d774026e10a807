"""Typed errors of the REST client: each carries the HTTP status and the server's message and code."""

from __future__ import annotations

from typing import Any


class TrioClientError(Exception):
    """Base of every error the client raises."""


class APIConnectionError(TrioClientError):
    """The server could not be reached (after the retries allowed)."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


class ServerNotFoundError(TrioClientError):
    """No Jupyter server with jupyter-trio could be found from here; pass base_url and token."""


class APIStatusError(TrioClientError):
    """The server answered with an error status."""

    status_code: int = 0

    def __init__(self, message: str, *, status_code: int, code: str = "", body: Any = None):
        super().__init__(f"{status_code} {code}: {message}" if code else f"{status_code}: {message}")
        self.message = message
        self.status_code = status_code
        self.code = code
        self.body = body


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401: no or a wrong token."""


class PermissionDeniedError(APIStatusError):
    """403: not allowed, or an expired or altered archive link."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409: the resource is in a state that forbids this (e.g. a running task needs the checkpoint)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but a field is invalid."""


class InternalServerError(APIStatusError):
    """5xx."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
}


def error_for(status_code: int, body: Any) -> APIStatusError:
    """The typed error for a reply; jupyter-trio's ``{"error": {"code", "message"}}`` body is unpacked."""
    message, code = "", ""
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        message = str(err.get("message") or err.get("reason") or "")
        code = str(err.get("code") or "")
    elif body:
        message = str(body)[:500]
    cls = _BY_STATUS.get(status_code, InternalServerError if status_code >= 500 else APIStatusError)
    return cls(message or f"HTTP {status_code}", status_code=status_code, code=code, body=body)
