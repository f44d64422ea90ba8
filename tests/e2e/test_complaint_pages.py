"""投诉 at the counter (issue 6): the front desk files a complaint on a customer's profile and gets
its T… number, opens it, moves it to 调查中 with a note, adds an internal note and records a
reply the customer sees; the cs_manager opens it, assigns it, and a close without a root cause shows the
error next to the root cause, a close before the return visit the refusal in the dialog."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
COMPLAINT_URL = re.compile(r"/complaints/(\d+)$")
MOVE_NOTE = "已开始调查，今天内给您答复"
NOTE = "已调取监控，当班收银员为新员工"
REPLY = "您好，经核实当天确实多收了 10 元，我们将在今天内退回。"


def _choose(page, testid: str, label: str) -> None:  # noqa: ANN001
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=label, exact=True).click()
    expect(page.get_by_test_id(testid)).to_have_text(label)


def _customer(app) -> tuple[int, str]:  # noqa: ANN001
    (found,) = _db(
        app,
        "SELECT id, name FROM customers WHERE merged_into_id IS NULL AND kind = 'individual' "
        "ORDER BY id LIMIT 1",
    )
    return found


def _entry(page, text: str):  # noqa: ANN001, ANN202
    return page.get_by_test_id("timeline-entry").filter(has_text=text)


def test_front_desk_files_and_handles_the_manager_assigns(app, new_context) -> None:  # noqa: ANN001
    cid, name = _customer(app)
    page = new_context().new_page()
    app.login(page, "frontdesk")
    app.goto_shell(page, f"/customers/{cid}")
    expect(page.get_by_test_id("customer-name")).to_have_text(name)
    page.get_by_test_id("tab-complaints").click()
    page.get_by_test_id("complaint-new").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("intake-severity-select")).to_have_text(
        ZH["complaint.severity.normal"]
    )

    # nothing chosen or written: each error next to its field
    dialog.get_by_test_id("intake-submit").click()
    for field, key in (
        ("channel", "complaint.error.channel"),
        ("category", "complaint.error.category"),
        ("description", "complaint.error.description_required"),
    ):
        expect(dialog.get_by_test_id(f"intake-{field}").get_by_test_id("field-error")).to_have_text(
            ZH[key]
        )

    _choose(page, "intake-channel-select", ZH["complaint.channel.counter"])
    _choose(page, "intake-category-select", ZH["complaint.category.billing"])
    description = f"结账时多收了 10 元，小票号 {random.randint(1000, 9999)}，收银员态度也不好"
    page.fill("#intake-description", description)
    page.fill("#intake-desired", "退还多收的钱")
    expect(dialog.get_by_test_id("intake-channel").get_by_test_id("field-error")).to_have_count(0)
    _shot(page, "complaint-intake.png")
    dialog.get_by_test_id("intake-submit").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_test_id("complaint-row").first
    number = row.get_by_test_id("complaint-link").locator("p").first.inner_text()
    assert re.fullmatch(r"T\d{12}", number), number
    expect(page.get_by_text(ZH["complaint_pages.filed"].format(number=number))).to_be_visible()
    expect(row.get_by_test_id("complaint-status")).to_have_text(ZH["complaint.status.received"])
    assert _db(
        app, "SELECT customer_id, channel, category, severity FROM complaints WHERE number = ?",
        number,
    ) == [(cid, "counter", "billing", "normal")]  # fmt: skip

    # the complaint page: moved to 调查中 with an internal note, then a reply the customer sees
    row.get_by_test_id("complaint-link").click()
    expect(page).to_have_url(COMPLAINT_URL)
    expect(page.get_by_test_id("complaint-number")).to_have_text(number)
    expect(page.get_by_test_id("complaint-description")).to_have_text(description)
    expect(page.get_by_test_id("response-mark")).to_have_text(
        ZH["complaint_pages.hours_left"].format(hours=24)
    )
    expect(page.get_by_test_id("action-close")).to_have_count(0)  # cs_manager's
    expect(page.get_by_test_id("action-assign")).to_have_count(0)
    page.get_by_test_id("move-investigating").click()
    dialog = page.get_by_role("dialog")
    visibility = dialog.get_by_test_id("action-visibility")
    expect(visibility).to_have_text(ZH["complaint_pages.will_be_internal"])  # until ticked
    page.fill("#action-text", MOVE_NOTE)
    dialog.get_by_test_id("action-visible").click()  # 客户可见
    expect(visibility).to_have_text(ZH["complaint_pages.will_be_visible"])
    dialog.get_by_test_id("action-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("complaint-status").first).to_have_text(
        ZH["complaint.status.investigating"]
    )
    moved = _entry(
        page, f"{ZH['complaint.status.received']} → {ZH['complaint.status.investigating']}"
    )
    expect(moved.get_by_test_id("entry-visible")).to_have_text(ZH["complaint_pages.visible"])
    expect(moved).to_contain_text("王前台")
    expect(_entry(page, MOVE_NOTE).get_by_test_id("entry-visible")).to_have_text(
        ZH["complaint_pages.visible"]
    )

    page.get_by_test_id("action-note").click()
    dialog = page.get_by_role("dialog")
    page.fill("#action-text", NOTE)
    dialog.get_by_test_id("action-submit").click()
    expect(dialog).to_be_hidden()
    expect(_entry(page, NOTE).get_by_test_id("entry-internal")).to_have_text(
        ZH["complaint_pages.internal"]
    )

    page.get_by_test_id("action-reply").click()
    dialog = page.get_by_role("dialog")
    page.fill("#action-text", REPLY)
    dialog.get_by_test_id("action-submit").click()
    expect(dialog).to_be_hidden()
    reply = _entry(page, REPLY)
    expect(reply.get_by_test_id("entry-visible")).to_have_text(ZH["complaint_pages.visible"])
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=20_000)
    _shot(page, "complaint-page.png")
    complaint_id = int(COMPLAINT_URL.search(page.url).group(1))
    assert _db(
        app,
        "SELECT kind, visible FROM complaint_events WHERE complaint_id = ? ORDER BY id",
        complaint_id,
    ) == [("filed", 1), ("status", 1), ("reply", 1), ("note", 0), ("reply", 1)]

    # 待处理投诉 lists it (unassigned, of the front desk's store)
    app.goto_shell(page, "/my-complaints")
    expect(page.get_by_test_id("complaint-row").filter(has_text=number)).to_have_count(1)

    # the manager assigns it, and tries to close it too early
    manager = new_context().new_page()
    app.login(manager, "manager")
    app.goto_shell(manager, f"/complaints/{complaint_id}")
    expect(manager.get_by_test_id("complaint-number")).to_have_text(number)
    manager.get_by_test_id("action-assign").click()
    dialog = manager.get_by_role("dialog")
    _choose(manager, "assign-select", "王前台")
    dialog.get_by_test_id("assign-submit").click()
    expect(dialog).to_be_hidden()
    expect(manager.get_by_test_id("complaint-assignee")).to_have_text("王前台")

    manager.get_by_test_id("action-close").click()
    dialog = manager.get_by_role("dialog")
    expect(dialog.get_by_test_id("close-not-yet")).to_be_visible()
    manager.fill("#close-solution", "退还 10 元并致歉")
    manager.fill("#close-informed-on", (date.today() - timedelta(days=1)).isoformat())
    _choose(manager, "close-informed-via-select", ZH["complaint.inform.phone"])
    dialog.get_by_test_id("close-score").get_by_role("radio").nth(4).click()
    dialog.get_by_test_id("close-submit").click()
    expect(dialog.get_by_test_id("close-root_cause").get_by_test_id("field-error")).to_have_text(
        ZH["complaint.error.root_cause_required"]
    )
    manager.fill("#close-root-cause", "新员工收银操作失误")
    dialog.get_by_test_id("close-submit").click()
    expect(dialog.get_by_test_id("field-error")).to_have_text(
        ZH["complaint.error.close_before_visit"]
    )
    assert _db(app, "SELECT status, assignee_id IS NOT NULL FROM complaints WHERE id = ?",
               complaint_id) == [("investigating", 1)]  # fmt: skip
    expect(manager.get_by_text("An error occurred")).to_have_count(0)
