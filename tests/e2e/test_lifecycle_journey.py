"""The data lifecycle in the browser (issue 16, acceptance 4 and 6).

A customer the front desk registered, whose relationship ended longer ago than the 客户档案 period,
comes into the 销毁 queue from the daily retention scan with the rule as its reason; compliance
appraises it and is offered no approval of its own appraisal; a second compliance user approves;
the customer is gone from the 客户档案 search and the profile says so; the auditor finds
销毁客户信息 in the audit log with no name, phone or ID number on the page. Then the pictures of
保存期限 and 备份与恢复 for the README.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_customer_journey import (
    _fill,
    _open_new_form,
    _record_frames,
    _saved_profile,
    _search,
    _unique_id,
    _unique_mobile,
)
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
ROOT = Path(__file__).resolve().parents[2]
SECOND = "e2ecompliance2"  # the second compliance user, made for this test
SECOND_PASSWORD = "Second-2026-pass"
JOB_TIMEOUT_MS = 120_000  # the backup and its verification run in the app's job runner

# Years pass: the relationship ended long ago (a last purchase in 2012, not active any more),
# then the daily retention scan runs against the server's database, as the job runner does.
_YEARS_LATER = """
import json, sys
from datetime import UTC, datetime
from custapp.db import session_scope
from custapp.models import Customer
from custapp.services.retention_scan import run_retention_scan

with session_scope() as session:
    customer = session.get(Customer, int(sys.argv[1]))
    customer.created_at = datetime(2011, 3, 1, 2, 0, tzinfo=UTC)
    customer.last_purchase_at = customer.updated_at = datetime(2012, 6, 1, 4, 0, tzinfo=UTC)
    customer.lifecycle = "lost"
