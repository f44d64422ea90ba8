"""合规管理: compliance sees the consent figures, enables a purpose, and publishes a notice version
that adds it after a confirmation naming how many customers must re-confirm; the change notices
then go out in the background. Another role does not reach the page. The docs screenshot of the
page is taken here.

The server's database is shared by the whole browser session: the notice and the purpose are
put back as they were at the end.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]

# Customers with answers recorded at the counter, in the test instance: the first two agreed to
# something, the third refused everything.
_SEED = """
from custapp.db import session_scope
from custapp.services import consent, customers
from custapp.services.actor import system_actor

actor = system_actor("e2e")
for name, phone, choices in (
    ("合规甲", "13600000001", {"marketing_sms": "grant", "care": "grant", "analytics": "refuse"}),
    ("合规乙", "13600000002", {"marketing_sms": "grant"}),
    ("合规丙", "13600000003", {"marketing_sms": "refuse", "care": "refuse"}),
):
    with session_scope() as session:
        ref = customers.create_customer(
            session, actor=actor, data=customers.CustomerInput(name=name, phone=phone)
        )
        consent.record_consents(
            session, actor=actor, customer_id=ref.id, choices=choices, evidence_ref="E2E-1"
        )
"""

# The browser session's later tests (the counter step among them) expect the installation's
# notice: this test's versions and flags are taken out of the shared database again, directly,
# as no function of the app could (published versions are never deleted).
_RESTORE = """
from sqlalchemy import delete, update
from custapp.db import session_scope
from custapp.models import ConsentState, PrivacyNotice, Purpose

with session_scope() as session:
    session.exec(delete(PrivacyNotice).where(PrivacyNotice.version > 1))
    session.exec(update(ConsentState).values(reconfirm_needed=False, reconfirm_notified=False))
    session.get(Purpose, "cross_border").enabled = False
"""


def _run(app, script: str) -> None:  # noqa: ANN001
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", script],
        cwd=ROOT,
        env=app.server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_compliance_enables_a_purpose_and_publishes_a_notice_that_adds_it(app, page):
    _run(app, _SEED)
    try:
        _publish_cross_border(app, page)
    finally:
        _run(app, _RESTORE)


def _publish_cross_border(app, page) -> None:  # noqa: ANN001
    app.login(page, "compliance")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.compliance"]).click()
    expect(page).to_have_url(f"{app.url}/compliance")
    sms = page.get_by_test_id("matrix-row").filter(has_text="短信营销")
    expect(sms).to_be_visible()
    expect(sms.get_by_role("cell").nth(2)).not_to_have_text("0")  # agreed: at least ours
    expect(page.get_by_test_id("kpi-notice")).to_have_text(re.compile(r"第 \d+ 版"))

    # 使用目的: cross-border transfer, disabled by default, is enabled
    page.get_by_test_id("tab-purposes").click()
    row = page.get_by_test_id("purpose-row").filter(has_text="跨境提供")
    expect(row).to_contain_text(ZH["compliance.purpose.disabled"])
    row.get_by_test_id("purpose-edit").click()
    expect(page.locator("#p-name-zh")).to_have_value("跨境提供")
    page.get_by_test_id("p-enabled").click()
    page.get_by_test_id("purpose-save").click()
    expect(row).to_contain_text(ZH["compliance.purpose.enabled"])

    # 隐私告知: a draft that adds it, published after the confirmation
    page.get_by_test_id("tab-notices").click()
    page.get_by_test_id("draft-new").click()
    editor = page.get_by_test_id("draft-editor")
    expect(editor).to_be_visible()
    expect(page.locator("#draft-body-zh")).to_have_value(re.compile("撤回"))
    editor.get_by_role("checkbox", name=re.compile("跨境提供")).click()
    page.get_by_test_id("draft-publish").click()
    lines = page.get_by_test_id("confirm-line")
    expect(lines.first).to_have_text("新增使用目的：跨境提供")
    expect(lines.nth(1)).to_contain_text(re.compile(r"[1-9]\d* 位已同意过的客户"))
    page.get_by_test_id("publish-confirm").click()
    expect(page.get_by_text(re.compile(r"已发布隐私告知第 \d+ 版"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"已排队发送 \d+ 条变更通知短信"))).to_be_visible()
    top = page.get_by_test_id("notice-row").first
    expect(top).to_contain_text(ZH["compliance.notice.current"])
    expect(top).to_contain_text("跨境提供")

    app.goto_shell(page, "/compliance")  # the overview, without the toasts
    page.get_by_test_id("tab-overview").click()
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
    expect(page.get_by_test_id("kpi-reconfirm")).not_to_have_text("0")
    expect(page.get_by_test_id("kpi-to-queue")).to_have_text("0")
    _shot(page, "compliance.png")


def test_the_front_desk_does_not_reach_the_page(app, page):
    app.login(page, "frontdesk")
    expect(page.get_by_test_id("menu-item").filter(has_text=ZH["nav.compliance"])).to_have_count(0)
    page.goto(f"{app.url}/compliance", wait_until="commit")
    expect(page.get_by_text(ZH["error.page_denied"])).to_be_visible()
    expect(page).to_have_url(f"{app.url}/")
