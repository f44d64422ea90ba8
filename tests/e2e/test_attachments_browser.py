"""附件 in the browser: front desk adds a PNG to a customer's archive and downloads it with a
reason (audited); the file is stored encrypted, never in Reflex's public upload folder, and no
address serves it to anyone."""

from __future__ import annotations

import secrets
import sqlite3
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
ROOT = Path(__file__).resolve().parents[2]


def _png(marker: bytes) -> bytes:
    """A real 1×1 PNG carrying `marker` in a text chunk, so its bytes can be looked for."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + marker)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _fetch(url: str, cookie: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _customer(app) -> int:  # noqa: ANN001
    (cid,) = _db(app, "SELECT id FROM customers WHERE merged_into_id IS NULL ORDER BY id LIMIT 1")[
        0
    ]
    return cid


def _upload_dirs() -> list[Path]:
    return [ROOT / "uploaded_files", ROOT / ".web" / "backend" / "uploaded_files"]


def _files_holding(marker: bytes) -> list[Path]:
    found = []
    for folder in _upload_dirs():
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file() and marker in path.read_bytes():
                found.append(path)
    return found


def test_front_desk_adds_a_png_and_downloads_it_with_a_reason(app, page) -> None:  # noqa: ANN001
    token = secrets.token_hex(6)
    marker = f"e2e-attachment-{token}".encode()
    content, filename = _png(marker), f"scan-{token}.png"
    location = f"档案室 E2E-{token} 号柜"
    cid = _customer(app)

    app.login(page, "frontdesk")
    app.goto_shell(page, f"/customers/{cid}")
    page.get_by_test_id("tab-attachments").click()
    page.get_by_test_id("attachment-add").click()

    # the errors first: neither file nor location, no category
    page.get_by_test_id("attachment-save").click()
    errors = page.get_by_test_id("field-error")
    expect(errors.filter(has_text=ZH["attachment.error.category"])).to_have_count(1)
    expect(errors.filter(has_text=ZH["attachment.error.file_or_location"])).to_have_count(1)

    page.get_by_test_id("attachment-category").click()
    page.get_by_role("option", name=ZH["attachment.category.id_copy"]).click()
    page.fill("#attachment-paper-location", location)
    page.locator("input[type=file]").set_input_files(
        files=[{"name": filename, "mimeType": "image/png", "buffer": content}]
    )
    expect(page.get_by_text(filename)).to_be_visible()  # the selected file, in this browser only
    page.get_by_test_id("attachment-save").click()

    row = page.get_by_test_id("attachment-row").filter(has_text=location)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(ZH["attachment.category.id_copy"])
    expect(row).to_contain_text("s***.png")  # the name masked in the list
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text(filename)).to_have_count(0)  # the selection is cleared too
    assert filename not in page.content()

    # stored encrypted; nothing in Reflex's upload folders
    ((attachment_id, number, stored, name_enc),) = _db(
        app,
        "SELECT id, archive_number, content_enc, filename_enc FROM attachments "
        "WHERE paper_location = ?",
        location,
    )
    expect(row).to_contain_text(number)
    assert marker not in bytes(stored) and token not in name_enc
    assert _files_holding(marker) == []

    # 下载 with a reason: the same bytes, under its own name, and an audit entry
    row.get_by_test_id("attachment-download").click()
    page.get_by_test_id("attachment-download-confirm").click()
    expect(page.get_by_test_id("field-error")).to_have_text(ZH["customer.error.reason_required"])
    page.fill("#attachment-reason", "核实客户身份（自动化测试）")
    with page.expect_download() as download:
        page.get_by_test_id("attachment-download-confirm").click()
    assert download.value.suggested_filename == filename
    assert Path(download.value.path()).read_bytes() == content
    opened = _db(
        app,
        "SELECT actor_name, customer_id, reason FROM audit_log "
        "WHERE action = 'attachment.open' AND target_id = ?",
        str(attachment_id),
    )
    assert opened == [("frontdesk", cid, "核实客户身份（自动化测试）")]

    # no address serves the file: not the public upload folder, not a guess, logged in or not
    session = next(c for c in page.context.cookies() if c["name"] == "custapp_session")
    cookie = f"custapp_session={session['value']}"
    for path in (
        f"/_upload/{filename}",
        f"/_upload/{attachment_id}",
        f"/_upload/{number}",
        "/_upload/",
        f"/attachments/{attachment_id}",
        f"/_attachments/{attachment_id}",
        f"/api/attachments/{attachment_id}",
        f"/customers/{cid}/attachments/{attachment_id}",
    ):
        for who in ("", cookie):
            status, body = _fetch(f"{app.url}{path}", who)
            assert marker not in body, (path, bool(who))
            if path.startswith("/_upload"):
                assert status in (403, 404), (path, status)


def test_the_upload_folder_answers_nothing_to_anyone(app) -> None:  # noqa: ANN001
    for path in ("/_upload/anything.png", "/_upload/../custapp.db", "/_upload/%2e%2e/rxconfig.py"):
        status, body = _fetch(f"{app.url}{path}")
        assert status in (403, 404), (path, status)
        assert b"SQLite format" not in body and b"rx.Config" not in body
