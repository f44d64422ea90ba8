"""投诉附件 in the browser (issue 6): front desk uploads a scan on the complaint page, sees it listed
with its name masked and an internal timeline entry, and downloads the same bytes (audited); the
demo member adds a photo to their own complaint in the portal and sees it listed. The files are
stored encrypted and never land in Reflex's public upload folder."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_attachments_browser import _db, _files_holding, _png

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
MEMBER_PHONE = "13800138000"  # the demo member (custapp seed-demo)
_FILE = """
import sys
from custapp.db import session_scope
from custapp.services import complaints
from custapp.services.actor import system_actor
with session_scope() as session:
    row = complaints.file_complaint(
        session, actor=system_actor("e2e"), customer_id=int(sys.argv[1]), channel="counter",
        category="product", severity="normal", description="托运后行李箱破损",
    )
    print(row.id, row.number)
"""


def _complaint(app, customer_id: int) -> tuple[int, str]:  # noqa: ANN001
    """A complaint filed at the counter for the customer: (id, number)."""
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _FILE, str(customer_id)],
        cwd=ROOT, env=app.server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    complaint_id, number = done.stdout.split()[-2:]
    return int(complaint_id), number


def _stored(app, complaint_id: int) -> list[tuple]:  # noqa: ANN001
    return _db(
        app,
        "SELECT id, content_enc, filename_enc, content_type, by_member FROM complaint_attachments "
        "WHERE complaint_id = ?",
        complaint_id,
    )


def test_front_desk_uploads_a_scan_on_the_complaint_page(app, page) -> None:  # noqa: ANN001
    token = secrets.token_hex(6)
    marker = f"e2e-complaint-scan-{token}".encode()
    content, filename = _png(marker), f"scan-{token}.png"
    ((cid,),) = _db(
        app, "SELECT id FROM customers WHERE merged_into_id IS NULL ORDER BY id LIMIT 1"
    )
    complaint_id, number = _complaint(app, cid)

    app.login(page, "frontdesk")
    app.goto_shell(page, f"/complaints/{complaint_id}")
    expect(page.get_by_test_id("complaint-number")).to_have_text(number)
    section = page.get_by_test_id("complaint-attachments")
    expect(section).to_contain_text(ZH["complaint_attachment.empty"])

    # nothing chosen: refused next to the button
    section.get_by_test_id("complaint-attachment-upload").click()
    expect(section.get_by_test_id("field-error")).to_have_text(
        ZH["complaint_attachment.error.choose_file"]
    )
    section.locator("input[type=file]").set_input_files(
        files=[{"name": filename, "mimeType": "image/png", "buffer": content}]
    )
    expect(section.get_by_text(filename)).to_be_visible()  # the selection, in this browser only
    section.get_by_test_id("complaint-attachment-upload").click()

    row = section.get_by_test_id("complaint-attachment-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("s***.png")  # the name masked in the list
    expect(row).to_contain_text("PNG")
    expect(section.get_by_text(filename)).to_have_count(0)  # the selection is cleared
    expect(section.get_by_test_id("field-error")).to_have_count(0)
    assert filename not in page.content()
    entry = page.get_by_test_id("timeline-entry").filter(
        has_text=ZH["complaint_pages.kind.attachment"]
    )
    expect(entry).to_have_count(1)
    expect(entry.get_by_test_id("entry-internal")).to_be_visible()

    ((attachment_id, stored, name_enc, content_type, by_member),) = _stored(app, complaint_id)
    assert marker not in bytes(stored) and token not in name_enc
    assert (content_type, by_member) == ("image/png", 0)
    assert _files_holding(marker) == []

    with page.expect_download() as download:
        row.get_by_test_id("complaint-attachment-download").click()
    assert download.value.suggested_filename == filename
    assert Path(download.value.path()).read_bytes() == content
    opened = _db(
        app,
        "SELECT actor_name, customer_id FROM audit_log "
        "WHERE action = 'complaint_attachment.open' AND target_id = ?",
        str(attachment_id),
    )
    assert opened == [("frontdesk", cid)]
    expect(page.get_by_text("An error occurred")).to_have_count(0)


def test_a_member_adds_a_photo_to_their_own_complaint(app, new_context) -> None:  # noqa: ANN001
    token = secrets.token_hex(6)
    marker = f"e2e-member-photo-{token}".encode()
    content, filename = _png(marker), f"photo-{token}.png"
    ((cid,),) = _db(
        app,
        "SELECT customer_id FROM users WHERE kind = 'member' AND customer_id IS NOT NULL "
        "ORDER BY id LIMIT 1",
    )
    complaint_id, number = _complaint(app, cid)

    page = new_context().new_page()
    app.login(page, MEMBER_PHONE, member=True)
    app.goto_shell(page, "/portal/complaints")
    page.get_by_test_id("complaint-row").filter(has_text=number).get_by_test_id(
        "complaint-open"
    ).click()
    dialog = page.get_by_role("dialog")
    files = dialog.get_by_test_id("complaint-files")
    expect(files).to_contain_text(ZH["complaint_attachment.portal.empty"])
    files.locator("input[type=file]").set_input_files(
        files=[{"name": filename, "mimeType": "image/png", "buffer": content}]
    )
    expect(files.get_by_text(filename)).to_be_visible()
    files.get_by_test_id("complaint-file-upload").click()

    listed = files.get_by_test_id("complaint-file")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("p***.png")
    expect(files.get_by_text(filename)).to_have_count(0)
    expect(page.get_by_text(ZH["complaint_attachment.portal.added"])).to_be_visible()

    ((attachment_id, stored, name_enc, _, by_member),) = _stored(app, complaint_id)
    assert marker not in bytes(stored) and token not in name_enc and by_member == 1
    assert _files_holding(marker) == []
    with page.expect_download() as download:
        listed.get_by_test_id("complaint-file-download").click()
    assert Path(download.value.path()).read_bytes() == content
    assert _db(
        app,
        "SELECT customer_id FROM audit_log WHERE action = 'complaint_attachment.add' "
        "AND target_id = ?",
        str(attachment_id),
    ) == [(cid,)]
    expect(page.get_by_text("An error occurred")).to_have_count(0)
