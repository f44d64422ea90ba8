"""权利请求 in the browser: the front desk files a copy request for a customer found by number;
compliance sees it with the overdue ones in red, produces the copy (an encrypted zip that opens
with the password shown in its own dialog, and holds this customer's data), and closes it."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
import pyzipper
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
DETAIL = "客户到柜台要求提供本人消费记录与个人资料的副本"
PASSWORD_SHAPE = re.compile(r"^\S{12}$")

# Requests filed some days ago through the service itself (encrypted like any other), so that
# the list has overdue, due-soon and fresh ones: (customer offset, kind, channel, days ago, text).
EARLIER = [
    (7, "deletion", "letter", 19, "来信要求删除其家庭住址"),
    (8, "withdrawal", "phone", 16, "来电要求不再接收营销短信"),
    (9, "explanation", "phone", 9, "询问会员资料用于哪些用途"),
    (10, "correction", "counter", 3, "手机号已更换，要求更正"),
]
_FILE_EARLIER = """
import json, sys
from datetime import timedelta
from custapp import clock
from custapp.db import session_scope
from custapp.services import rights
from custapp.services.actor import system_actor
for cid, kind, channel, days, detail in json.loads(sys.argv[1]):
    clock.set_now(None)
    clock.set_now(clock.now() - timedelta(days=days))
    with session_scope() as session:
        rights.file_request(session, actor=system_actor("demo"), customer_id=cid, kind=kind,
                            channel=channel, detail=detail)
"""


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _customers(app) -> list[tuple]:  # noqa: ANN001
    return _db(
        app,
        "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL "
        "AND kind = 'individual' ORDER BY id LIMIT 11 OFFSET 20",
    )


def _file_earlier(app, people: list[tuple]) -> None:  # noqa: ANN001
    plan = [(people[i][0], kind, channel, days, text) for i, kind, channel, days, text in EARLIER]
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _FILE_EARLIER, json.dumps(plan)],
        cwd=ROOT,
        env=app.server.env,
        check=True,
        timeout=120,
    )


def _choose(page, dialog, testid: str, label: str) -> None:  # noqa: ANN001
    dialog.get_by_test_id(testid).click()
    page.get_by_role("option", name=label, exact=True).click()
    expect(dialog.get_by_test_id(testid)).to_contain_text(label)


def test_a_copy_request_from_counter_to_encrypted_copy(app, new_context) -> None:  # noqa: ANN001
    people = _customers(app)
    cid, number, name = people[0]
    _file_earlier(app, people)

    # 前台: 登记权利请求 for a customer found by number
    desk = new_context().new_page()
    app.login(desk, "frontdesk")
    desk.get_by_test_id("menu-item").filter(has_text=ZH["nav.rights"]).click()
    expect(desk).to_have_url(f"{app.url}/rights-requests")
    expect(desk.get_by_text(ZH["rights.my_filed_empty"])).to_be_visible()
    desk.get_by_test_id("rights-file").click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["rights.file_notice"])
    dialog.locator("#rights-lookup").fill(number)
    dialog.get_by_test_id("rights-find").click()
    expect(dialog.get_by_test_id("rights-customer")).to_have_text(f"{number} {name}")
    _choose(desk, dialog, "rights-kind", ZH["rights.kind.copy"])
    _choose(desk, dialog, "rights-channel", ZH["rights.channel.counter"])
    dialog.locator("#rights-detail").fill(DETAIL)
    dialog.get_by_test_id("rights-save").click()
    expect(dialog).to_be_hidden()
    filed = desk.get_by_test_id("filed-row")
    expect(filed).to_have_count(1)
    expect(filed).to_contain_text(name)
    expect(filed).to_contain_text(ZH["rights.status.open"])
    (request_number,) = _db(
        app, "SELECT number FROM rights_requests WHERE customer_id = ? AND kind = 'copy'", cid
    )[0]
    assert not _db(app, "SELECT id FROM rights_requests WHERE detail_enc LIKE ?", f"%{DETAIL[:6]}%")

    # 合规: the list, soonest due first, overdue ones in red; other tests of the session may
    # have left open requests of their own (a member's correction, say)
    (open_now,) = _db(
        app, "SELECT count(*) FROM rights_requests WHERE status IN ('open', 'in_progress')"
    )[0]
    elsewhere = open_now - len(EARLIER) - 1
    page = new_context().new_page()
    app.login(page, "compliance")
    app.goto_shell(page, "/rights-requests")
    rows = page.get_by_test_id("rights-row")
    expect(rows).to_have_count(len(EARLIER) + 1 + elsewhere)
    overdue = page.get_by_test_id("overdue-badge")
    expect(overdue).to_have_count(2)
    expect(overdue.first).to_have_text(ZH["rights.overdue"].format(days=4))
    expect(rows.first).to_contain_text(ZH["rights.kind.deletion"])
    expect(rows.last).to_contain_text(request_number)
    _shot(page, "rights-requests.png")
    page.get_by_test_id("rights-f-overdue").click()
    expect(rows).to_have_count(2)
    page.get_by_test_id("rights-f-overdue").click()
    expect(rows).to_have_count(len(EARLIER) + 1 + elsewhere)

    # the copy: a download, and its password in a dialog of its own
    rows.filter(has_text=request_number).get_by_test_id("rights-open").click()
    detail = page.get_by_role("dialog")
    expect(detail.get_by_test_id("rights-detail-text")).to_have_text(DETAIL)
    with page.expect_download() as download:
        detail.get_by_test_id("rights-make-copy").click()
    assert download.value.suggested_filename == f"{request_number}-copy.zip"
    content = Path(download.value.path()).read_bytes()
    password_box = page.get_by_test_id("copy-password")
    expect(password_box).to_have_text(PASSWORD_SHAPE)
    password = password_box.inner_text().strip()
    assert name.encode() not in content
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(password.encode())
        data = json.loads(archive.read("data.json"))
    profile = {row["field"]: row["value"] for row in data["sections"]["profile"]}
    assert (profile["number"], profile["name"]) == (number, name)
    assert [r["detail"] for r in data["sections"]["rights_requests"]] == [DETAIL]
    others = {p[2] for p in people[1:]} - {name}
    text = json.dumps(data, ensure_ascii=False)
    assert not [other for other in others if other in text]
    page.get_by_test_id("copy-password-done").click()
    expect(password_box).to_be_hidden()

    # closed with the outcome; the copy is on record in the audit log, with no value
    detail.locator("#rights-outcome").fill("已交付加密副本，密码已电话告知客户本人")
    detail.get_by_test_id("rights-done").click()
    expect(detail).to_be_hidden()
    expect(rows).to_have_count(len(EARLIER) + elsewhere)
    (fields, detail_json) = _db(
        app,
        "SELECT fields, detail FROM audit_log WHERE action = 'rights.copy' AND target_id = ?",
        request_number,
    )[0]
    assert "phone" in fields and name not in f"{fields} {detail_json}"
    assert _db(app, "SELECT status FROM rights_requests WHERE number = ?", request_number) == [
        ("done",)
    ]
