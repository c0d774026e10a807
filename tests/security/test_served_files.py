"""Issue 33, finding 6c: a workspace file served raw never runs as a page of the server's origin: an
uploaded ``.html`` or ``.svg`` is a sandboxed download, and no file is sniffed into another type."""

from __future__ import annotations

import pytest

PAGE = b"<html><script>fetch('/api/contents').then(r => r.text()).then(alert)</script></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.mark.parametrize(
    "name, body, inline",
    [
        ("page.html", PAGE, False),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", False),
        ("notes.xml", b"<x:script xmlns:x='http://www.w3.org/1999/xhtml'>alert(1)</x:script>", False),
        ("blob.bin", PAGE, False),
        ('r\u00e9sum\u00e9 "1".html', PAGE, False),
        ("image.png", PNG, True),
        ("notes.txt", PAGE, True),
    ],
)
async def test_raw_workspace_files_are_sandboxed_and_not_sniffed(jp_fetch, api, name, body, inline):
    status, _ = await api("PUT", f"trio/api/files/uploads/{name}", raw=body)
    assert status == 201
    resp = await jp_fetch("trio", "api", "files", "uploads", name, method="GET")
    assert resp.code == 200 and resp.body == body
    headers = resp.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    policy = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy, policy
    disposition = headers.get("Content-Disposition", "")
    if inline:
        assert not disposition.startswith("attachment"), disposition
    else:
        assert disposition.startswith("attachment;"), (name, disposition)
        assert "filename*=UTF-8''" in disposition
