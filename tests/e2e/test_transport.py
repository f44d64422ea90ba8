"""Transport against the running server (issue 14 item 10): security headers on every answer, and
a CSP the real pages keep without a single violation; /_event refuses a page of another origin;
/_upload refuses an anonymous body before reading it, and any body past the size limit."""

from __future__ import annotations

import base64
import http.client
import os
import re
import socket
import sqlite3
import urllib.parse

import pytest
from playwright.sync_api import expect

from custapp.transport import UPLOAD_MAX_BYTES

pytestmark = pytest.mark.e2e

EVIL = "http://evil.example"
# a real upload handler (the profile's 附件), so Reflex itself would read the body
SAVE_HANDLER = (
    "reflex___state____state.custapp___states___session____session_state."
    "custapp___pages___customer_profile___attachments____attachments_state.save"
)
HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def _get(url: str, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = _connect(url)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_every_answer_carries_the_security_headers(server) -> None:  # noqa: ANN001
    _, html = _get(server.url, "/login/")
    script = re.search(rb'href="(/assets/[^"]+\.js)"', html)
    assert script, "no script asset on the login page"
    for path, headers in (
        ("/login", {}),  # a redirect to /login/
        ("/login/", {}),
        ("/login/", {"Accept-Encoding": "gzip"}),  # the precompressed copy
        ("/customers/1", {"Accept-Encoding": "gzip"}),  # a dynamic route's page
        (script.group(1).decode(), {}),
        ("/favicon.ico", {}),
        ("/ping", {}),
        ("/_upload/nothing-here", {}),
    ):
        response, _ = _get(server.url, path, **headers)
        policy = response.getheader("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, path
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy, path
        for name, value in HEADERS.items():
            assert response.getheader(name) == value, (path, name)
    response, _ = _get(server.url, "/login/")
    policy = response.getheader("content-security-policy")
    scripts = policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "'sha256-" in scripts and "'unsafe-inline'" not in scripts
    # a revalidated page keeps the policy with its hashes (the browser merges a 304's headers)
    etag = response.getheader("etag")
    assert etag
    response, _ = _get(server.url, "/login/", **{"If-None-Match": etag})
    assert response.status == 304
    assert response.getheader("content-security-policy") in (None, policy)


def test_the_pages_keep_the_policy(app, page, new_context) -> None:  # noqa: ANN001
    """The real pages, staff and member, work under the CSP and report no violation."""
    violations: list[str] = []

    def watch(p) -> None:  # noqa: ANN001
        p.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )

    watch(page)
    app.login(page, "manager")
    cid = _db(app, "SELECT id FROM customers ORDER BY id LIMIT 1")[0][0]
    for path in ("/", "/customers", f"/customers/{cid}", "/approvals", "/audit"):
        app.goto_shell(page, path)
        page.wait_for_load_state("networkidle")
    member = new_context().new_page()
    watch(member)
    app.login(member, "13800138000", member=True)
    app.goto_shell(member, "/portal")
    member.wait_for_load_state("networkidle")
    expect(member.get_by_test_id("user-name")).to_be_visible()
    assert violations == []


def _handshake(url: str, origin: str) -> int:
    conn = _connect(url)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.request(
        "GET",
        "/_event/?EIO=4&transport=websocket",
        headers={
            "Origin": origin,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_event_socket_answers_its_own_origin_only(server) -> None:  # noqa: ANN001
    assert _handshake(server.url, server.url) == 101
    assert _handshake(server.url, EVIL) != 101
    # nor does the API let another origin's page read its answers
    conn = _connect(server.url)
    preflight = {"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    conn.request("OPTIONS", "/_upload", headers=preflight)
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.getheader("access-control-allow-origin") is None


def _post_headers(size: int | None, cookie: str = "") -> dict[str, str]:
    headers = {
        "Content-Type": "multipart/form-data; boundary=xyz",
        "Reflex-Client-Token": "no-such-tab",
        "Reflex-Event-Handler": SAVE_HANDLER,
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    if cookie:
        headers["Cookie"] = cookie
    return headers


def _announce(url: str, size: int, cookie: str = "") -> int:
    """POST headers announcing `size` bytes, and no body: the answer comes before any is sent."""
    conn = _connect(url)
    conn.putrequest("POST", "/_upload")
    for name, value in _post_headers(size, cookie).items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def _stream(url: str, size: int, cookie: str) -> int:
    """A multipart body sent in chunks without a Content-Length, stopped once `size` bytes are
    out; then the answer is read (the server has read all that was sent: it closes cleanly)."""
    parts = urllib.parse.urlsplit(url)
    head = "".join(f"{k}: {v}\r\n" for k, v in _post_headers(None, cookie).items())
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(
            f"POST /_upload HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sent = 0
        piece = (
            b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )
        while sent < size:
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
            piece = b"\0" * min(size - sent, 256 * 1024)
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


def test_an_anonymous_upload_is_refused_before_its_body(server) -> None:  # noqa: ANN001
    assert _announce(server.url, 9 * 1024 * 1024) == 403
    assert _announce(server.url, 9 * 1024 * 1024, "custapp_session=forged") == 403


def test_an_upload_past_the_limit_is_refused(app, page) -> None:  # noqa: ANN001
    app.login(page, "frontdesk")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "custapp_session")
    cookie = f"custapp_session={token}"
    assert _announce(app.url, UPLOAD_MAX_BYTES + 1, cookie) == 413
    assert _stream(app.url, UPLOAD_MAX_BYTES + 1, cookie) == 413


def _db(app, sql: str) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()
