"""The member's journey of issue 5, acceptance 1: the front desk issues a 银卡 (¥200 first
top-up) and posts ¥199.90 from the stored value, then hands over a one-time code; the member
activates 会员中心, sees ¥20.09, 179 points and what expires in 30 days, and requests a gift; the
manager approves it in 审批; the member sees the points deducted and the request approved."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect
from test_customer_journey import _open_new_form, _record_frames, _saved_profile
from test_membership_counter import _choose, _purchase
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
PASSWORD = "Member-pass-2026"
GIFT = "帆布购物袋"  # 120 points, seeded with the demo data


def _hydrated(page, selector: str) -> None:  # noqa: ANN001
    page.wait_for_function(
        """(sel) => { const el = document.querySelector(sel);
                   return !!el && Object.keys(el).some(k => k.startsWith('__reactProps')); }""",
        arg=selector,
    )


def test_member_activates_requests_a_gift_and_sees_the_approval(app, page, new_context) -> None:  # noqa: ANN001
    name = "旅程会员" + "".join(random.choices("甲乙丙丁戊己庚辛", k=3))
    phone = "137" + "".join(random.choices("0123456789", k=8))
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    page.fill("#f-name", name)
    page.fill("#f-phone", phone)
    expect(page.locator("#f-name")).to_have_value(name)
    _saved_profile(page)

    # the counter: a 银卡 with ¥200, then ¥199.90 from the stored value
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
    dialog = _purchase(page, "199.90")
    expect(dialog.get_by_test_id("draft-paid")).to_have_text("¥179.91")
    dialog.get_by_test_id("purchase-submit").click()
    expect(dialog).to_be_hidden()

    # the one-time code for 会员中心
    page.get_by_test_id("tab-points").click()
    page.get_by_test_id("member-code-open").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("member-code-identity").click()
    dialog.get_by_test_id("member-code-issue").click()
    shown = dialog.get_by_test_id("member-code")
    expect(shown).to_have_text(re.compile(r"^\d{8}$"))
    code = shown.inner_text()
    dialog.get_by_test_id("member-code-close").click()
    expect(dialog).to_be_hidden()

    # the member activates and sees card, balance, points and what expires soon
    member = new_context().new_page()
    member.goto(f"{app.url}/activate", wait_until="commit")
    _hydrated(member, "#activate-phone")
    _shot(member, "activate.png")
    member.fill("#activate-phone", phone)
    member.fill("#activate-code", code)
    member.fill("#activate-password", PASSWORD)
    member.fill("#activate-confirm", PASSWORD)
    member.get_by_test_id("activate-submit").click()
    expect(member).to_have_url(re.compile(r"/portal/?$"))
    expect(member.get_by_test_id("portal-tier")).to_have_text("银卡")
    expect(member.get_by_test_id("portal-balance")).to_have_text("¥20.09")
    expect(member.get_by_test_id("portal-points")).to_have_text("179")
    expect(member.get_by_test_id("portal-expiring-total")).to_have_text("0")

    # logging out and in again with phone and password
    member.get_by_test_id("logout").click()
    expect(member).to_have_url(re.compile(r"/login"))
    app.login(member, phone, PASSWORD, member=True)
    expect(member).to_have_url(re.compile(r"/portal/?$"))
    expect(member.get_by_test_id("portal-points")).to_have_text("179")

    # the member asks for the 120-point bag: nothing is reserved
    card = member.get_by_test_id("gift-card").filter(has_text=GIFT)
    card.get_by_test_id("gift-request").click()
    dialog = member.get_by_role("dialog")
    expect(dialog.get_by_test_id("request-gift")).to_contain_text(GIFT)
    dialog.locator("#request-quantity").fill("2")
    dialog.get_by_test_id("request-submit").click()
    expect(dialog.get_by_test_id("field-error").first).to_have_text(
        ZH["redemption.error.points_short"]
    )
    dialog.locator("#request-quantity").fill("1")
    dialog.get_by_test_id("request-submit").click()
    expect(dialog).to_be_hidden()
    row = member.get_by_test_id("request-row").first
    expect(row.get_by_test_id("request-status")).to_have_text(ZH["redemption.status.pending"])
    number = row.inner_text().split()[0]
    assert re.fullmatch(r"R\d{8}", number), number
    expect(member.get_by_test_id("portal-points")).to_have_text("179")

    # the manager approves it in 审批
    manager = new_context().new_page()
    app.login(manager, "manager")
    app.goto_shell(manager, "/approvals")
    mine = manager.get_by_test_id("approval-row").filter(has_text=name)
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("approval-detail")).to_contain_text(GIFT)
    _shot(manager, "approvals.png")
    mine.get_by_test_id("approval-approve").click()
    expect(manager.get_by_text(ZH["approval.approved"])).to_be_visible()
    expect(manager.get_by_test_id("approval-row").filter(has_text=name)).to_have_count(0)

    # the member sees the deduction
    member.reload()
    expect(member.get_by_test_id("portal-points")).to_have_text("59")
    row = member.get_by_test_id("request-row").first
    expect(row.get_by_test_id("request-status")).to_have_text(ZH["redemption.status.approved"])
    expect(member.get_by_test_id("ledger-row").first).to_contain_text("-120")
    expect(member.get_by_text("An error occurred")).to_have_count(0)
    _shot(member, "portal-redemption.png")
