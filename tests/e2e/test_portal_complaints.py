"""我的投诉 (issue 6): the demo member opens the page from 会员中心, files a complaint and gets its
T… number, finds it listed; once staff told the outcome with a reply, opens it, reads the reply
and gives 5 points; on a desktop and on a 390 px phone."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
MEMBER_PHONE = "13800138000"  # the demo member (custapp seed-demo)
REPLY = "经核实，当天收银多收了 10 元，已退回您的储值余额，并向您致歉。"
_INFORM = """
import sys
from custapp.db import session_scope
from custapp.models import Complaint
from custapp.services import complaints
from custapp.services.actor import system_actor
from sqlalchemy import select
with session_scope() as session:
    cid = session.exec(select(Complaint.id).where(Complaint.number == sys.argv[1])).scalar_one()
    for step in ("investigating", "solution_proposed"):
        complaints.move(session, actor=system_actor("e2e"), complaint_id=cid, to_status=step)
    complaints.move(session, actor=system_actor("e2e"), complaint_id=cid,
                    to_status="customer_informed", outcome=sys.argv[2])
"""


def _inform(app, number: str) -> None:  # noqa: ANN001
    """Staff handle the complaint to 客户已告知 with a reply the customer sees."""
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _INFORM, number, REPLY],
        cwd=ROOT, env=app.server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_member_files_a_complaint_and_scores_the_outcome(app, new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    app.login(page, MEMBER_PHONE, member=True)
    expect(page).to_have_url(re.compile(r"/portal/?$"))
    page.get_by_test_id("portal-complaints-link").click()
    expect(page).to_have_url(re.compile(r"/portal/complaints$"))
    expect(
        page.get_by_role("heading", name=ZH["nav.portal_complaints"], exact=True)
    ).to_be_visible()

    # nothing chosen, nothing written: the errors stand next to their fields
    page.get_by_test_id("complaint-submit").click()
    expect(page.get_by_test_id("field-category").get_by_test_id("field-error")).to_have_text(
        ZH["complaint.error.category"]
    )
    expect(page.get_by_test_id("field-description").get_by_test_id("field-error")).to_have_text(
        ZH["complaint.error.description_required"]
    )

    page.get_by_test_id("complaint-category").click()
    page.get_by_role("option", name=ZH["complaint.category.billing"], exact=True).click()
    expect(page.get_by_test_id("complaint-category")).to_have_text(ZH["complaint.category.billing"])
    description = f"昨天在门店结账，收银多收了 10 元（小票号 {random.randint(1000, 9999)}）"
    page.fill("#complaint-description", description)
    page.fill("#complaint-desired", "退还多收的钱")
    page.get_by_test_id("complaint-submit").click()
    number_shown = page.get_by_test_id("complaint-filed-number")
    expect(number_shown).to_have_text(re.compile(r"^T\d{12}$"))
    number = number_shown.inner_text()
    expect(page.get_by_text(ZH["portal_complaints.filed"].format(number=number))).to_be_visible()
    expect(page.locator("#complaint-description")).to_have_value("")
    expect(page.get_by_test_id("field-error")).to_have_count(0)
    row = page.get_by_test_id("complaint-row").filter(has_text=number)
    expect(row.get_by_test_id("complaint-status")).to_have_text(ZH["complaint.status.received"])
    expect(row).to_contain_text(ZH["complaint.category.billing"])
    assert _db(app, "SELECT channel, category FROM complaints WHERE number = ?", number) == [
        ("portal", "billing")
    ]

    # staff tell the outcome; the member opens the complaint and scores it
    _inform(app, number)
    app.goto_shell(page, "/portal/complaints")
    row = page.get_by_test_id("complaint-row").filter(has_text=number)
    expect(row.get_by_test_id("complaint-status")).to_have_text(
        ZH["complaint.status.customer_informed"]
    )
    row.get_by_test_id("complaint-open").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("complaint-description")).to_have_text(description)
    expect(dialog.get_by_test_id("complaint-outcome")).to_have_text(REPLY)
    expect(dialog.get_by_test_id("complaint-timeline")).to_contain_text(
        ZH["portal_complaints.event.filed"]
    )
    dialog.get_by_test_id("rate-5").click()
    expect(dialog.get_by_test_id("complaint-rated")).to_have_text(
        ZH["portal_complaints.rated"].format(score=5)
    )
    expect(dialog.get_by_test_id("complaint-timeline")).to_contain_text(
        ZH["portal_complaints.event.score"].format(score=5)
    )
    assert _db(app, "SELECT satisfaction FROM complaints WHERE number = ?", number) == [(5,)]
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=20_000)
    _shot(page, "portal-complaints.png")

    dialog.get_by_role("button", name=ZH["common.done"]).click()
    expect(dialog).to_be_hidden()
    page.get_by_test_id("complaints-back").click()
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.get_by_text("An error occurred")).to_have_count(0)


def _no_sideways_scroll(page) -> None:  # noqa: ANN001
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_the_page_fits_a_phone(app, new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    app.login(page, MEMBER_PHONE, member=True)
    app.goto_shell(page, "/portal/complaints")
    page.get_by_test_id("complaint-category").click()
    page.get_by_role("option", name=ZH["complaint.category.environment"], exact=True).click()
    page.fill("#complaint-description", "门店门口的台阶太滑，下雨天差点摔倒")
    page.get_by_test_id("complaint-submit").click()
    number = page.get_by_test_id("complaint-filed-number")
    expect(number).to_have_text(re.compile(r"^T\d{12}$"))
    row = page.get_by_test_id("complaint-row").filter(has_text=number.inner_text())
    row.scroll_into_view_if_needed()
    expect(row.get_by_test_id("complaint-open")).to_be_in_viewport()  # not cut off at the side
    _no_sideways_scroll(page)

    row.get_by_test_id("complaint-open").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("complaint-timeline")).to_contain_text(
        ZH["portal_complaints.event.filed"]
    )
    expect(dialog).to_contain_text(ZH["portal_complaints.rate_later"])
    _no_sideways_scroll(page)
    dialog.get_by_role("button", name=ZH["common.done"]).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=20_000)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "portal-complaints-phone.png")
