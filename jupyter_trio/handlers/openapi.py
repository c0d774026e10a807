"""The OpenAPI 3.1 document, generated from the route table and the pydantic models on it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pydantic
from pydantic.json_schema import models_json_schema

from .._version import __version__
from ..schemas.paddlex import PaddleXError, PaddleXReply
from .base import Operation

_METHODS = ("get", "post", "put", "patch", "delete")
PADDLEX_PREFIX = "/trio/paddlex/"
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def openapi_path(pattern: str) -> tuple[str, list[str]]:
    """``/trio/api/tasks/(?P<name>[^/]+)`` → (``/trio/api/tasks/{name}``, ``["name"]``)."""
    names = [m.group("name") for m in _GROUP.finditer(pattern)]
    path = _GROUP.sub(lambda m: "{" + m.group("name") + "}", pattern)
    return path.rstrip("$").replace("\\.", "."), names


# OpenAPI links: what a created object's reply leads to (create → read → act → delete). Stateful fuzzing
# (schemathesis's stateful phase) follows them to chain real requests on the objects it made.
_TASK = "$response.body#/items/0/name"
LINKS: dict[tuple[str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/trio/api/generator/create"): {
        "GetTask": ("get", "/trio/api/tasks/{name}", {"name": _TASK}),
        "RunTask": ("post", "/trio/api/tasks/{name}/run", {"name": _TASK}),
        "CancelTask": ("post", "/trio/api/tasks/{name}/cancel", {"name": _TASK}),
        "TaskLogs": ("get", "/trio/api/tasks/{name}/logs", {"name": _TASK}),
        "SearchTaskLogs": ("get", "/trio/api/tasks/{name}/logs/search", {"name": _TASK}),
        "TaskMetrics": ("get", "/trio/api/tasks/{name}/metrics", {"name": _TASK}),
        "PinTask": ("post", "/trio/api/tasks/{name}/pin", {"name": _TASK}),
        "RenameTask": ("post", "/trio/api/tasks/{name}/rename", {"name": _TASK}),
        "DeleteTask": ("delete", "/trio/api/tasks/{name}", {"name": _TASK}),
    },
    ("post", "/trio/api/datasets"): {
        "GetDataset": ("get", "/trio/api/datasets/{did}", {"did": "$response.body#/id"}),
        "DatasetDetails": ("get", "/trio/api/datasets/{did}/details", {"did": "$response.body#/id"}),
        "DeleteDataset": ("delete", "/trio/api/datasets/{did}", {"did": "$response.body#/id"}),
    },
}


def operation_id(method: str, path: str) -> str:
    return f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}"


def build_openapi(routes: list[tuple[str, type]]) -> dict[str, Any]:
    """Describe every documented method of every route in ``routes`` (patterns without base_url)."""
    models: set[type[pydantic.BaseModel]] = set()
    operations: list[tuple[str, str, list[str], Operation]] = []
    for pattern, handler in routes:
        path, params = openapi_path(pattern)
        for method in _METHODS:
            op = getattr(getattr(handler, method, None), "__trio_operation__", None)
            if op is None:
                continue
            operations.append((path, method, params, op))
            models.update(m for m in (op.request, op.response, op.query) if m is not None)
    models.update((PaddleXReply, PaddleXError))

    # models of two dialects may share a class name (ProjectCreate, ParamsReply...): pydantic gives each its
    # own component name, and every reference below goes through that mapping, never through __name__
    ordered = sorted(models, key=lambda m: (m.__name__, m.__module__))
    key_map, top = models_json_schema(
        [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = top.get("$defs", {})

    def ref(model: type[pydantic.BaseModel]) -> dict[str, str]:
        return dict(key_map[(model, "validation")])

    paths: dict[str, dict[str, Any]] = {}
    for path, method, params, op in operations:
        item: dict[str, Any] = {
            "summary": op.summary,
            "operationId": operation_id(method, path),
            "tags": [op.tag or _tag_of(path)],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in params
            ],
            "responses": _responses(path, op, ref),
        }
        links = LINKS.get((method, path))
        if links:
            item["responses"][str(op.status)]["links"] = {
                name: {"operationId": operation_id(m, target), "parameters": params}
                for name, (m, target, params) in links.items()
            }
        if op.query is not None:
            for name, field in op.query.model_fields.items():
                item["parameters"].append(
                    {
                        "name": field.alias or name,
                        "in": "query",
                        "required": field.is_required(),
                        "description": field.description or "",
                        "schema": _field_schema(op.query, name),
                    }
                )
        if path.startswith(PADDLEX_PREFIX):
            # PaddleX clients send arguments in the query string or as a JSON body, on every method
            schema = ref(op.request) if op.request is not None else {"type": "object"}
            item["requestBody"] = {"required": False, "content": {"application/json": {"schema": schema}}}
        elif op.request is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.request)}},
            }
        paths.setdefault(path, {})[method] = item

    schemas["ErrorReply"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "status": {"type": "integer"},
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-trio",
            "version": __version__,
            "description": "Train, track and manage deep-learning jobs from Jupyter. All paths sit under "
            "the Jupyter server's base_url and need its authentication.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "A client error: bad input, missing auth, unknown object.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorReply"}}},
                },
                "PaddleXError": {
                    "description": "A client error in PaddleX's shape: status -1 and the reason.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/PaddleXError"}}
                    },
                },
            },
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`token <jupyter server token>`",
                },
                "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{"token": []}, {"tokenQuery": []}],
    }


def _responses(path: str, op: Operation, ref: Callable[[type], dict[str, str]]) -> dict[str, Any]:
    if not path.startswith(PADDLEX_PREFIX):
        return {str(op.status): _response(op, ref), "4XX": {"$ref": "#/components/responses/Error"}}
    reply = ref(op.response) if op.response is not None else ref(PaddleXReply)
    ok: dict[str, Any] = {"description": op.summary, "content": {"application/json": {"schema": reply}}}
    for content_type in (op.content_type, *op.also_content_types):
        if content_type != "application/json":
            ok["content"][content_type] = {"schema": {}}
    return {str(op.status): ok, "4XX": {"$ref": "#/components/responses/PaddleXError"}}


def _response(op: Operation, ref: Callable[[type], dict[str, str]]) -> dict[str, Any]:
    if op.status == 204:  # No Content: no body, no content type
        return {"description": op.summary}
    if op.response is None:
        if op.content_type == "application/json":
            return {"description": op.summary, "content": {"application/json": {"schema": {}}}}
        return {"description": op.summary, "content": {op.content_type: {"schema": {}}}}
    return {"description": op.summary, "content": {"application/json": {"schema": ref(op.response)}}}


def _field_schema(model: type[pydantic.BaseModel], name: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    prop = dict(schema.get("properties", {}).get(name, {}))
    prop.pop("title", None)
    return prop or {"type": "string"}


def _tag_of(path: str) -> str:
    parts = [p for p in path.split("/") if p and not p.startswith("{")]
    if len(parts) >= 3:
        return f"{parts[1]}:{parts[2]}" if parts[1] != "api" else parts[2]
    return parts[-1] if parts else "trio"
