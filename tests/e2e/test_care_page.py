"""关怀日历 in the browser (issue 5): the manager sees the week's birthdays with each customer's
care consent, and queuing greetings reaches only the consenting ones (a demo customer whose
birthday is today, given consent here through the services, is the one greeted)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
ROOT = Path(__file__).resolve().parents[2]

# a customer born today (local), who agreed to care greetings, made in the server's instance
_SEED = """
from custapp import clock
from custapp.db import session_scope
from custapp.services import consent, customers
from custapp.services.actor import system_actor
today = clock.local_today()
with session_scope() as session:
    cid = customers.create_customer(
        session, actor=system_actor("e2e"),
        data=customers.CustomerInput(
            name="关怀寿星", phone="13655501234", birth_date=f"1990-{today:%m-%d}"
            if f"{today:%m-%d}" != "02-29" else "1992-02-29"),
    ).id
    consent.record_consents(session, actor=system_actor("e2e"), customer_id=cid,
                            choices={"care": "grant"}, evidence_ref="E2E-CARE")
print(cid)
"""


def test_manager_greets_only_consenting_birthdays(app, page) -> None:  # noqa: ANN001
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _SEED],
        cwd=ROOT, env=app.server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    app.login(page, "manager")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.care"]).click()
    expect(page).to_have_url(f"{app.url}/care")
    rows = page.get_by_test_id("care-row")
    mine = rows.filter(has_text="关怀寿星")
    expect(mine).to_contain_text(ZH["care.consented"])
    expect(page.get_by_test_id("care-summary")).to_be_visible()
    _shot(page, "care.png")

    page.get_by_test_id("care-queue").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("care-queue-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(re.compile(r"^已排队 [1-9]\d* 条问候"))).to_be_visible()
    expect(mine).to_contain_text(ZH["care.greeted"])
