"""The OpenAPI document parses, validates, and lists every documented route."""

from __future__ import annotations

from openapi_spec_validator import validate

from jupyter_trio.handlers.base import NotFoundHandler
from jupyter_trio.handlers.openapi import openapi_path


async def test_openapi_document_is_valid_and_complete(api, trio_app):
    status, doc = await api("GET", "trio/api/openapi.json")
    assert status == 200
    validate(doc)
    for pattern, handler in trio_app.route_table():
        if handler is NotFoundHandler:
            continue
        path, params = openapi_path(pattern)
        assert path in doc["paths"], path
        for name in params:
            assert "{" + name + "}" in path
    health = doc["paths"]["/trio/api/health"]["get"]
    ref = health["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"]


def test_openapi_path_conversion():
    assert openapi_path(r"/trio/api/tasks/(?P<name>[^/]+)/logs") == ("/trio/api/tasks/{name}/logs", ["name"])
    assert openapi_path(r"/trio/api/openapi\.json") == ("/trio/api/openapi.json", [])


def test_every_link_leads_to_a_documented_operation():
    from jupyter_trio.app import TrioApp
    from jupyter_trio.handlers.openapi import LINKS, build_openapi

    doc = build_openapi(TrioApp().route_table())
    operations = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    links = [
        link
        for item in doc["paths"].values()
        for op in item.values()
        for reply in op["responses"].values()
        for link in reply.get("links", {}).values()
    ]
    assert len(links) == sum(len(v) for v in LINKS.values())
    assert {link["operationId"] for link in links} <= operations
