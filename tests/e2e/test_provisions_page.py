"""对外提供 in the browser: compliance registers a recipient with its 保密协议 (a missing date is
named next to its field), tries a provision that includes a customer who refused and sees the
refusal naming them with nothing saved, records it without them, and records a 依法披露 of the
customer who refused (no consent needed)."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
PASSWORD = "Provide-2026-pass"
ROOT = Path(__file__).resolve().parents[2]
RECIPIENT = "顺达物流有限公司"

# Consent answers recorded as the counter would, in the test instance (no page of this test's
# own does that): {customer number: "grant" | "refuse"} for the third_party purpose.
_RECORD = """
import sys
from sqlalchemy import select
from custapp.db import session_scope
from custapp.models import Customer
from custapp.services import consent
from custapp.services.actor import system_actor
with session_scope() as session:
    for number, choice in zip(sys.argv[1::2], sys.argv[2::2]):
        cid = session.exec(select(Customer.id).where(Customer.number == number)).scalar_one()
        consent.record_consents(session, actor=system_actor("e2e"), customer_id=cid,
                                choices={"third_party": choice}, evidence_ref="E2E-1")
"""


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _consents(app, answers: dict[str, str]) -> None:  # noqa: ANN001
    args = [x for pair in answers.items() for x in pair]
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _RECORD, *args],
        cwd=ROOT,
        env=app.server.env,
        check=True,
        timeout=120,
    )


def _choose(page, testid: str, option: str) -> None:  # noqa: ANN001
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option).click()


def test_compliance_is_refused_a_provision_naming_the_customer_and_records_a_disclosure(
    app,
    page,  # noqa: ANN001
) -> None:
    user = app.server.create_user("e2eprovide", PASSWORD, role="compliance")
    (agreed, _), (refuser, refuser_name) = _db(
        app,
        "SELECT number, name FROM customers WHERE merged_into_id IS NULL "
        "ORDER BY id LIMIT 2 OFFSET 11",
    )
    _consents(app, {agreed: "grant", refuser: "refuse"})
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    app.login(page, user, PASSWORD)
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.provisions"]).click()
    expect(page).to_have_url(f"{app.url}/provisions")
    expect(page.get_by_test_id("recipients-empty")).to_be_visible()

    # 接收方: the signing date of the 保密协议 is required
    page.get_by_test_id("recipient-add").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#rec-name").fill(RECIPIENT)
    dialog.locator("#rec-contact").fill("021-55550000")
    dialog.locator("#rec-nda_reference").fill("NDA-2026-007")
    dialog.locator("#rec-oversight_note").fill(
        "每季度检查接收方的数据使用情况，合同到期后书面确认删除"
    )
    dialog.get_by_test_id("recipient-save").click()
    expect(dialog.get_by_test_id("field-error")).to_have_text(
        ZH["provision.error.nda_signed_on_required"]
    )
    dialog.locator("#rec-nda_signed_on").fill((today - timedelta(days=10)).isoformat())
    dialog.get_by_test_id("recipient-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("recipient-row").filter(has_text=RECIPIENT)).to_contain_text(
        "NDA-2026-007"
    )

    expect(page.get_by_text(ZH["provision.recipient.saved"])).to_be_hidden()

    # 提供记录: one of the two refused, so nothing is recorded and the refusal names them
    page.get_by_test_id("tab-provisions").click()
    expect(page.get_by_test_id("provisions-empty")).to_be_visible()
    page.get_by_test_id("provision-new").click()
    form = page.get_by_test_id("provision-form")
    _choose(page, "provision-recipient", RECIPIENT)
    _choose(page, "provision-purpose", "向第三方提供")
    form.locator("#prov-contract").fill("HT-2026-031")
    form.locator("#prov-to").fill((today + timedelta(days=180)).isoformat())
    form.get_by_test_id("prov-cat-basic").click()
    form.get_by_test_id("prov-cat-purchases").click()
    form.locator("#prov-numbers").fill(f"{agreed}\n{refuser}")
    form.get_by_test_id("provision-submit").click()
    refused = form.get_by_test_id("provision-refused")
    expect(refused).to_contain_text(ZH["provision.refused.title"])
    row = refused.get_by_test_id("refused-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(refuser)
    expect(row).to_contain_text(refuser_name)
    expect(row).to_contain_text(ZH["consent.why.refused"])
    assert _db(app, "SELECT COUNT(*) FROM provisions") == [(0,)]
    page.set_viewport_size({"width": 1280, "height": 1000})  # the form and the refusal whole
    _shot(page, "provisions.png")
    page.set_viewport_size({"width": 1280, "height": 800})

    # taken out of the list, the rest is recorded, with the consent relied on
    refused.get_by_test_id("refused-remove").click()
    expect(refused).to_be_hidden()
    expect(form.locator("#prov-numbers")).to_have_value(agreed)
    form.get_by_test_id("provision-submit").click()
    expect(page.get_by_text(ZH["provision.saved"].format(count="1"))).to_be_visible()
    recorded = page.get_by_test_id("provision-row")
    expect(recorded).to_have_count(1)
    expect(recorded).to_contain_text(RECIPIENT)
    expect(recorded).to_contain_text("HT-2026-031")
    linked = _db(
        app,
        "SELECT c.number, e.action FROM provision_customers p JOIN customers c "
        "ON c.id = p.customer_id JOIN consent_events e ON e.id = p.consent_event_id",
    )
    assert linked == [(agreed, "grant")]
    recorded.get_by_test_id("provision-customers").click()
    provided = page.get_by_role("dialog").get_by_test_id("provided-customer")
    expect(provided).to_have_count(1)
    expect(provided).to_contain_text(agreed)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()

    # 依法披露 of the customer who refused: recorded without consent
    page.get_by_test_id("tab-disclosures").click()
    expect(page.get_by_test_id("disclosures-empty")).to_be_visible()
    page.get_by_test_id("disclosure-add").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#disc-customer_number").fill(refuser)
    dialog.locator("#disc-authority").fill("上海市公安局浦东分局")
    dialog.locator("#disc-legal_basis").fill("《中华人民共和国刑事诉讼法》第五十四条")
    dialog.locator("#disc-document_reference").fill("沪公浦（调）字〔2026〕118号")
    dialog.get_by_test_id("disc-cat-purchases").click()
    dialog.locator("#disc-harm_note").fill("仅提供调取证明所列期间的消费记录")
    dialog.get_by_test_id("disclosure-save").click()
    expect(dialog).to_be_hidden()
    disclosed = page.get_by_test_id("disclosure-row")
    expect(disclosed).to_have_count(1)
    expect(disclosed).to_contain_text(refuser)
    expect(disclosed).to_contain_text("上海市公安局浦东分局")
    assert _db(app, "SELECT COUNT(*) FROM legal_disclosures") == [(1,)]
