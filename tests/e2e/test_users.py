"""用户管理: the sysadmin creates an account; its temporary password must be changed at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
NEW_USER = "e2enew"
NEW_NAME = "周新人"
NEW_PASSWORD = "Fresh-2026-start"


def test_admin_creates_a_user_who_must_change_the_password(app, new_context, page) -> None:
    app.login(page, "admin")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.users"]).click()
    expect(page).to_have_url(f"{app.url}/users")
    expect(page.locator("table tbody tr").filter(has_text="frontdesk")).to_have_count(1)

    page.get_by_test_id("user-create").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#form-username").fill(NEW_USER)
    dialog.locator("#form-name").fill(NEW_NAME)
    dialog.get_by_role("checkbox", name=ZH["role.front_desk"]).click()
    dialog.get_by_role("checkbox", name="总店").click()
    expect(dialog.get_by_role("checkbox", name=ZH["role.front_desk"])).to_be_checked()
    dialog.get_by_test_id("user-save").click()

    expect(dialog).to_be_hidden()
    temp = page.get_by_test_id("temp-password")
    expect(temp).to_have_text(re.compile(r"^\S{10,}$"))
    temporary = temp.inner_text().strip()
    row = page.locator("table tbody tr").filter(has_text=NEW_USER)
    expect(row).to_contain_text(NEW_NAME)
    expect(row).to_contain_text(ZH["role.front_desk"])
    expect(row).to_contain_text(ZH["users.status.temporary"])

    # The new user, in another browser: straight to the password page, nowhere else.
    user = new_context().new_page()
    app.submit_login(user, NEW_USER, temporary)
    expect(user).to_have_url(re.compile(r"/account/?$"))
    expect(user.get_by_test_id("must-change")).to_have_text(ZH["account.must_change"])
    user.goto(f"{app.url}/", wait_until="commit")
    expect(user).to_have_url(re.compile(r"/account/?$"))
    expect(user.get_by_test_id("must-change")).to_be_visible()

    user.fill("#current", temporary)
    user.fill("#new", NEW_PASSWORD)
    user.fill("#confirm", NEW_PASSWORD)
    user.get_by_test_id("password-save").click()
    expect(user).to_have_url(f"{app.url}/")
    expect(user.get_by_test_id("user-name")).to_have_text(NEW_NAME)
    expect(user.get_by_test_id("must-change")).to_have_count(0)

    # The temporary password is spent; the new one works.
    again = new_context()
    retry = again.new_page()
    app.submit_login(retry, NEW_USER, temporary)
    expect(retry.get_by_test_id("login-error")).to_have_text(ZH["auth.invalid"])
    retry.close()
    fresh = again.new_page()
    app.login(fresh, NEW_USER, NEW_PASSWORD)
    expect(fresh).to_have_url(f"{app.url}/")
