"""会员中心 activation in the browser (issue 5): the front desk opens the customer's 积分与储值 tab,
is stopped until the identity check is ticked, hands over the one-time code shown once; the
member enters phone, code and a new password on the activation page and lands on 会员中心; the
tab then shows the account as active."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect
from test_customer_journey import _open_new_form, _record_frames, _saved_profile

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
PASSWORD = "Member-pass-2026"


def test_front_desk_code_activates_the_member_page(app, page, new_context) -> None:  # noqa: ANN001
    name = "门户客户" + "".join(random.choices("甲乙丙丁戊己庚辛", k=3))
    phone = "136" + "".join(random.choices("0123456789", k=8))
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    page.fill("#f-name", name)
    page.fill("#f-phone", phone)
    expect(page.locator("#f-name")).to_have_value(name)
    _saved_profile(page)

    page.get_by_test_id("tab-points").click()
    expect(page.get_by_test_id("portal-state")).to_have_text(ZH["member.portal.none"])
    page.get_by_test_id("member-code-open").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("member-code-issue").click()
    expect(dialog.get_by_test_id("field-error")).to_have_text(ZH["member.code.identity_required"])
    dialog.get_by_test_id("member-code-identity").click()
    dialog.get_by_test_id("member-code-issue").click()
    shown = dialog.get_by_test_id("member-code")
    expect(shown).to_have_text(re.compile(r"^\d{8}$"))
    code = shown.inner_text()
    expect(dialog).to_contain_text(ZH["member.code.first"])
    expect(dialog.get_by_test_id("member-code-note")).to_contain_text(phone[-4:])
    expect(dialog.get_by_test_id("member-code-note")).not_to_contain_text(phone)
    dialog.get_by_test_id("member-code-close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("portal-state")).to_have_text(ZH["member.portal.pending"])

    # the member: the link on the member login, a wrong code first, then the right one
    member = new_context().new_page()
    app.open_login(member)
    member.get_by_role("radio", name=ZH["login.member"]).click()
    member.get_by_test_id("activate-link").click()
    expect(member).to_have_url(re.compile(r"/activate$"))
    expect(member.get_by_text(ZH["activate.hint"])).to_be_visible()
    member.wait_for_function(
        """() => { const el = document.querySelector('#activate-phone');
                   return !!el && Object.keys(el).some(k => k.startsWith('__reactProps')); }"""
    )
    member.fill("#activate-phone", phone)
    member.fill("#activate-code", "00000000" if code != "00000000" else "11111111")
    member.fill("#activate-password", PASSWORD)
    member.fill("#activate-confirm", PASSWORD)
    member.get_by_test_id("activate-submit").click()
    expect(member.get_by_test_id("activate-error")).to_have_text(ZH["member.activate.invalid"])
    member.fill("#activate-code", code)
    member.get_by_test_id("activate-submit").click()
    expect(member).to_have_url(re.compile(r"/portal/?$"))  # a full page load
    expect(member.get_by_test_id("user-name")).to_have_text(name)

    # the front desk sees the account active
    page.reload()
    page.get_by_test_id("tab-points").click()
    expect(page.get_by_test_id("portal-state")).to_have_text(ZH["member.portal.active"])
