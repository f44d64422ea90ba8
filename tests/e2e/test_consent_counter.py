"""告知同意 at the counter (issue 4, acceptance 1 and 6): the front desk creates a customer with the
notice shown and each purpose answered on its own (nothing preselected), sees the consent tab with
the events and the notice version, withdraws one purpose, and a message queued earlier for that
purpose is cancelled. Screenshots of the consent step and the tab go to docs/screenshots."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_customer_journey import _db, _open_new_form, _record_frames, _saved_profile
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
FORM_NO = "TY-2026-0518"
VERSION_1 = ZH["consent.tab.version"].format(version=1)

# A marketing SMS queued for the customer in the server's instance, as a campaign would queue it
# (the outbox asks the consent state, so it is queued only while marketing_sms is granted).
_QUEUE_SMS = """
import sys
from custapp.db import session_scope
from custapp.models import Customer
from custapp.services import customer_fields, outbox

with session_scope() as session:
    customer = session.get(Customer, int(sys.argv[1]))
    print(outbox.queue_message(
        session, channel="sms", purpose="marketing_sms", customer_id=customer.id,
        customer_key_id=customer.data_key_id,
        recipient=customer_fields.read(session, customer, "phone"),
        subject="会员日", body="本周六会员日，全场九折。",
    ))
"""


# The customer tagged in the server's instance, so the manager's list can be narrowed to them.
_TAG = """
import sys
from custapp.db import session_scope
from custapp.models import CustomerTag

with session_scope() as session:
    session.add(CustomerTag(customer_id=int(sys.argv[1]), tag=sys.argv[2]))
print(0)
"""


def _run(app, script: str, *args: str) -> int:  # noqa: ANN001
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", script, *args],
        cwd=ROOT,
        env=app.server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def _marketing_list(manager, tag: str):  # noqa: ANN001, ANN202
    """The manager's 营销名单 for marketing by SMS narrowed to the tag: its summary and rows."""
    manager.reload()
    manager.get_by_test_id("marketing-f_tag").click()
    manager.get_by_role("option", name=tag, exact=True).click()
    manager.get_by_test_id("marketing-build").click()
    return manager.get_by_test_id("marketing-summary"), manager.get_by_test_id("marketing-row")


def _choose(step, purpose: str, answer: str) -> None:  # noqa: ANN001
    """One purpose's own choice: 同意 or 不同意 (exact: 同意 is part of 不同意)."""
    radio = step.get_by_test_id(f"consent-choice-{purpose}").get_by_role(
        "radio", name=ZH[f"consent.counter.choice.{answer}"], exact=True
    )
    radio.click()
    expect(radio).to_be_checked()


def _field_error(page, field: str):  # noqa: ANN001, ANN202
    return page.get_by_test_id(f"field-{field}").get_by_test_id("field-error")


def _state_row(page, purpose: str):  # noqa: ANN001, ANN202
    return page.get_by_test_id(f"consent-state-{purpose}")


