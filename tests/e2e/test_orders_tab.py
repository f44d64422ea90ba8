"""消费记录 at the counter: the front desk opens a new customer's transactions tab, posts a purchase
split across two payment methods (a mismatch is refused next to the payments first), sees it in
the list, refunds part of it, and the overview's 12-month spend and last purchase follow; the
cs_manager recalculates the classes from the customer list."""

from __future__ import annotations

import random
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
PROFILE_URL = re.compile(r"/customers/(\d+)$")


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _new_customer(app, page, name: str) -> int:  # noqa: ANN001
    """新建客户 with a name and a phone; the form is re-keyed by its load, so typing waits for
    the load's answer (as in test_customer_journey)."""
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda p: frames.append(p if isinstance(p, str) else repr(p))
        ),
    )
    app.goto_shell(page, "/customers/new")
    for _ in range(100):
        if any("form_key" in f for f in frames):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("the form page did not load")
    page.wait_for_timeout(200)
    page.fill("#f-name", name)
    page.fill("#f-phone", "137" + "".join(random.choices("0123456789", k=8)))
    expect(page.locator("#f-name")).to_have_value(name)
    page.get_by_test_id("consent-step").get_by_role(
        "checkbox", name=ZH["consent.counter.notice_shown"]
    ).click()
    page.get_by_test_id("customer-save").click()
    expect(page).to_have_url(PROFILE_URL)
    return int(PROFILE_URL.search(page.url).group(1))


def _fact(page, label_key: str):  # noqa: ANN001, ANN202
    """The value next to a label in the overview's classification card."""
    item = page.locator(".rt-DataListItem").filter(has_text=ZH[label_key])
    return item.locator(".rt-DataListValue")


def _choose_method(page, dialog, index: int, method: str) -> None:  # noqa: ANN001
    dialog.get_by_test_id("pay-method").nth(index).click()
    page.get_by_role("option", name=ZH[f"orders.method.{method}"]).click()
    expect(dialog.get_by_test_id("pay-method").nth(index)).to_contain_text(
        ZH[f"orders.method.{method}"]
    )


def test_front_desk_posts_a_split_payment_purchase(app, page, new_context) -> None:  # noqa: ANN001
    app.login(page, "frontdesk")
    cid = _new_customer(app, page, "消费测试")
    expect(page.get_by_test_id("customer-name")).to_have_text("消费测试")
    expect(_fact(page, "customer.spend_12m")).to_have_text("¥0.00")
    expect(_fact(page, "customer.last_purchase")).to_have_text("—")

    page.get_by_test_id("tab-transactions").click()
    expect(page.get_by_test_id("orders-empty")).to_have_text(ZH["orders.empty"])
    page.get_by_test_id("purchase-open").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()

    # two items: ¥199.90 + 2 × ¥10.05 = ¥220.00
    dialog.get_by_test_id("line-item").nth(0).fill("羊绒围巾")
    dialog.get_by_test_id("line-price").nth(0).fill("199.90")
    dialog.get_by_role("button", name=ZH["orders.add_line"]).click()
    expect(dialog.get_by_test_id("line-item")).to_have_count(2)
    dialog.get_by_test_id("line-item").nth(1).fill("礼盒")
    dialog.get_by_test_id("line-quantity").nth(1).fill("2")
    dialog.get_by_test_id("line-price").nth(1).fill("10.05")
    expect(dialog.get_by_test_id("draft-total")).to_have_text("¥220.00")

    # split: WeChat ¥200 + cash ¥10 does not add up ...
    _choose_method(page, dialog, 0, "wechat")
    dialog.get_by_test_id("pay-amount").nth(0).fill("200")
    dialog.get_by_test_id("add-payment").click()
    expect(dialog.get_by_test_id("pay-amount")).to_have_count(2)
    _choose_method(page, dialog, 1, "cash")
    dialog.get_by_test_id("pay-amount").nth(1).fill("10")
    dialog.get_by_test_id("purchase-submit").click()
    expect(dialog.get_by_text(ZH["orders.error.payments_mismatch"])).to_be_visible()
    assert _db(app, "SELECT count(*) FROM orders WHERE customer_id = ?", cid) == [(0,)]

    # ... ¥200 + ¥20 does
    dialog.get_by_test_id("pay-amount").nth(1).fill("20")
    expect(dialog.get_by_test_id("pay-amount").nth(1)).to_have_value("20")
    dialog.get_by_test_id("purchase-submit").click()
    expect(dialog).to_be_hidden()
    rows = page.get_by_test_id("order-row")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text(re.compile(r"S\d{8}\d{8}"))
    expect(row).to_contain_text("羊绒围巾 ×1、礼盒 ×2")
    expect(row).to_contain_text("¥220.00")
    expect(row).to_contain_text(f"{ZH['orders.method.wechat']} ¥200.00")
    expect(row).to_contain_text(f"{ZH['orders.method.cash']} ¥20.00")
    expect(row).to_contain_text("总店")
    expect(row.get_by_test_id("refund-open")).to_be_visible()
    stored = _db(
        app,
        "SELECT o.paid_fen, o.spend_fen, count(p.id) FROM orders o "
        "JOIN order_payments p ON p.order_id = o.id WHERE o.customer_id = ? GROUP BY o.id",
        cid,
    )
    assert stored == [(22000, 22000, 2)]

    # a refund of more than is left is refused next to the amount; ¥20 with a reason is not
    row.get_by_test_id("refund-open").click()
    refund = page.get_by_role("dialog")
    expect(refund).to_contain_text("¥220.00")
    refund.get_by_test_id("refund-amount").fill("220.01")
    refund.get_by_test_id("refund-reason").fill("礼盒破损")
    refund.get_by_test_id("refund-submit").click()
    expect(refund.get_by_text(ZH["orders.error.refund_amount"])).to_be_visible()
    refund.get_by_test_id("refund-amount").fill("20")
    refund.get_by_test_id("refund-reason").fill("礼盒破损")
    refund.get_by_test_id("refund-submit").click()
    expect(refund.get_by_test_id("money-confirm-text")).to_contain_text("¥20.00")
    refunds = "SELECT count(*) FROM orders WHERE kind = 'refund' AND customer_id = ?"
    assert _db(app, refunds, cid) == [(0,)]  # nothing before 确认
    refund.get_by_test_id("money-confirm").click()
    expect(refund).to_be_hidden()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(ZH["orders.kind.refund"])
    expect(rows.first).to_contain_text("-¥20.00")

    # the overview shows the new spend, the purchase date and the lifecycle
    page.get_by_test_id("tab-overview").click()
    expect(_fact(page, "customer.spend_12m")).to_have_text("¥200.00")
    expect(_fact(page, "customer.last_purchase")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d$"))
    expect(page.get_by_text(ZH["customer.lifecycle.new"]).first).to_be_visible()
    assert _db(app, "SELECT lifecycle, spend_12m_fen FROM customers WHERE id = ?", cid) == [
        ("new", 20000)
    ]

    # only the cs_manager sees 重新计算分级 on the list, and it reports the classes
    app.goto_shell(page, "/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("reclassify")).to_have_count(0)
    manager = new_context().new_page()
    app.login(manager, "manager")
    app.goto_shell(manager, "/customers")
    manager.get_by_test_id("reclassify").click()
    expect(manager.get_by_text(re.compile(r"^已重新计算：\d+ 位客户"))).to_be_visible()
