"""投诉管理 (issue 6): the demo manager opens the page from the menu, sees the KPI cards, the
weekly trend and the queue, keeps only the overdue ones, ticks two complaints and assigns them to
the front desk at once."""

from __future__ import annotations

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
HANDLER = "王前台"  # the demo front desk (custapp seed-demo)
_FILE = """
from datetime import timedelta
from sqlalchemy import select
from custapp import clock
from custapp.db import session_scope
from custapp.models import Customer
from custapp.services import complaints
from custapp.services.actor import system_actor
clock.set_now(clock.now() - timedelta(days=3))  # received three days ago: overdue now
with session_scope() as session:
    cids = session.exec(
        select(Customer.id).where(Customer.merged_into_id.is_(None)).order_by(Customer.id).limit(2)
    ).scalars().all()
    for cid, text in zip(cids, ("停车场没有照明，晚上很不安全", "大厅空调坏了一整天")):
        row = complaints.file_complaint(
            session, actor=system_actor("e2e"), customer_id=cid, channel="phone",
            category="environment", severity="high", description=text,
        )
        print(row.number)
"""


def _file_two(app) -> list[str]:  # noqa: ANN001
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _FILE],
        cwd=ROOT, env=app.server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    numbers = done.stdout.split()
    assert len(numbers) == 2 and all(re.fullmatch(r"T\d{12}", n) for n in numbers), numbers
    return numbers


def _pick(page, testid: str, option: str) -> None:  # noqa: ANN001
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_manager_reviews_and_bulk_assigns(app, new_context) -> None:  # noqa: ANN001
    numbers = _file_two(app)
    page = new_context().new_page()
    app.login(page, "manager")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.complaints"]).click()
    expect(page).to_have_url(re.compile(r"/complaints$"))
    expect(page.get_by_role("heading", name=ZH["nav.complaints"])).to_be_visible()

    expect(page.get_by_test_id("kpi-card")).to_have_count(6)
    expect(page.get_by_test_id("kpi-open")).to_have_text(re.compile(r"^\d+$"))
    expect(page.get_by_test_id("kpi-overdue_rate")).to_have_text(re.compile(r"^\d+%$"))
    expect(
        page.get_by_test_id("kpi-trend").locator(".recharts-bar-rectangle").first
    ).to_be_visible()
    expect(page.get_by_test_id("complaint-row").first).to_be_visible()

    page.get_by_test_id("filter-overdue").click()
    _pick(page, "filter-category", ZH["complaint.category.environment"])
    _pick(page, "filter-assignee", ZH["complaint_review.unassigned"])
    rows = page.get_by_test_id("complaint-row")
    for number in numbers:
        expect(rows.filter(has_text=number)).to_have_count(1)
    expect(rows.filter(has=page.get_by_test_id("overdue"))).to_have_count(rows.count())

    for number in numbers:
        rows.filter(has_text=number).get_by_test_id("row-select").click()
    expect(page.get_by_test_id("selected-count")).to_have_text(
        ZH["complaint_review.selected"].format(count=2)
    )
    _pick(page, "assign-to", HANDLER)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "complaints-review.png")
    page.get_by_test_id("assign-submit").click()
    expect(page.get_by_text(ZH["complaint_review.assigned"].format(count=2))).to_be_visible()
    for number in numbers:  # the list still filters on 未分派: they left it
        expect(rows.filter(has_text=number)).to_have_count(0)
    _pick(page, "filter-assignee", HANDLER)
    for number in numbers:
        expect(rows.filter(has_text=number).get_by_test_id("row-assignee")).to_have_text(HANDLER)
    marks = ",".join("?" * len(numbers))
    assert _db(
        app,
        f"SELECT count(*) FROM complaints c JOIN users u ON u.id = c.assignee_id "
        f"WHERE u.display_name = ? AND c.number IN ({marks})",
        HANDLER,
        *numbers,
    ) == [(2,)]

    # the row opens the complaint's own page
    link = rows.filter(has_text=numbers[0]).get_by_role("link", name=numbers[0])
    expect(link).to_have_attribute("href", re.compile(r"/complaints/\d+$"))
