"""会员卡 at the front desk (issue 5, acceptance 1, the counter's part): issue a 银卡 with a ¥200
first top-up (minimum ¥100) and the ¥10 card fee paid separately; post a ¥199.90 purchase from
the stored value (¥179.91 charged, 179 points, ¥20.09 left); replace the lost card; post again
with the new number in place; top up ¥100 typed in full-width digits. Money moves only from the
confirmation that names the amount and the balance after it (issue 14), and a first top-up of
¥99,999,999,999.00 is refused next to the amount. Then the demo member's own 会员中心 on a desktop
and a phone."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db, _open_new_form, _record_frames, _saved_profile
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]


def _choose(dialog, testid: str, option: str) -> None:  # noqa: ANN001
    dialog.get_by_test_id(testid).click()
    dialog.page.get_by_role("option", name=option).click()


def _purchase(page, price: str) -> None:  # noqa: ANN001
    page.get_by_test_id("tab-transactions").click()
    page.get_by_role("button", name=ZH["orders.new"]).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("line-item").fill("招牌套餐")
    dialog.get_by_test_id("line-price").fill(price)
    _choose(dialog, "pay-method", ZH["orders.method.stored_value"])
    return dialog


def test_front_desk_card_life_and_stored_value_purchase(app, page) -> None:  # noqa: ANN001
    name = "会员客户" + "".join(random.choices("甲乙丙丁戊己庚辛", k=3))
    phone = "139" + "".join(random.choices("0123456789", k=8))
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    page.fill("#f-name", name)
    page.fill("#f-phone", phone)
    expect(page.locator("#f-name")).to_have_value(name)
    cid = _saved_profile(page)

    # 办理会员卡: the minimum top-up and the signed application are named next to their fields
    page.get_by_test_id("tab-points").click()
    expect(page.get_by_test_id("card-tier")).to_have_text(ZH["membership.class.non_member"])
    page.get_by_test_id("membership-issue").click()
    dialog = page.get_by_role("dialog")
    _choose(dialog, "action-tier", "银卡")
    dialog.locator("#action-amount").fill("50")
    _choose(dialog, "action-method", ZH["orders.method.cash"])
    _choose(dialog, "action-fee_method", ZH["orders.method.wechat"])
    dialog.get_by_test_id("action-submit").click()
    expect(dialog.get_by_test_id("field-amount").get_by_test_id("field-error")).to_have_text(
        ZH["membership.error.topup_below_minimum"]
    )
    expect(dialog.get_by_test_id("field-confirmed").get_by_test_id("field-error")).to_have_text(
        ZH["membership.error.application_unsigned"]
    )
    assert _db(app, "SELECT count(*) FROM member_cards WHERE customer_id = ?", cid) == [(0,)]
    dialog.get_by_test_id("action-confirmed").click()
    dialog.locator("#action-amount").fill("99,999,999,999.00")
    dialog.get_by_test_id("action-submit").click()
    expect(dialog.get_by_test_id("field-amount").get_by_test_id("field-error")).to_have_text(
        ZH["membership.error.topup_over_limit"]
    )
    dialog.locator("#action-amount").fill("200")
    dialog.get_by_test_id("action-submit").click()
    confirm = dialog.get_by_test_id("money-confirm-text")
    expect(confirm).to_have_text(
        ZH["membership.confirm.issue"].format(amount="¥200.00", fee="¥10.00", balance="¥200.00")
    )
    assert _db(app, "SELECT count(*) FROM member_cards WHERE customer_id = ?", cid) == [(0,)]
    dialog.get_by_test_id("money-confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("card-tier")).to_have_text("银卡")
    expect(page.get_by_test_id("card-balance")).to_have_text("¥200.00")
    first_number = page.get_by_test_id("card-number").inner_text().split("：")[-1]
    assert _db(
        app, "SELECT kind, amount_fen FROM card_fee_payments WHERE customer_id = ?", cid
    ) == [("issue", 1000)]

    # ¥199.90 from the stored value: 9折 → ¥179.91 charged, 179 points, ¥20.09 left
    dialog = _purchase(page, "199.90")
    expect(dialog.get_by_test_id("draft-paid")).to_have_text("¥179.91")
    expect(dialog.get_by_test_id("member-note")).to_contain_text(first_number)
    _shot(page, "purchase-panel.png")
    dialog.get_by_test_id("purchase-submit").click()
    expect(dialog).to_be_hidden()
    expect(
        page.get_by_text(ZH["orders.points_earned"].format(points=179), exact=False)
    ).to_be_visible()
    page.get_by_test_id("tab-points").click()
    expect(page.get_by_test_id("card-balance")).to_have_text("¥20.09")
    expect(page.get_by_test_id("card-points")).to_have_text("179")

    # 挂失补卡: the identity check first; a new number carrying balance and points
    page.get_by_test_id("membership-replace").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("action-submit").click()
    expect(dialog.get_by_test_id("field-confirmed").get_by_test_id("field-error")).to_have_text(
        ZH["membership.error.identity_required"]
    )
    dialog.get_by_test_id("action-confirmed").click()
    dialog.get_by_test_id("action-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("card-number")).not_to_contain_text(first_number)
    expect(page.get_by_test_id("card-balance")).to_have_text("¥20.09")
    expect(page.get_by_test_id("card-points")).to_have_text("179")
    second_number = page.get_by_test_id("card-number").inner_text().split("：")[-1]
    assert _db(app, "SELECT status FROM member_cards WHERE number = ?", first_number) == [("lost",)]

    # the next purchase goes on the new card
    dialog = _purchase(page, "10.00")
    expect(dialog.get_by_test_id("member-note")).to_contain_text(second_number)
    expect(dialog.get_by_test_id("draft-paid")).to_have_text("¥9.00")
    dialog.get_by_test_id("purchase-submit").click()
    expect(dialog).to_be_hidden()
    page.get_by_test_id("tab-points").click()
    expect(page.get_by_test_id("card-balance")).to_have_text("¥11.09")
    expect(page.get_by_test_id("card-points")).to_have_text("188")
    expect(page.get_by_test_id("ledger-row")).to_have_count(3)  # top-up and two spends

    # 充值 ¥100 typed in full-width digits: 返回修改 keeps the form, only 确认 posts
    page.get_by_test_id("membership-topup").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#action-amount").fill("１００")
    _choose(dialog, "action-method", ZH["orders.method.cash"])
    dialog.get_by_test_id("action-submit").click()
    text = ZH["membership.confirm.topup"].format(amount="¥100.00", balance="¥111.09")
    expect(dialog.get_by_test_id("money-confirm-text")).to_have_text(text)
    dialog.get_by_test_id("money-back").click()
    expect(dialog.locator("#action-amount")).to_have_value("１００")
    dialog.get_by_test_id("action-submit").click()
    expect(dialog.get_by_test_id("money-confirm-text")).to_have_text(text)
    _shot(page, "money-confirm.png")
    assert _db(app, "SELECT count(*) FROM stored_value_entries WHERE customer_id = ?", cid) == [
        (3,)
    ]
    dialog.get_by_test_id("money-confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("card-balance")).to_have_text("¥111.09")
    expect(page.get_by_test_id("ledger-row")).to_have_count(4)
    expect(page.get_by_text("An error occurred")).to_have_count(0)  # no handler failed
    _shot(page, "membership-tab.png")


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_the_member_sees_card_balance_and_points(app, new_context, width: int) -> None:  # noqa: ANN001
    member = new_context().new_page()
    member.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    app.login(member, "13800138000", member=True)
    expect(member).to_have_url(re.compile(r"/portal/?$"))
    expect(member.get_by_test_id("portal-tier")).to_have_text("银卡")
    expect(member.get_by_test_id("portal-balance")).to_have_text("¥294.89")
    expect(member.get_by_test_id("portal-points")).to_have_text("204")
    expect(member.get_by_test_id("ledger-row")).to_have_count(2)
    _shot(member, f"portal-{'phone' if width < 500 else 'desktop'}.png")