print(json.dumps(run_retention_scan()))
"""


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _years_later(app, customer_id: int) -> dict:  # noqa: ANN001
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _YEARS_LATER, str(customer_id)],
        cwd=ROOT,
        env=app.server.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _step(page, folder: Path, name: str) -> None:  # noqa: ANN001
    """Every step's picture in the test's own folder (the docs get only a few)."""
    page.mouse.move(0, 0)
    page.screenshot(path=str(folder / name), full_page=True)


def _no_personal_value(page, *values: str) -> None:  # noqa: ANN001
    text, html = page.locator("body").inner_text(), page.content()
    for value in values:
        assert value not in text and value not in html, f"{value!r} is on {page.url}"


def test_a_customer_past_its_period_is_destroyed_by_two_people(app, new_context, tmp_path) -> None:  # noqa: ANN001
    name = "期满客户" + "".join(random.choices("甲乙丙丁戊己庚辛壬癸", k=4))
    phone, id_number = _unique_mobile(), _unique_id()

    # the front desk registers the customer and finds them by phone
    desk = new_context().new_page()
    frames = _record_frames(desk)
    app.login(desk, "frontdesk")
    app.goto_shell(desk, "/customers")
    _open_new_form(desk, frames)
    _fill(desk, {"name": name, "phone": phone, "id_number": id_number})
    cid = _saved_profile(desk)
    [(number,)] = _db(app, "SELECT number FROM customers WHERE id = ?", cid)
    app.goto_shell(desk, "/customers")
    expect(_search(desk, phone).locator(f'a[href="/customers/{cid}"]').first).to_be_visible()
    _step(desk, tmp_path, "01-registered.png")

    # years later, the daily scan proposes the customer under the 客户档案 rule
    summary = _years_later(app, cid)
    assert summary["ended_bought"] >= 1, summary
    [(candidate, reason, rule, status)] = _db(
        app,
        "SELECT number, reason_kind, rule_category, status FROM destruction_candidates "
        "WHERE customer_id = ?",
        cid,
    )
    assert (reason, rule, status) == ("rule", "customer_archive", "queued")
    app.server.create_user(SECOND, SECOND_PASSWORD, role="compliance")

    # compliance A: the candidate with its reason, appraised; no approval of A's own appraisal
    first = new_context().new_page()
    app.login(first, "compliance")
    first.get_by_test_id("menu-item").filter(has_text=ZH["nav.destruction"]).click()
    expect(first).to_have_url(f"{app.url}/destruction")
    row = first.get_by_test_id("destruction-row").filter(has_text=candidate)
    why = ZH["destruction.why.rule"].format(category=ZH["retention.category.customer_archive"])
    expect(row).to_contain_text(why)
    expect(row).to_contain_text(number)
    expect(row).to_contain_text(ZH["destruction.by_system"])
    expect(row.get_by_test_id("destruction-blocked")).to_have_count(0)
    _no_personal_value(first, name, phone, id_number)
    _shot(first, "destruction-queue.png")
    _step(first, tmp_path, "02-queue.png")
    row.get_by_test_id("destruction-appraise").click()
    dialog = first.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["destruction.appraise.title"])
    dialog.get_by_test_id("destruction-appraise-submit").click()
    expect(dialog).to_be_hidden()
    first.get_by_test_id("tab-approval").click()
    mine = first.get_by_test_id("destruction-row").filter(has_text=candidate)
    expect(mine).to_contain_text(ZH["destruction.own_appraisal"])
    expect(mine.get_by_test_id("destruction-approve")).to_have_count(0)
    _step(first, tmp_path, "03-appraised.png")
    assert _db(app, "SELECT status FROM destruction_candidates WHERE number = ?", candidate) == [
        ("appraised",)
    ]

    # compliance B approves: destroyed at once
    second = new_context().new_page()
    app.login(second, SECOND, SECOND_PASSWORD)
    app.goto_shell(second, "/destruction")
    second.get_by_test_id("tab-approval").click()
    theirs = second.get_by_test_id("destruction-row").filter(has_text=candidate)
    theirs.get_by_test_id("destruction-approve").click()
    dialog = second.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["destruction.approve.warning"][:10])
    _step(second, tmp_path, "04-approve.png")
    dialog.get_by_test_id("destruction-approve-submit").click()
    expect(dialog).to_be_hidden()
    expect(
        second.get_by_text(ZH["destruction.done_toast"].format(number=candidate))
    ).to_be_visible()
    second.get_by_test_id("tab-register").click()
    expect(second.get_by_test_id("register-row").filter(has_text=candidate)).to_have_count(1)
    _step(second, tmp_path, "05-register.png")
    [(done, destroyed_at)] = _db(
        app,
        "SELECT d.status, c.destroyed_at FROM destruction_candidates d "
        "JOIN customers c ON c.id = d.customer_id WHERE d.number = ?",
        candidate,
    )
    assert done == "done" and destroyed_at is not None

    # the front desk finds nothing any more, and the profile says it was destroyed
    app.goto_shell(desk, "/customers")
    for term in (phone, id_number, name):
        _search(desk, term)
        expect(desk.get_by_test_id("customers-empty")).to_have_text(ZH["customers.no_match"])
        expect(desk.locator(f'a[href="/customers/{cid}"]')).to_have_count(0)
    _step(desk, tmp_path, "06-search-empty.png")
    desk.goto(f"{app.url}/customers/{cid}", wait_until="commit")
    expect(desk.get_by_text(ZH["customer.error.destroyed"])).to_be_visible()
    expect(desk).to_have_url(f"{app.url}/customers")
    expect(desk.get_by_test_id("customer-name")).to_have_count(0)
    _no_personal_value(desk, name, phone, id_number)
    _step(desk, tmp_path, "07-profile-destroyed.png")

    # the auditor: 销毁客户信息 in the audit log, and no value of the customer on the page
    auditor = new_context().new_page()
    app.login(auditor, "auditor")
    auditor.get_by_test_id("menu-item").filter(has_text=ZH["nav.audit"]).click()
    expect(auditor).to_have_url(f"{app.url}/audit")
    entries = auditor.locator("table tbody tr")
    target = auditor.get_by_role("cell", name=f"customer:{cid}", exact=True)  # 对象
    destroy = entries.filter(has_text="customer.destroy").filter(has=target)
    expect(destroy.first).to_contain_text(ZH["audit.action.customer.destroy"])
    _no_personal_value(auditor, name, phone, id_number)
    auditor.get_by_placeholder(ZH["audit.f.action"]).fill("customer.destroy")
    auditor.get_by_role("button", name=ZH["common.filter"]).click()
    expect(destroy).to_have_count(1)
    expect(destroy).to_contain_text(ZH["audit.outcome.ok"])
    _no_personal_value(auditor, name, phone, id_number)
    _shot(auditor, "destruction-audit.png")
    _step(auditor, tmp_path, "08-audit.png")
    for table, column in (("audit_log", "detail"), ("audit_log", "fields")):
        for value in (name, phone, id_number):
            assert not _db(app, f"SELECT seq FROM {table} WHERE {column} LIKE ?", f"%{value}%")


def test_pictures_of_retention_and_backups(app, new_context, tmp_path) -> None:  # noqa: ANN001
    page = new_context().new_page()
    app.login(page, "compliance")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.retention"]).click()
    expect(page).to_have_url(f"{app.url}/retention")
    rules = page.get_by_test_id("rt-rule")
    expect(
        rules.filter(has_text=re.compile("^" + ZH["retention.category.customer_archive"]))
    ).to_contain_text(ZH["retention.period_years"].format(months=36, years=3))
    expect(rules.filter(has_text=ZH["retention.category.audit_log"])).to_have_count(1)
    _shot(page, "retention.png")
    _step(page, tmp_path, "retention-full.png")

    # a backup made and verified, then the page as it is next time it is opened
    admin = new_context().new_page()
    app.login(admin, "admin")
    app.goto_shell(admin, "/backups")
    rows = admin.get_by_test_id("backup-row")
    # the list arrives with the status: count it only once the status is shown
    expect(admin.get_by_test_id("backups-newest")).to_have_text(re.compile(r"\S"))
    before = rows.count()
    admin.get_by_test_id("backups-backup-now").click()
    expect(rows).to_have_count(before + 1, timeout=JOB_TIMEOUT_MS)
    rows.first.get_by_test_id("backup-verify").click()
    expect(rows.first.get_by_test_id("backup-verify-result")).to_contain_text(
        ZH["backups.verify.ok"], timeout=JOB_TIMEOUT_MS
    )
    app.goto_shell(admin, "/backups")
    expect(admin.get_by_test_id("backups-last-verified")).to_contain_text(ZH["backups.age.today"])
    expect(rows.first.get_by_test_id("backup-verify-result")).to_contain_text(
        ZH["backups.verify.ok"]
    )
    _shot(admin, "backups.png")
    _step(admin, tmp_path, "backups-full.png")
