"""The kernel-side client of jupyter-trio: ``ServiceClient`` → ``RestClient`` over ``/trio/api/v1``."""

from .discovery import ServerLocation, find_server
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    ServerNotFoundError,
    TrioClientError,
    UnprocessableEntityError,
)
from .rest import RestClient
from .service import SamplingClient, ServiceClient

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RestClient",
    "SamplingClient",
    "ServerLocation",
    "ServerNotFoundError",
    "ServiceClient",
    "TrioClientError",
    "UnprocessableEntityError",
    "find_server",
]