def test_front_desk_records_consent_at_the_counter_and_a_withdrawal_cancels_the_queue(
    app,  # noqa: ANN001
    page,  # noqa: ANN001
    new_context,  # noqa: ANN001
) -> None:
    name = "同意客户" + "".join(random.choices("甲乙丙丁戊己庚辛", k=3))
    phone = "135" + "".join(random.choices("0123456789", k=8))
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    page.fill("#f-name", name)
    page.fill("#f-phone", phone)
    expect(page.locator("#f-name")).to_have_value(name)

    # the consent step: the current notice, every purpose its own choice, nothing preselected
    step = page.get_by_test_id("consent-step")
    expect(step.get_by_test_id("notice-panel")).to_contain_text(ZH["consent.counter.handler"])
    expect(step.get_by_test_id("notice-version")).to_have_text(VERSION_1)
    expect(step.get_by_test_id("consent-choices")).to_contain_text("短信营销")
    expect(step.get_by_role("radio")).to_have_count(2 * 7)
    expect(step.get_by_role("radio", checked=True)).to_have_count(0)
    expect(step.get_by_role("checkbox", checked=True)).to_have_count(0)

    # an answer without the signed form's number and without the notice ticked: both named
    # next to their fields, nothing saved
    _choose(step, "marketing_sms", "grant")
    page.get_by_test_id("customer-save").click()
    expect(_field_error(page, "evidence_ref")).to_have_text(ZH["consent.counter.evidence_required"])
    expect(_field_error(page, "notice_shown")).to_have_text(ZH["consent.counter.notice_required"])
    expect(page).to_have_url(re.compile(r"/customers/new$"))
    assert _db(app, "SELECT count(*) FROM customers WHERE name = ?", name) == [(0,)]

    # a fresh form: grant marketing SMS and care, refuse analytics, the form number, the notice
    # shown (a fresh form, so the picture shows no message of the attempt above)
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    page.fill("#f-name", name)
    page.fill("#f-phone", phone)
    expect(page.locator("#f-name")).to_have_value(name)
    expect(step.get_by_role("radio", checked=True)).to_have_count(0)
    _choose(step, "marketing_sms", "grant")
    _choose(step, "care", "grant")
    _choose(step, "analytics", "refuse")
    page.fill("#consent-evidence", FORM_NO)
    step.get_by_role("checkbox", name=ZH["consent.counter.notice_shown"]).click()
    expect(step.get_by_role("checkbox", checked=True)).to_have_count(1)
    step.evaluate("el => el.scrollIntoView({block: 'start'})")
    _shot(page, "consent-counter.png")

    cid = _saved_profile(page)
    (number,) = _db(app, "SELECT number FROM customers WHERE id = ?", cid)[0]
    assert _db(
        app,
        "SELECT purpose, action, notice_version, channel, evidence_ref FROM consent_events "
        "WHERE customer_id = ? ORDER BY id",
        cid,
    ) == [
        ("analytics", "refuse", 1, "counter", FORM_NO),
        ("care", "grant", 1, "counter", FORM_NO),
        ("marketing_sms", "grant", 1, "counter", FORM_NO),
    ]

    # the consent tab: the state per purpose and the three events with notice version 1
    page.get_by_test_id("tab-consents").click()
    events = page.get_by_test_id("consent-event")
    expect(events).to_have_count(3)
    for row in events.all():
        expect(row).to_contain_text(VERSION_1)
        expect(row).to_contain_text(FORM_NO)
        expect(row).to_contain_text(ZH["consent.channel.counter"])
    expect(events.filter(has_text="分析与画像")).to_contain_text(ZH["consent.action.refuse"])
    expect(_state_row(page, "marketing_sms")).to_contain_text(ZH["consent.state.granted"])
    expect(_state_row(page, "care")).to_contain_text(ZH["consent.state.granted"])
    expect(_state_row(page, "analytics")).to_contain_text(ZH["consent.state.refused"])
    expect(_state_row(page, "marketing_phone")).to_contain_text(ZH["consent.state.none"])
    expect(_state_row(page, "analytics").get_by_test_id("consent-withdraw")).to_have_count(0)

    # 记录告知同意 for an existing customer: the same notice and choices, nothing preselected
    page.get_by_test_id("consent-record").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("notice-version")).to_have_text(VERSION_1)
    expect(dialog.get_by_role("radio")).to_have_count(2 * 7)
    expect(dialog.get_by_role("radio", checked=True)).to_have_count(0)
    expect(dialog).to_contain_text(ZH["consent.tab.no_scans"])
    dialog.get_by_role("button", name=ZH["common.cancel"]).click()
    expect(dialog).to_be_hidden()

    # the manager's marketing list for SMS includes the customer (tagged to narrow the list)
    tag = f"同意测试{cid}"
    _run(app, _TAG, str(cid), tag)
    manager = new_context().new_page()
    app.login(manager, "manager")
    app.goto_shell(manager, "/marketing")
    summary, rows = _marketing_list(manager, tag)
    included = ZH["marketing.summary"].format(
        segment=1, included=1, left_out=0, refused=0, withdrawn=0, not_asked=0, no_contact=0
    )
    expect(summary).to_have_text(included)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)

    # a marketing SMS queued earlier; then the customer withdraws marketing by SMS
    message = _run(app, _QUEUE_SMS, str(cid))
    assert _db(app, "SELECT status FROM outbox WHERE id = ?", message) == [("queued",)]
    _state_row(page, "marketing_sms").get_by_test_id("consent-withdraw").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["consent.tab.withdraw_notice"])
    expect(dialog).to_contain_text("短信营销")
    dialog.get_by_test_id("consent-withdraw-confirm").click()
    expect(dialog).to_be_hidden()
    toast = page.get_by_text(ZH["consent.tab.withdrawn"].format(purpose="短信营销"))
    expect(toast).to_be_visible()
    expect(events).to_have_count(4)
    expect(events.first).to_contain_text(ZH["consent.action.withdraw"])
    expect(events.first).to_contain_text("短信营销")
    expect(events.first).to_contain_text(VERSION_1)
    expect(_state_row(page, "marketing_sms")).to_contain_text(ZH["consent.state.withdrawn"])
    expect(_state_row(page, "marketing_sms").get_by_test_id("consent-withdraw")).to_have_count(0)
    assert _db(app, "SELECT status FROM outbox WHERE id = ?", message) == [("cancelled",)]
    assert _db(
        app, "SELECT state FROM consent_states WHERE customer_id = ? AND purpose = ?", cid,
        "marketing_sms",
    ) == [("withdrawn",)]  # fmt: skip
    expect(page.get_by_test_id("customer-name")).to_have_text(name)
    expect(page.get_by_text(number, exact=True)).to_be_visible()  # for the marketing-list check
    expect(toast).to_be_hidden()  # gone before the picture
    _shot(page, "consent-tab.png")

    # the marketing list for SMS no longer includes them: left out as withdrawn
    summary, rows = _marketing_list(manager, tag)
    left_out = ZH["marketing.summary"].format(
        segment=1, included=0, left_out=1, refused=0, withdrawn=1, not_asked=0, no_contact=0
    )
    expect(summary).to_have_text(left_out)
    expect(rows).to_have_count(0)
