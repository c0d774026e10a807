"""Every route sits behind jupyter_server auth; cookie-authenticated writes need the XSRF token."""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie

import pytest
from tornado.web import RequestHandler

from jupyter_trio.handlers.openapi import openapi_path

_METHODS = ("get", "post", "put", "patch", "delete")


def concrete_requests(route_table) -> list[tuple[str, str]]:
    """One (method, url path) per implemented method of every route, groups filled in."""
    out = []
    for pattern, handler in route_table:
        path, _ = openapi_path(pattern)
        url = re.sub(r"\{[^}]+\}", "x", path).replace("(?:/.*)?", "/anything")
        for method in _METHODS:
            if getattr(handler, method) is not getattr(RequestHandler, method):
                out.append((method.upper(), url))
    return out


async def test_every_route_refuses_requests_without_credentials(jp_fetch, trio_app):
    requests = concrete_requests(trio_app.route_table())
    assert len(requests) >= 4
    for method, url in requests:
        kwargs = {"method": method, "raise_error": False, "headers": {"Authorization": ""}}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b"{}"
        resp = await jp_fetch(*url.strip("/").split("/"), **kwargs)
        assert resp.code == 403, (method, url, resp.code)
        body = json.loads(resp.body)
        if url.startswith("/trio/paddlex/"):  # PaddleX's error shape
            assert body["status"] == -1 and body["code"] == "forbidden", (method, url)
        else:
            assert body["error"]["code"] == "forbidden", (method, url)


async def test_wrong_token_is_refused(jp_fetch):
    resp = await jp_fetch(
        "trio", "api", "health", raise_error=False, headers={"Authorization": "token not-the-token"}
    )
    assert resp.code == 403


async def test_token_in_query_string_is_accepted(jp_fetch, jp_serverapp):
    resp = await jp_fetch(
        "trio",
        "api",
        "health",
        params={"token": jp_serverapp.identity_provider.token},
        headers={"Authorization": ""},
    )
    assert resp.code == 200


def _cookies(resp) -> dict[str, str]:
    jar = SimpleCookie()
    for header in resp.headers.get_list("Set-Cookie"):
        jar.load(header)
    return {k: v.value for k, v in jar.items()}


async def test_cookie_writes_need_the_xsrf_token(jp_fetch, jp_serverapp):
    token = jp_serverapp.identity_provider.token
    # A token in the URL logs the browser in: the server sets its login cookie.
    first = await jp_fetch("trio", "api", "health", params={"token": token}, headers={"Authorization": ""})
    cookies = _cookies(first)
    login = {k: v for k, v in cookies.items() if k.startswith("username-")}
    assert login, f"no login cookie in {cookies}"
    # The login page hands out the _xsrf cookie, as JupyterLab gets it.
    page = await jp_fetch("login", headers={"Authorization": ""}, raise_error=False)
    xsrf = _cookies(page).get("_xsrf")
    assert xsrf

    jar = "; ".join(f"{k}={v}" for k, v in login.items())
    read = await jp_fetch("trio", "api", "health", headers={"Authorization": "", "Cookie": jar})
    assert read.code == 200  # cookie alone is enough to read

    url = ("trio", "api", "files", "uploads", "note.txt")
    refused = await jp_fetch(
        *url, method="PUT", body=b"hello", raise_error=False, headers={"Authorization": "", "Cookie": jar}
    )
    assert refused.code == 403
    assert "xsrf" in json.loads(refused.body)["error"]["message"].lower()

    accepted = await jp_fetch(
        *url,
        method="PUT",
        body=b"hello",
        raise_error=False,
        headers={"Authorization": "", "Cookie": f"{jar}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert accepted.code == 201, accepted.body


@pytest.mark.parametrize("path", ["trio/api/nothing-here", "trio/paddlex/nothing", "trio"])
async def test_unknown_paths_answer_json_404(api, path):
    status, body = await api("GET", path)
    assert status == 404
    assert body["error"]["code"] == "not_found"
    assert path.split("/")[-1] in body["error"]["message"]
