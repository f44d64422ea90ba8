"""数据质量: a manager finds a duplicate pair, previews and merges it, and the merged customer's
profile address then shows the survivor; the front desk sees the lists without the merge action;
an auditor does not reach the page."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
REASON = "同一客户重复建档"

# Two customers with the same phone, created through the customer service in the test instance.
_CREATE = """
import sys
from custapp.db import session_scope
from custapp.services import customers
from custapp.services.actor import system_actor

for name in sys.argv[2:]:
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("e2e"),
            data=customers.CustomerInput(name=name, phone=sys.argv[1]),
        )
    print(ref.id, ref.number)
"""


def _duplicates(app, name: str) -> list[tuple[int, str]]:  # noqa: ANN001
    phone = "137" + "".join(random.choices("0123456789", k=8))
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _CREATE, phone, name, name],
        cwd=ROOT,
        env=app.server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [
        (int(i), number) for i, number in (line.split() for line in done.stdout.split("\n") if line)
    ]


def _group(page, number: str):  # noqa: ANN001, ANN202
    return page.get_by_test_id("dup-group").filter(has_text=number)


def test_manager_merges_a_duplicate_and_the_merged_number_leads_to_the_survivor(app, page):
    (survivor_id, survivor_no), (merged_id, merged_no) = _duplicates(app, "合并测试客户")
    app.login(page, "manager")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.data_quality"]).click()
    expect(page).to_have_url(f"{app.url}/data-quality")
    group = _group(page, merged_no)
    expect(group).to_be_visible()
    expect(group).to_contain_text(ZH["customer.dup.phone"])
    expect(group).to_contain_text(survivor_no)
    expect(group).to_contain_text("****")  # the phones, masked

    group.get_by_test_id("merge-open").click()
    preview = page.get_by_test_id("merge-preview")
    expect(preview).to_contain_text(survivor_no)
    expect(preview).to_contain_text(merged_no)
    expect(page.get_by_test_id("merge-survivor")).to_contain_text(survivor_no)
    page.fill("#merge-reason", REASON)
    page.get_by_test_id("merge-confirm").click()
    expect(page.get_by_text(f"已将 {merged_no} 合并到 {survivor_no}")).to_be_visible()
    expect(_group(page, merged_no)).to_have_count(0)

    page.goto(f"{app.url}/customers/{merged_id}", wait_until="commit")
    expect(page.get_by_test_id("customer-name")).to_have_text("合并测试客户")
    expect(page.get_by_text(ZH["customer.redirected"] + " " + merged_no)).to_be_visible()
    expect(page.get_by_text(survivor_no, exact=True).first).to_be_visible()
    assert survivor_id != merged_id


def test_front_desk_sees_both_lists_without_the_merge_action(app, page):
    (_, first_no), _ = _duplicates(app, "前台查看重复")
    app.login(page, "frontdesk")
    app.goto_shell(page, "/data-quality")
    expect(_group(page, first_no)).to_be_visible()
    expect(page.get_by_test_id("merge-open")).to_have_count(0)
    page.get_by_test_id("tab-verification").click()
    expect(page.get_by_role("link", name=ZH["dq.open_profile"]).first).to_be_visible()


def test_an_auditor_does_not_reach_the_page(app, page):
    app.login(page, "auditor")
    page.goto(f"{app.url}/data-quality", wait_until="commit")
    expect(page.get_by_text(ZH["error.page_denied"])).to_be_visible()
    expect(page).to_have_url(f"{app.url}/")
