"""Canary values typed into logins, reasons and notes never reach the audit log (issue 14,
acceptance 6): a reason holding one is refused next to the field, a note holding them is kept
encrypted, and a failed login stores no trace of what was typed. The session-wide check in
conftest.py reads every text column of the audit log at the end of the browser session."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES
from tests.e2e.canaries import CARD, ID_NUMBER, PHONE, found_in_audit_log

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
PASSWORD = "Canary-2026-pass"


def _db(app, sql: str) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def test_canaries_typed_into_logins_reasons_and_notes_stay_out_of_the_audit_log(
    app, page, new_context
):  # noqa: ANN001
    # logins: the phone as a member's login (in a browser of its own: the page remembers the
    # member tab), a phone and an ID number as a staff username
    member = new_context().new_page()
    app.submit_login(member, PHONE, PASSWORD, member=True)
    expect(member.get_by_test_id("login-error")).to_have_text(ZH["auth.member_invalid"])
    for login in (PHONE, ID_NUMBER):
        app.submit_login(page, login, PASSWORD)
        expect(page.get_by_test_id("login-error")).to_have_text(ZH["auth.invalid"])

    user = app.server.create_user("e2ecanary", PASSWORD)
    ((cid,),) = _db(
        app,
        "SELECT id FROM customers WHERE merged_into_id IS NULL AND phone_enc IS NOT NULL "
        "ORDER BY id LIMIT 1",
    )
    app.login(page, user, PASSWORD)
    app.goto_shell(page, f"/customers/{cid}")

    # reveal reasons holding a phone and an ID number, then a card number: refused at the field
    for reason in (f"客户来电{PHONE}要求核对身份证{ID_NUMBER}", f"核对银行卡{CARD}"):
        page.get_by_test_id("reveal-phone").click()
        dialog = page.get_by_role("dialog")
        dialog.locator("#reveal-reason").fill(reason)
        dialog.get_by_test_id("reveal-confirm").click()
        expect(dialog).to_contain_text(ZH["validation.reason.personal_number"])
        expect(page.get_by_test_id("revealed-value")).to_have_count(0)
        if CARD in reason:
            _shot(page, "reason-refused.png")
        dialog.get_by_role("button", name=ZH["common.cancel"]).click()
        expect(dialog).to_be_hidden()

    # a service-log note holding all three: saved, encrypted, and not in the audit log
    page.get_by_test_id("tab-service").click()
    page.get_by_test_id("service-add").click()
    dialog = page.get_by_role("dialog")
    note = f"客户留了新号码{PHONE}，证件{ID_NUMBER}，卡号{CARD}"
    dialog.locator("#sl-content").fill(note)
    dialog.get_by_test_id("service-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("service-row").filter(has_text=CARD)).to_have_count(1)

    assert found_in_audit_log(app.server.env["CUSTAPP_DATABASE_URL"]) == []
