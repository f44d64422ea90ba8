"""What every HTTP answer carries, and what Reflex's upload endpoint accepts (issue 14 item 10).

Wrapped around Reflex's whole backend (rx.App(api_transformer=...)): with `reflex run --env prod
--single-port` that is the page, its assets, /ping, /_upload and the /_event websocket alike.

- Security headers on every HTTP answer: a Content-Security-Policy for what the built frontend
  loads (its own scripts, styles and websocket; inline styles from Radix; inline scripts only by
  the hash of the ones the page itself carries; eval, which Reflex's rx.call_script needs for
  the script text its server sends), no framing, nosniff, same-origin referrers.
- POST /_upload: refused (403) without a logged-in session, before any byte of the body is read;
  refused (413) past the attachment limit, by Content-Length up front and by counting the bytes
  as they stream (a body without a length, or one longer than it said).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from reflex import constants
from reflex_base.config import get_config
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custapp.db import session_scope
from custapp.i18n import t
from custapp.services import attachments, auth
from custapp.settings import get_settings
from custapp.states.session import SESSION_COOKIE

# multipart framing and Reflex's bound handler arguments around the one file
UPLOAD_MAX_BYTES = attachments.MAX_BYTES + 64 * 1024

_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'{hashes}; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_HEADER_NAMES = {name for name, _ in _HEADERS}
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def secure(app: ASGIApp) -> ASGIApp:
    return SecurityHeaders(UploadGuard(app))


def policy_for(html: bytes) -> bytes:
    """The CSP for a page: its own inline scripts allowed by hash, no others."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in dict.fromkeys(_INLINE_SCRIPT.findall(html))
    )
    return _POLICY.format(hashes=hashes).encode()


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _HEADER_NAMES
                ]
                message = {**message, "headers": headers + _HEADERS}
                if _html_encoding(headers) is not None:
                    start = message  # held until the page is read: its scripts' hashes
                    return
                if message["status"] != 304:  # a 304 keeps the cached page's own policy
                    message["headers"].append((b"content-security-policy", policy_for(b"")))
            elif start is not None:
                if message["type"] == "http.response.pathsend":  # a file the server sends itself
                    page = Path(message["path"]).read_bytes()
                else:
                    body.append(message.get("body", b""))
                    if message.get("more_body", False):
                        return
                    page = b"".join(body)
                    message = {**message, "body": page}
                html = gzip.decompress(page) if _html_encoding(start["headers"]) else page
                start["headers"].append((b"content-security-policy", policy_for(html)))
                await send(start)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _html_encoding(headers: list[tuple[bytes, bytes]]) -> bool | None:
    """For a page as the built frontend serves it: is it gzipped (the precompressed copy)?
    None for anything else."""
    found = {name.lower(): value.lower() for name, value in headers}
    if not found.get(b"content-type", b"").startswith(b"text/html"):
        return None
    encoding = found.get(b"content-encoding", b"")
    return encoding == b"gzip" if encoding in (b"", b"identity", b"gzip") else None


class UploadGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.path = get_config().prepend_backend_path(str(constants.Endpoint.UPLOAD))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        length = connection.headers.get("content-length", "")
        if length and (not length.isdecimal() or int(length) > UPLOAD_MAX_BYTES):
            await _refuse(send, 413, "attachment.error.file_too_large")
            return
        token = connection.cookies.get(SESSION_COOKIE, "")
        if not await asyncio.to_thread(_logged_in, token):
            await _refuse(send, 403, "auth.login_required")
            return
        seen = 0
        over = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > UPLOAD_MAX_BYTES:
                    over = True  # the upload handler sees the client gone and stops
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await _refuse(send, 413, "attachment.error.file_too_large")

        await self.app(scope, counted, answer)


def _logged_in(token: str) -> bool:
    """No address: behind a proxy the socket's is the proxy's (Reflex applies
    trusted_proxy_hops to events only), and a session this ends is audited without one."""
    with session_scope() as session:
        return auth.resolve_session(session, token=token, touch=False).actor is not None


async def _refuse(send: Send, status: int, key: str) -> None:
    body = json.dumps({"detail": t(key, get_settings().locale)}, ensure_ascii=False).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
