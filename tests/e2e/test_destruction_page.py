"""销毁 in the browser (issue 16): compliance proposes a customer with nothing open and appraises
it; the approve button is not there for the appraiser; the cs_manager approves it as the second
person; the customer is gone (tombstone, no name) and the register tab shows the destruction to
the auditor."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]

# an individual with no card, no stored value, no live points, nothing open or pending
_SETTLED = """
SELECT c.id, c.number FROM customers c
WHERE c.kind = 'individual' AND c.merged_into_id IS NULL AND c.destroyed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM member_cards m WHERE m.customer_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM stored_value_entries s WHERE s.customer_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM points_lots p WHERE p.customer_id = c.id AND p.remaining > 0)
  AND NOT EXISTS (SELECT 1 FROM complaints k WHERE k.customer_id = c.id AND k.status <> 'closed')
  AND NOT EXISTS (SELECT 1 FROM rights_requests r WHERE r.customer_id = c.id
                  AND r.status IN ('open', 'in_progress'))
  AND NOT EXISTS (SELECT 1 FROM approval_requests a WHERE a.customer_id = c.id
                  AND a.status = 'pending')
  AND NOT EXISTS (SELECT 1 FROM redemption_requests q WHERE q.customer_id = c.id
                  AND q.status = 'pending')
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.customer_id = c.id)
ORDER BY c.id DESC LIMIT 1
"""


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_two_people_destroy_a_customer_and_the_auditor_sees_the_register(app, new_context):  # noqa: ANN001
    [(cid, number)] = _db(app, _SETTLED)
    page = new_context().new_page()
    app.login(page, "compliance")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.destruction"]).click()
    expect(page).to_have_url(f"{app.url}/destruction")
    page.get_by_test_id("destruction-propose").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("destruction-number").fill(number)
    dialog.get_by_test_id("destruction-note").fill("合作已终止，经核实无保存价值")
    dialog.get_by_test_id("destruction-propose-submit").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_test_id("destruction-row").filter(has_text=number)
    expect(row).to_contain_text(ZH["destruction.why.manual"])
    row.get_by_test_id("destruction-appraise").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("destruction-appraise-submit").click()
    expect(dialog).to_be_hidden()
    page.get_by_test_id("tab-approval").click()
    mine = page.get_by_test_id("destruction-row").filter(has_text=number)
    expect(mine).to_contain_text(ZH["destruction.own_appraisal"])
    expect(mine.get_by_test_id("destruction-approve")).to_have_count(0)
    _shot(page, "destruction.png")

    boss = new_context().new_page()
    app.login(boss, "manager")
    app.goto_shell(boss, "/destruction")
    boss.get_by_test_id("tab-approval").click()
    theirs = boss.get_by_test_id("destruction-row").filter(has_text=number)
    theirs.get_by_test_id("destruction-approve").click()
    dialog = boss.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["destruction.approve.warning"][:10])
    dialog.get_by_test_id("destruction-approve-submit").click()
    expect(dialog).to_be_hidden()
    boss.get_by_test_id("tab-register").click()
    # the tombstone's number replaces the customer's own (it is on paper forms and cards)
    [(name, tombstone)] = _db(app, "SELECT name, number FROM customers WHERE id = ?", cid)
    assert name == "已销毁客户" and tombstone != number
    expect(boss.get_by_test_id("register-row").filter(has_text=tombstone)).to_have_count(1)
    # every destruction of this app's run is in the register (another test of this worker's
    # server may have destroyed a customer before this one)
    [(done,)] = _db(
        app,
        "SELECT count(*) FROM customers WHERE destroyed_at IS NOT NULL AND merged_into_id IS NULL",
    )
    expect(boss.get_by_test_id("register-status")).to_contain_text(f"共 {done} 条")

    auditor = new_context().new_page()
    app.login(auditor, "auditor")
    auditor.get_by_test_id("menu-item").filter(has_text=ZH["nav.destruction"]).click()
    expect(auditor.get_by_test_id("tab-queued")).to_have_count(0)
    expect(auditor.get_by_test_id("register-row").filter(has_text=tombstone)).to_have_count(1)
