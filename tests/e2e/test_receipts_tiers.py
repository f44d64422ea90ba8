"""小票, 会员等级 and 作废 in the browser (issue 5): the front desk issues a 银卡, posts a ¥100
purchase split between stored value and cash, and opens its receipt in a new tab (9折, ¥90 paid,
90 points, ¥150 left, name and card masked; the print button is not printed) and the card's
top-up receipt; the manager edits a tier's card fee, then voids today's purchase with a reason and
sees the void row."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db, _open_new_form, _record_frames, _saved_profile
from test_membership_counter import _choose
from test_screenshots import OUT, _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]


def _open_receipt(page, link):  # noqa: ANN001, ANN202
    """The receipt a link opens in a new tab, loaded."""
    with page.context.expect_page() as opened:
        link.click()
    receipt = opened.value
    expect(receipt.get_by_test_id("receipt-number")).to_have_text(re.compile(r"^[SDV]\d{16}$"))
    return receipt


def _new_member(app, page) -> tuple[int, str, str]:  # noqa: ANN001
    """A new customer with a 银卡 and ¥200 of stored value: (id, name, card number)."""
    name = "小票客户" + "".join(random.choices("甲乙丙丁戊己庚辛", k=3))
    frames = _record_frames(page)
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    page.fill("#f-name", name)
    page.fill("#f-phone", "139" + "".join(random.choices("0123456789", k=8)))
    expect(page.locator("#f-name")).to_have_value(name)
    cid = _saved_profile(page)
    page.get_by_test_id("tab-points").click()
    page.get_by_test_id("membership-issue").click()
    dialog = page.get_by_role("dialog")
    _choose(dialog, "action-tier", "银卡")
    dialog.locator("#action-amount").fill("200")
    _choose(dialog, "action-method", ZH["orders.method.cash"])
    _choose(dialog, "action-fee_method", ZH["orders.method.cash"])
    dialog.get_by_test_id("action-confirmed").click()
    dialog.get_by_test_id("action-submit").click()
    dialog.get_by_test_id("money-confirm").click()  # the amount confirmed (issue 14)
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("card-balance")).to_have_text("¥200.00")
    card = page.get_by_test_id("card-number").inner_text().split("：")[-1]
    return cid, name, card


def _post_split_purchase(page) -> None:  # noqa: ANN001
    """¥100.00 at 9折 → ¥90.00: ¥50 from the stored value and ¥40 in cash."""
    page.get_by_test_id("tab-transactions").click()
    page.get_by_test_id("purchase-open").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("line-item").fill("招牌套餐")
    dialog.get_by_test_id("line-price").fill("100")
    expect(dialog.get_by_test_id("draft-paid")).to_have_text("¥90.00")
    _choose(dialog, "pay-method", ZH["orders.method.stored_value"])
    dialog.get_by_test_id("pay-amount").nth(0).fill("50")
    dialog.get_by_test_id("add-payment").click()
    expect(dialog.get_by_test_id("pay-amount")).to_have_count(2)
    dialog.get_by_test_id("pay-method").nth(1).click()
    page.get_by_role("option", name=ZH["orders.method.cash"]).click()
    dialog.get_by_test_id("pay-amount").nth(1).fill("40")
    expect(dialog.get_by_test_id("pay-amount").nth(1)).to_have_value("40")
    dialog.get_by_test_id("purchase-submit").click()
    expect(dialog).to_be_hidden()


def test_receipts_tiers_and_void(app, page, new_context) -> None:  # noqa: ANN001
    app.login(page, "frontdesk")
    cid, name, card = _new_member(app, page)

    # the first top-up: its receipt is offered at once and on its ledger row
    expect(page.get_by_test_id("topup-receipt")).to_be_visible()
    ledger_link = page.get_by_test_id("ledger-row").first.get_by_test_id("ledger-receipt")
    expect(ledger_link).to_have_attribute("href", re.compile(r"^/receipt/topup/D\d{16}$"))
    topup_href = ledger_link.get_attribute("href")

    _post_split_purchase(page)
    row = page.get_by_test_id("order-row").first
    number = row.locator("code").inner_text()
    expect(row.get_by_test_id("receipt-link")).to_have_attribute("href", f"/receipt/order/{number}")
    # front desk: no 作废 of its own, only 申请作废 for cs_manager's 审批
    expect(row.get_by_test_id("void-open")).to_have_text(ZH["approval.request_void"])
    posted = page.get_by_test_id("posted-receipt")
    expect(posted).to_have_text(ZH["receipt.open"])

    receipt = _open_receipt(page, posted)
    expect(receipt.get_by_test_id("receipt-number")).to_have_text(number)
    expect(receipt.get_by_test_id("receipt-store")).to_have_text("总店")
    expect(receipt.get_by_test_id("receipt-line")).to_contain_text("招牌套餐")
    expect(receipt.get_by_test_id("receipt-total")).to_have_text("¥100.00")
    expect(receipt.get_by_test_id("receipt-discount")).to_have_text("-¥10.00")
    expect(receipt.get_by_test_id("receipt-paid")).to_have_text("¥90.00")
    expect(receipt.get_by_test_id("receipt-pay")).to_have_text(["¥50.00", "¥40.00"])
    expect(receipt.get_by_test_id("receipt")).to_contain_text(ZH["orders.method.stored_value"])
    expect(receipt.get_by_test_id("receipt-points")).to_have_text("+90")
    expect(receipt.get_by_test_id("receipt-balance")).to_have_text("¥150.00")
    expect(receipt.get_by_test_id("receipt-customer")).to_have_text(name[0] + "***")
    expect(receipt.get_by_test_id("receipt-card")).to_have_text(f"88{'*' * 6}{card[-4:]}")
    expect(receipt.get_by_test_id("receipt-operator")).to_have_text("王前台")
    assert name not in receipt.content() and card not in receipt.content()
    expect(receipt.get_by_test_id("receipt-print")).to_be_visible()
    _shot(receipt, "receipt.png")
    receipt.emulate_media(media="print")
    expect(receipt.get_by_test_id("receipt-print")).to_be_hidden()
    expect(receipt.get_by_test_id("receipt-paid")).to_be_visible()
    receipt.emulate_media(media="screen")

    # the top-up's receipt, from the ledger row
    receipt.goto(f"{app.url}{topup_href}", wait_until="commit")
    expect(receipt.get_by_test_id("receipt-number")).to_have_text(re.compile(r"^D\d{16}$"))
    expect(receipt.get_by_test_id("receipt-paid")).to_have_text("¥200.00")
    expect(receipt.get_by_test_id("receipt-method")).to_have_text(ZH["orders.method.cash"])
    expect(receipt.get_by_test_id("receipt-balance")).to_have_text("¥200.00")

    # 会员等级: the manager changes the diamond card fee (a field error first), then back
    manager = new_context().new_page()
    app.login(manager, "manager")
    manager.get_by_test_id("menu-item").filter(has_text=ZH["nav.tiers"]).click()
    expect(manager).to_have_url(re.compile(r"/tiers$"))
    diamond = manager.get_by_test_id("tier-row").filter(has_text="diamond")
    expect(diamond.get_by_test_id("tier-card-fee")).to_have_text("¥50.00")
    for fee, shown in (("60", "¥60.00"), ("50", "¥50.00")):
        diamond.get_by_test_id("tier-edit").click()
        dialog = manager.get_by_role("dialog")
        expect(dialog.locator("#tier-card_fee")).to_have_value("50.00" if fee == "60" else "60.00")
        if fee == "60":
            dialog.locator("#tier-card_fee").fill("-1")
            dialog.get_by_test_id("tier-submit").click()
            expect(
                dialog.get_by_test_id("field-card_fee").get_by_test_id("field-error")
            ).to_have_text(ZH["membership.error.amount"])
            manager.screenshot(path=str(OUT / "tiers-dialog.png"))
        dialog.locator("#tier-card_fee").fill(fee)
        dialog.get_by_test_id("tier-submit").click()
        expect(dialog).to_be_hidden()
        expect(diamond.get_by_test_id("tier-card-fee")).to_have_text(shown)
        if fee == "60":
            _shot(manager, "tiers.png")
    assert _db(app, "SELECT card_fee_fen FROM member_tiers WHERE code = 'diamond'") == [(5000,)]

    # 作废: today's purchase, a reason required; the void row and the voided purchase show
    app.goto_shell(manager, f"/customers/{cid}")
    manager.get_by_test_id("tab-transactions").click()
    rows = manager.get_by_test_id("order-row")
    expect(rows).to_have_count(1)
    rows.first.get_by_test_id("void-open").click()
    dialog = manager.get_by_role("dialog")
    dialog.get_by_test_id("void-submit").click()
    expect(dialog.get_by_test_id("field-error")).to_have_text(ZH["customer.error.reason_required"])
    dialog.get_by_test_id("void-reason").fill("收银录错金额")
    dialog.get_by_test_id("void-submit").click()
    expect(dialog.get_by_test_id("money-confirm-text")).to_contain_text("¥90.00")
    dialog.get_by_test_id("money-confirm").click()
    expect(dialog).to_be_hidden()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(ZH["orders.kind.void"])
    expect(rows.first).to_contain_text("-¥90.00")
    expect(rows.first).to_contain_text(number)
    expect(rows.nth(1).get_by_test_id("voided-badge")).to_have_text(ZH["orders.voided_badge"])
    expect(rows.nth(1).get_by_test_id("void-open")).to_have_count(0)
    expect(rows.nth(1).get_by_test_id("refund-open")).to_have_count(0)
    manager.screenshot(path=str(OUT / "orders-void.png"))
    assert _db(app, "SELECT kind FROM orders WHERE customer_id = ? ORDER BY id", cid) == [
        ("purchase",),
        ("void",),
    ]
    # the void's own receipt gives the stored value back
    void_receipt = _open_receipt(manager, rows.first.get_by_test_id("receipt-link"))
    expect(void_receipt.get_by_test_id("receipt-paid")).to_have_text("-¥90.00")
    expect(void_receipt.get_by_test_id("receipt-original")).to_have_text(number)
    expect(void_receipt.get_by_test_id("receipt-points")).to_have_text("-90")
    expect(void_receipt.get_by_test_id("receipt-balance")).to_have_text("¥200.00")
