"""审计日志: the auditor reads the log and checks the chain."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]


def test_auditor_reads_the_log_and_verifies_the_chain(app, page) -> None:
    app.login(page, "auditor")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.audit"]).click()
    expect(page).to_have_url(f"{app.url}/audit")
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    # The log holds at least the seeding and this login.
    expect(rows.filter(has_text="auth.login").first).to_be_visible()
    expect(page.get_by_test_id("verify-result")).to_have_count(0)

    page.get_by_test_id("audit-verify").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_contain_text("审计链完整")
    expect(result).not_to_contain_text("篡改")
