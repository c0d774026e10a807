"""The whole route table of jupyter-trio, readable at a glance. Patterns are relative to base_url."""

from __future__ import annotations

from .base import NotFoundHandler
from .core import FilesHandler, HealthHandler, OpenAPIHandler

API = r"/trio/api"
NAME = r"(?P<name>[^/]+)"
PATH = r"(?P<path>.*)"

ROUTES: list[tuple] = [
    (rf"{API}/health", HealthHandler),
    (rf"{API}/openapi\.json", OpenAPIHandler),
    (rf"{API}/files", FilesHandler),
    (rf"{API}/files/{PATH}", FilesHandler),
    # Must stay last: every other path under /trio answers a JSON 404 after auth.
    (r"/trio(?:/.*)?", NotFoundHandler),
]
