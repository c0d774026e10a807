"""Workspace files over HTTP: reads anywhere inside, writes only under uploads/, nothing outside."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest


@pytest.fixture
def outside_secret(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    return secret


async def test_read_a_workspace_file_and_list_a_folder(api, trio_workspace):
    (trio_workspace / "exports" / "model.txt").write_text("weights")
    status, body = await api("GET", "trio/api/files/exports/model.txt")
    assert (status, body) == (200, b"weights")
    status, listing = await api("GET", "trio/api/files/exports")
    assert status == 200
    assert [e["name"] for e in listing["entries"]] == ["model.txt"]
    assert listing["entries"][0]["size"] == 7


async def test_root_listing_hides_the_database(api):
    status, listing = await api("GET", "trio/api/files/")
    assert status == 200
    names = {e["name"] for e in listing["entries"]}
    assert "uploads" in names and not any(n.startswith("trio.db") for n in names)
    status, body = await api("GET", "trio/api/files/trio.db")
    assert status == 403


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "exports/../../secret.txt",
        "%2E%2E/secret.txt",
        "..%2Fsecret.txt",
        "uploads/..%2F..%2Fsecret.txt",
    ],
)
async def test_dotdot_cannot_read_outside(raw_fetch, outside_secret, path):
    resp = await raw_fetch(f"trio/api/files/{path}")
    assert b"top secret" not in resp.body
    assert resp.code == 403, resp.code
    assert json.loads(resp.body)["error"]["code"] == "outside_workspace"


@pytest.mark.parametrize(
    "template", ["trio/api/files/{abs}", "trio/api/files/%2F{rel}", "trio/api/files/{encoded}"]
)
async def test_absolute_paths_are_refused(raw_fetch, outside_secret, template):
    url = template.format(
        abs=str(outside_secret),
        rel=str(outside_secret).lstrip("/"),
        encoded=quote(str(outside_secret), safe=""),
    )
    resp = await raw_fetch(url)
    assert b"top secret" not in resp.body
    assert resp.code == 403, (url, resp.code)
    assert json.loads(resp.body)["error"]["code"] == "outside_workspace"


async def test_symlinks_out_of_the_workspace_are_refused(api, trio_workspace, outside_secret, tmp_path):
    os.symlink(outside_secret, trio_workspace / "exports" / "link.txt")
    os.symlink(tmp_path, trio_workspace / "uploads" / "escape")
    status, body = await api("GET", "trio/api/files/exports/link.txt")
    assert status == 403 and body["error"]["code"] == "outside_workspace"
    status, body = await api("PUT", "trio/api/files/uploads/escape/secret.txt", raw=b"overwritten")
    assert status == 403
    assert outside_secret.read_text() == "top secret"


async def test_upload_and_delete_under_uploads(api, trio_workspace):
    status, body = await api("PUT", "trio/api/files/uploads/data/images.zip", raw=b"PK\x03\x04zip")
    assert status == 201 and body == {"path": "uploads/data/images.zip", "size": 7}
    assert (trio_workspace / "uploads" / "data" / "images.zip").read_bytes() == b"PK\x03\x04zip"
    status, _ = await api("DELETE", "trio/api/files/uploads/data/images.zip")
    assert status == 204
    assert not (trio_workspace / "uploads" / "data" / "images.zip").exists()
    status, body = await api("DELETE", "trio/api/files/uploads/data/images.zip")
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["tasks/x.txt", "trio.db", "uploads", "../uploads/x"])
async def test_writes_outside_uploads_are_refused(api, trio_workspace, path):
    before = (trio_workspace / "trio.db").read_bytes()
    status, body = await api("PUT", f"trio/api/files/{path}", raw=b"junk")
    assert status == 403
    assert body["error"]["code"] in ("read_only", "outside_workspace", "forbidden")
    assert (trio_workspace / "trio.db").read_bytes()[:100] == before[:100]
    assert not (trio_workspace / "tasks" / "x.txt").exists()
