"""Bodies no parser should choke on: JSON nested deeper than Python's recursion gets a 4xx in both
dialects' error shapes, never a 500; and PaddleX's /file serves an XML file sandboxed and unsniffed."""

from __future__ import annotations

import json

DEEP = b"[" * 100_000 + b"]" * 100_000


async def test_json_nested_too_deep_is_a_client_error(api, px, raw_fetch):
    status, reply = await api("POST", "trio/api/generator/preview", raw=DEEP)
    assert 400 <= status < 500 and reply["error"]["code"] == "invalid_json", reply
    resp = await raw_fetch("trio/paddlex/project", method="POST", body=DEEP)
    body = json.loads(resp.body)
    assert 400 <= resp.code < 500 and body["status"] == -1 and body["message"]


async def test_paddlex_serves_xml_sandboxed(raw_fetch, trio_workspace):
    (trio_workspace / "uploads" / "a.xml").write_text(
        '<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'
    )
    resp = await raw_fetch(f"trio/paddlex/file?path={trio_workspace / 'uploads' / 'a.xml'}")
    assert resp.code == 200 and b"<script>" in resp.body  # PaddleX's clients read it as it is
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_template_nested_too_deep_is_a_client_error(api, script_workspace):
    template: dict = {"leaf": 1}
    for _ in range(900):  # deep enough to exhaust a recursive walk, shallow enough for json and pydantic
        template = {"a": template}
    await script_workspace("print(1)\n")
    body = {"name_prefix": "x", "template_value": template}
    status, reply = await api("POST", "trio/api/generator/preview", body)
    assert status == 422 and "deeper" in reply["error"]["message"], reply
