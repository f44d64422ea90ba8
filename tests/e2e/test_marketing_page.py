"""营销名单 in the browser: the manager builds a list for a tag and SMS marketing, reads how many
are included and why the others are left out, sees only masked phones, and queues a campaign to
the consenting customers (an empty subject is named next to its field first)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
ROOT = Path(__file__).resolve().parents[2]
TAG = "春季品鉴会"
SUBJECT = "春季新品品鉴会"
BODY = "本周六春季新品品鉴会，会员到店可免费品尝。回复T退订"
# what each of the tagged customers answered about marketing by SMS ("" = never asked)
ANSWERS = ["grant"] * 7 + ["refuse"] * 2 + ["withdraw"] + [""] * 2

# The tag and the consents, recorded through the services in the test instance, as the counter
# would (no page of this test's own does that).
_SEED = """
import sys
from custapp.db import session_scope
from custapp.models import CustomerTag
from custapp.services import consent
from custapp.services.actor import system_actor
tag, pairs = sys.argv[1], sys.argv[2:]
actor = system_actor("e2e")
with session_scope() as session:
    for cid, answer in zip(pairs[::2], pairs[1::2]):
        session.add(CustomerTag(customer_id=int(cid), tag=tag))
        if answer:
            choice = "refuse" if answer == "refuse" else "grant"
            consent.record_consents(session, actor=actor, customer_id=int(cid),
                                    choices={"marketing_sms": choice}, evidence_ref="E2E-1")
        if answer == "withdraw":
            consent.withdraw_consent(session, actor=actor, customer_id=int(cid),
                                     purpose="marketing_sms")
"""


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _seed(app) -> list[int]:  # noqa: ANN001
    ids = [
        row[0]
        for row in _db(
            app,
            "SELECT id FROM customers WHERE merged_into_id IS NULL AND phone_enc IS NOT NULL "
            "AND id NOT IN (SELECT customer_id FROM consent_states) ORDER BY id DESC LIMIT ?",
            len(ANSWERS),
        )
    ]
    assert len(ids) == len(ANSWERS)
    args = [x for cid, answer in zip(ids, ANSWERS, strict=True) for x in (str(cid), answer)]
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _SEED, TAG, *args],
        cwd=ROOT,
        env=app.server.env,
        check=True,
        timeout=120,
    )
    return ids


def _choose(page, testid: str, option: str) -> None:  # noqa: ANN001
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_manager_builds_a_consenting_list_and_queues_a_campaign(app, page) -> None:  # noqa: ANN001
    ids = _seed(app)
    app.login(page, "manager")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.marketing"]).click()
    expect(page).to_have_url(f"{app.url}/marketing")
    expect(page.get_by_test_id("marketing-not-built")).to_be_visible()
    expect(page.get_by_test_id("marketing-purpose")).to_have_text("短信营销")

    _choose(page, "marketing-f_tag", TAG)
    page.get_by_test_id("marketing-build").click()
    summary = ZH["marketing.summary"].format(
        segment=12, included=7, left_out=5, refused=2, withdrawn=1, not_asked=2, no_contact=0
    )
    expect(page.get_by_test_id("marketing-summary")).to_have_text(summary)
    rows = page.get_by_test_id("marketing-row")
    expect(rows).to_have_count(7)
    expect(rows.first).to_contain_text("****")
    _shot(page, "marketing.png")

    # the message: an empty subject is named next to its field; then the confirmation
    page.get_by_test_id("marketing-compose").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#marketing-body").fill(BODY)
    dialog.get_by_test_id("marketing-queue").click()
    expect(dialog.get_by_test_id("field-error")).to_have_text(
        ZH["marketing.error.subject_required"]
    )
    dialog.locator("#marketing-subject").fill(SUBJECT)
    dialog.get_by_test_id("marketing-queue").click()
    expect(page.get_by_test_id("marketing-confirm-text")).to_contain_text("7 位客户")
    page.get_by_test_id("marketing-confirm").click()
    expect(page.get_by_text(ZH["marketing.queued"].format(queued=7, left_out=5))).to_be_visible()

    campaign = page.get_by_test_id("campaign-row").filter(has_text=SUBJECT)
    expect(campaign).to_have_count(1)
    expect(campaign).to_contain_text(f"标签：{TAG}")
    queued = _db(
        app,
        "SELECT customer_id FROM outbox WHERE purpose = 'marketing_sms' "
        "AND status = 'queued' ORDER BY customer_id",
    )
    assert {c for (c,) in queued if c in ids} == set(ids[:7])
