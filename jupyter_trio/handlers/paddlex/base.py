"""What every PaddleX-dialect handler shares: arguments from a JSON body or the query string,
``{"status": 1, ...}`` replies, and ``{"status": -1, "message": ...}`` errors (with a 4xx code)."""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar

from ...errors import ValidationFailed
from ...schemas.paddlex import Arguments
from ..base import TrioHandler

A = TypeVar("A", bound=Arguments)


def paddlex_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


class PaddleXHandler(TrioHandler):
    def args(self) -> dict[str, Any]:
        """Query-string arguments overlaid by the JSON body (PaddleX clients send GETs with bodies)."""
        out: dict[str, Any] = {}
        for key in self.request.query_arguments:
            if key == "token":
                continue
            values = self.get_query_arguments(key)
            value: Any = values if len(values) > 1 else values[0]
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            out[key] = value
        body = self.json_body()
        if not isinstance(body, dict):
            raise ValidationFailed("the request body must be a JSON object")
        out.update(body)
        return out

    def arguments(self, model: type[A]) -> A:
        """The operation's arguments (query string and JSON body) as its model in schemas/paddlex.py:
        form strings coerced, unknown names ignored, a wrong value refused naming the field."""
        return self.validate(model, self.args())

    def ok(self, **fields: Any) -> None:
        self.reply({"status": 1, **fields})

    def error_payload(self, status_code: int, code: str, message: str) -> str:
        return json.dumps({"status": -1, "message": message, "code": code})
