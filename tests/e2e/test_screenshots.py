"""The README's screenshots, taken against the test server at 1280x800.

They are written to test-artifacts/screenshots on every run, and into docs/screenshots when one is
missing there or with CUSTAPP_UPDATE_SCREENSHOTS=1 (so an ordinary test run leaves the docs alone).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
ZH = CATALOGUES["zh_CN"]


def _cjk_font_installed() -> bool:
    try:
        fonts = subprocess.run(["fc-list"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "cjk" in fonts.lower()


def _publish(name: str) -> None:
    target = DOCS / name
    if os.environ.get("CUSTAPP_UPDATE_SCREENSHOTS") == "1" or not target.exists():
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(OUT / name, target)


def _shot(page, name: str) -> None:  # noqa: ANN001
    OUT.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.wait_for_timeout(300)  # let transitions settle
    page.screenshot(path=str(OUT / name))
    _publish(name)


def test_screenshots(app, new_context) -> None:
    if not _cjk_font_installed():
        pytest.fail(
            "No CJK font: Chinese would render as boxes. `make test` installs it when run as "
            "root; otherwise: sudo apt-get install -y fonts-noto-cjk",
            pytrace=False,
        )
    page = new_context().new_page()
    app.open_login(page)
    expect(page.get_by_text(ZH["login.subtitle"])).to_be_visible()
    _shot(page, "login.png")

    page = new_context().new_page()
    app.login(page, "frontdesk")
    expect(page.get_by_text(ZH["home.shortcuts"])).to_be_visible()
    _shot(page, "shell-frontdesk.png")

    page = new_context().new_page()
    app.login(page, "admin")
    app.goto_shell(page, "/users")
    expect(page.locator("table tbody tr").filter(has_text="frontdesk")).to_be_visible()
    _shot(page, "users-admin.png")

    page = new_context().new_page()
    app.login(page, "auditor")
    app.goto_shell(page, "/audit")
    expect(page.locator("table tbody tr").first).to_be_visible()
    page.get_by_test_id("audit-verify").click()
    expect(page.get_by_test_id("verify-result")).to_be_visible()
    _shot(page, "audit-auditor.png")

    page = new_context().new_page()
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    _shot(page, "customers-list.png")

    # a demo person with a masked phone who is a 一般 (general-value) customer
    rows.filter(has_text=re.compile(r"1\d\d\*{4}\d{4}")).filter(
        has_text=ZH["customer.kind.individual"]
    ).filter(has_text=ZH["customer.value.general"]).first.get_by_role("link").nth(1).click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    expect(page.get_by_test_id("customer-name")).to_have_text(re.compile(r"\S"))
    expect(page.get_by_test_id("masked-value").first).to_be_visible()
    _shot(page, "customer-profile.png")

    page.get_by_test_id("tab-transactions").click()
    expect(page.get_by_test_id("order-row").first).to_be_visible()
    _shot(page, "customer-transactions.png")

    # an address edit, so the history shows old → new masked
    page.get_by_role("button", name=ZH["customer.edit"]).click()
    expect(page).to_have_url(re.compile(r"/customers/\d+/edit$"))
    expect(page.get_by_text(ZH["customer.edit_hint"])).to_be_visible()
    page.locator("#f-address").fill("上海市浦东新区世纪大道100号")
    page.get_by_test_id("customer-save").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    page.get_by_test_id("tab-history").click()
    expect(page.locator("table tbody tr").first).to_be_visible()
    _shot(page, "customer-history.png")

    app.goto_shell(page, "/follow-ups")
    expect(page.get_by_role("heading", name=ZH["nav.follow_ups"])).to_be_visible()
    page.wait_for_timeout(500)
    _shot(page, "follow-ups.png")

    app.goto_shell(page, "/customers")
    page.get_by_role("button", name=ZH["customers.new"]).click()
    expect(page.locator("#f-name")).to_be_visible()
    expect(page.get_by_test_id("customer-save")).to_be_visible()
    _shot(page, "customer-new.png")

    page = new_context().new_page()
    app.login(page, "manager")
    app.goto_shell(page, "/data-quality")
    expect(page.get_by_test_id("merge-open").first).to_be_visible()
    _shot(page, "data-quality.png")
