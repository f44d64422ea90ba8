"""我的信息与授权 (issue 5): the demo member opens the page from 会员中心, sees their phone masked,
files a correction request and finds it listed with its due date, answers a purpose of the notice
and withdraws that consent again; on a desktop and on a 390 px phone."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
MEMBER_PHONE = "13800138000"  # the demo member (custapp seed-demo)
PURPOSE = "care"
CARE = "关怀问候"


def _due() -> str:
    """Today in the configured zone plus the default 15 days (SPEC §8 Time)."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=15)).isoformat()


def _member_customer(app) -> int:  # noqa: ANN001
    ((cid,),) = _db(
        app, "SELECT customer_id FROM users WHERE kind = 'member' AND display_name = ?", "陈会员"
    )
    return cid


def _grant(page, purpose: str) -> None:  # noqa: ANN001
    """The member agrees to one purpose of the notice in the answer form."""
    form = page.get_by_test_id("consent-answer-form")
    if not form.is_visible():
        page.get_by_test_id("consent-change").click()
    radio = form.get_by_test_id(f"consent-choice-{purpose}").get_by_role(
        "radio", name=ZH["consent.counter.choice.grant"], exact=True
    )
    radio.click()
    expect(radio).to_be_checked()
    form.get_by_test_id("consent-save").click()
    expect(form.get_by_test_id("field-notice_read").get_by_test_id("field-error")).to_have_text(
        ZH["portal_privacy.read_required"]
    )
    form.get_by_role("checkbox", name=ZH["portal_privacy.read_notice"]).click()
    form.get_by_test_id("consent-save").click()
    expect(page.get_by_text(ZH["portal_privacy.saved"])).to_be_visible()


def test_member_files_a_correction_and_withdraws_a_consent(app, new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    app.login(page, MEMBER_PHONE, member=True)
    expect(page).to_have_url(re.compile(r"/portal/?$"))
    page.get_by_test_id("portal-privacy-link").click()
    expect(page).to_have_url(re.compile(r"/portal/privacy$"))
    expect(page.get_by_role("heading", name=ZH["nav.portal_privacy"])).to_be_visible()

    # the profile, masked
    profile = page.get_by_test_id("privacy-profile")
    expect(profile.get_by_test_id("masked-phone")).to_have_text("138****8000")
    expect(profile).to_contain_text("陈会员")
    expect(page.locator("body")).not_to_contain_text(MEMBER_PHONE)

    # 更正补充: from the profile's button, filed and listed with its due date
    page.get_by_test_id("privacy-correct").click()
    expect(page.get_by_test_id("request-kind-select")).to_have_text(ZH["rights.kind.correction"])
    page.get_by_test_id("request-submit").click()
    expect(page.get_by_test_id("field-detail").get_by_test_id("field-error")).to_have_text(
        ZH["rights.error.detail_required"]
    )
    detail = "我的地址需要更正为上海市浦东新区世纪大道" + str(random.randint(100, 999)) + "号"
    page.fill("#privacy-detail", detail)
    page.get_by_test_id("request-submit").click()
    row = page.get_by_test_id("request-row").first
    expect(row.get_by_test_id("request-kind")).to_have_text(ZH["rights.kind.correction"])
    expect(row.get_by_test_id("request-status")).to_have_text(ZH["rights.status.open"])
    expect(row.get_by_test_id("request-due")).to_have_text(_due())
    expect(page.locator("#privacy-detail")).to_have_value("")
    cid = _member_customer(app)
    assert _db(
        app,
        "SELECT kind, channel, due_on FROM rights_requests WHERE customer_id = ? "
        "ORDER BY id DESC LIMIT 1",
        cid,
    ) == [("correction", "portal", _due())]
    row.get_by_test_id("request-open").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(detail)
    expect(dialog).to_contain_text(ZH["portal_privacy.no_outcome"])
    dialog.get_by_role("button", name=ZH["common.done"]).click()
    expect(dialog).to_be_hidden()

    # a consent: agreed here first (the demo member was never asked), then withdrawn
    consent_row = page.get_by_test_id(f"consent-row-{PURPOSE}")
    expect(consent_row).to_contain_text(CARE)
    if not consent_row.get_by_test_id("consent-withdraw").is_visible():
        _grant(page, PURPOSE)
    expect(consent_row.get_by_test_id("consent-state")).to_have_text(ZH["consent.state.granted"])
    consent_row.get_by_test_id("consent-withdraw").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["portal_privacy.withdraw_notice"])
    dialog.get_by_test_id("consent-withdraw-confirm").click()
    expect(dialog).to_be_hidden()
    expect(consent_row.get_by_test_id("consent-state")).to_have_text(ZH["consent.state.withdrawn"])
    expect(consent_row.get_by_test_id("consent-withdraw")).to_have_count(0)
    assert _db(
        app,
        "SELECT action, channel FROM consent_events WHERE customer_id = ? AND purpose = ? "
        "ORDER BY id DESC LIMIT 1",
        cid,
        PURPOSE,
    ) == [("withdraw", "portal")]

    # the notice, folded until asked for
    body = page.get_by_test_id("notice-body")
    expect(body).to_be_hidden()
    page.get_by_test_id("notice-accordion").get_by_role("button").click()
    expect(body).to_be_visible()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=20_000)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "portal-privacy.png")

    page.get_by_test_id("privacy-back").click()
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.get_by_text("An error occurred")).to_have_count(0)


def test_the_page_fits_a_phone(app, new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    app.login(page, MEMBER_PHONE, member=True)
    app.goto_shell(page, "/portal/privacy")
    expect(page.get_by_test_id("masked-phone")).to_have_text("138****8000")
    expect(page.get_by_test_id("request-submit")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    _shot(page, "portal-privacy-phone.png")
