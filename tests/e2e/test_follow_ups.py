"""服务/沟通记录 and 我的待跟进 in the browser: front desk records a contact with a follow-up due
today on a customer's profile, finds it under 我的待跟进, completes it, and it is gone."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
PASSWORD = "Follow-2026-pass"


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_front_desk_records_a_follow_up_and_completes_it(app, page) -> None:  # noqa: ANN001
    # A front-desk account of its own: the demo front desk already has seeded follow-ups.
    user = app.server.create_user("e2efollow", PASSWORD)
    cid, number, name = _db(
        app,
        "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL "
        "ORDER BY id LIMIT 1 OFFSET 5",
    )[0]
    content = f"电话回访，客户想了解年卡续费 {secrets.token_hex(4)}"
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    app.login(page, user, PASSWORD)
    app.goto_shell(page, f"/customers/{cid}")
    expect(page.get_by_test_id("customer-name")).to_have_text(name)
    page.get_by_test_id("tab-service").click()
    expect(page.get_by_test_id("service-add")).to_be_visible()  # the tab has loaded

    # 添加记录: a missing content is named next to its field, nothing saved
    page.get_by_test_id("service-add").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["service_log.add_title"])
    dialog.get_by_test_id("service-save").click()
    expect(dialog.get_by_test_id("field-error")).to_have_text(
        ZH["service_log.error.content_required"]
    )
    dialog.locator("#sl-content").fill(content)
    dialog.locator("#sl-follow-up").fill(today)
    expect(dialog.locator("#sl-follow-up")).to_have_value(today)
    dialog.get_by_test_id("service-save").click()
    expect(dialog).to_be_hidden()

    row = page.get_by_test_id("service-row").filter(has_text=content)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(today)
    expect(row).to_contain_text(ZH["service_log.kind.call"])
    expect(row.get_by_test_id("due-badge")).to_have_text(ZH["service_log.due.today"])
    stored = _db(
        app,
        "SELECT content_enc, next_follow_up FROM service_logs WHERE customer_id = ? "
        "ORDER BY id DESC LIMIT 1",
        cid,
    )
    assert stored and stored[0][1] == today and content[:6] not in stored[0][0], stored
    assert not _db(app, "SELECT seq FROM audit_log WHERE detail LIKE ?", f"%{content[-8:]}%")

    # 我的待跟进 from the menu: the entry is there, due today, linked to the customer
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.follow_ups"]).click()
    expect(page).to_have_url(f"{app.url}/follow-ups")
    due = page.get_by_test_id("follow-up-row")
    expect(due).to_have_count(1)
    expect(due).to_contain_text(number)
    expect(due).to_contain_text(name)
    expect(due).to_contain_text(content[:20])
    expect(due.get_by_test_id("due-badge")).to_have_text(ZH["service_log.due.today"])
    expect(due.locator(f'a[href="/customers/{cid}"]').first).to_be_visible()
    expect(page.get_by_test_id("follow-ups-count")).to_have_text(
        ZH["follow_ups.count"].format(count=1)
    )

    # 完成: with an outcome; the list is empty afterwards
    due.get_by_test_id("follow-up-complete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["service_log.complete_title"])
    dialog.locator("#complete-outcome").fill("客户确认续费")
    dialog.get_by_test_id("complete-confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("follow-up-row")).to_have_count(0)
    expect(page.get_by_test_id("follow-ups-empty")).to_have_text(ZH["follow_ups.empty"])

    # and the profile's tab shows it done, with the outcome
    app.goto_shell(page, f"/customers/{cid}")
    page.get_by_test_id("tab-service").click()
    row = page.get_by_test_id("service-row").filter(has_text=content)
    expect(row).to_contain_text(ZH["service_log.done"])
    expect(row).to_contain_text("客户确认续费")
    expect(row.get_by_test_id("service-complete")).to_have_count(0)
