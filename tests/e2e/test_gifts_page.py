"""礼品目录 in the browser (issue 5): the manager opens the catalogue (the demo gifts are there),
adds a gift — a points cost of 0 is named next to its field first — then edits its stock and
sees the row change."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.demo.accounts import DEMO_GIFTS
from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
NAME = "折叠雨伞"


def test_manager_adds_and_edits_a_gift(app, page) -> None:  # noqa: ANN001
    app.login(page, "manager")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.gifts"]).click()
    expect(page).to_have_url(f"{app.url}/gifts")
    rows = page.get_by_test_id("gift-row")
    expect(rows.filter(has_text=DEMO_GIFTS[0][0])).to_contain_text(ZH["gifts.available"])

    page.get_by_test_id("gift-create").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(ZH["gifts.create"])
    page.fill("#gift-name_zh", NAME)
    page.fill("#gift-name_en", "Folding umbrella")
    page.fill("#gift-points_cost", "0")
    page.fill("#gift-stock", "30")
    page.fill("#gift-active_to", "2030-12-31")
    dialog.get_by_test_id("gift-submit").click()
    expect(dialog.get_by_test_id("field-points_cost")).to_contain_text(
        ZH["gifts.error.points_cost"]
    )
    expect(dialog.get_by_test_id("field-error")).to_have_count(1)
    page.fill("#gift-points_cost", "150")
    dialog.get_by_test_id("gift-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(ZH["gifts.saved"])).to_be_visible()
    mine = rows.filter(has_text=NAME)
    expect(mine).to_contain_text("Folding umbrella")
    expect(mine.get_by_test_id("gift-points")).to_have_text("150")
    expect(mine.get_by_test_id("gift-stock")).to_have_text("30")
    expect(mine).to_contain_text(ZH["gifts.dates.until"].format(end="2030-12-31"))
    expect(mine.get_by_test_id("gift-available")).to_have_text(ZH["gifts.available"])

    mine.get_by_test_id("gift-edit").click()
    expect(dialog).to_contain_text(ZH["gifts.edit"])
    expect(page.locator("#gift-name_zh")).to_have_value(NAME)
    expect(page.locator("#gift-active_to")).to_have_value("2030-12-31")
    page.fill("#gift-stock", "0")
    dialog.get_by_test_id("gift-submit").click()
    expect(dialog).to_be_hidden()
    expect(mine.get_by_test_id("gift-stock")).to_have_text("0")
    expect(mine.get_by_test_id("gift-available")).to_have_text(ZH["gifts.unavailable"])
    expect(mine.get_by_test_id("gift-why")).to_have_text(ZH["gifts.why.stock"])
    expect(mine.get_by_test_id("gift-listed")).to_have_text(ZH["gifts.listed"])
    _shot(page, "gifts.png")
