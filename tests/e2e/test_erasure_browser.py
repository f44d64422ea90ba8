"""删除我的信息 in the browser (issue 16, ER): the demo member reads what deletion means, confirms
it and sees the request 已提交; compliance opens it on 权利请求, sees what blocks a destruction and
refuses it with a legal reason; the member then sees 已拒绝 with that reason. (Accepting into the
销毁 queue is left to the service and state tests: it would destroy the shared demo member.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
MEMBER_PHONE = "13800138000"  # the demo member (custapp seed-demo)


def test_the_member_asks_and_compliance_refuses_with_a_reason(app, new_context) -> None:  # noqa: ANN001
    member = new_context().new_page()
    app.login(member, MEMBER_PHONE, member=True)
    app.goto_shell(member, "/portal/privacy")
    card = member.get_by_test_id("erase-card")
    expect(card).to_contain_text(ZH["portal_privacy.erase.what"])
    card.get_by_test_id("erase-start").click()
    dialog = member.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["portal_privacy.erase.confirm_text"])
    dialog.get_by_test_id("erase-confirm").click()
    expect(dialog).to_contain_text(ZH["portal_privacy.erase.must_understand"])
    dialog.get_by_role("checkbox", name=ZH["portal_privacy.erase.understand"]).click()
    dialog.get_by_test_id("erase-confirm").click()
    expect(dialog).to_be_hidden()
    progress = card.get_by_test_id("erase-progress")
    expect(progress).to_contain_text(ZH["portal_privacy.erase.step.submitted"])
    expect(card).to_contain_text(ZH["portal_privacy.erase.pending"])
    expect(card.get_by_test_id("erase-start")).to_have_count(0)
    ((number, channel),) = _db(
        app,
        "SELECT number, channel FROM rights_requests WHERE kind = 'deletion' "
        "AND status = 'open' ORDER BY id DESC LIMIT 1",
    )
    assert channel == "portal"
    expect(card).to_contain_text(number)

    page = new_context().new_page()
    app.login(page, "compliance")
    app.goto_shell(page, "/rights-requests")
    page.get_by_test_id("rights-row").filter(has_text=number).get_by_test_id("rights-open").click()
    detail = page.get_by_role("dialog")
    panel = detail.get_by_test_id("erasure-panel")
    expect(panel).to_contain_text(ZH["rights.erasure.title"])
    expect(panel.get_by_test_id("erasure-accept")).to_be_visible()
    expect(detail.get_by_test_id("rights-refuse")).to_have_count(0)  # refused with a reason
    panel.get_by_test_id("erasure-refuse").click()
    expect(panel).to_contain_text(ZH["rights.error.refusal"])
    panel.get_by_test_id("erasure-refusal").click()
    page.get_by_role("option", name=ZH["rights.refusal.identity_not_verified"]).click()
    panel.get_by_test_id("erasure-refuse").click()
    expect(detail).to_be_hidden()
    assert _db(
        app, "SELECT status, refusal_reason FROM rights_requests WHERE number = ?", number
    ) == [("refused", "identity_not_verified")]

    member.reload()
    card = member.get_by_test_id("erase-card")
    expect(card.get_by_test_id("erase-progress")).to_contain_text(
        ZH["portal_privacy.erase.step.refused"]
    )
    expect(card.get_by_test_id("erase-reason")).to_contain_text(
        ZH["rights.refusal.identity_not_verified"]
    )
    expect(card.get_by_test_id("erase-start")).to_be_visible()  # closed: may ask again
    expect(member.get_by_text(re.compile("An error occurred"))).to_have_count(0)
