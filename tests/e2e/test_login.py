"""Logging in and out: each role's menu, wrong passwords, the lockout, the language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES
from custapp.security.permissions import ROLE_PERMISSIONS
from custapp.states.session import MENU

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
EN = CATALOGUES["en"]

# login, role (None: the demo member), display name
ACCOUNTS = [
    ("frontdesk", "front_desk"),
    ("manager", "cs_manager"),
    ("compliance", "compliance"),
    ("auditor", "auditor"),
    ("admin", "sysadmin"),
    ("13800138000", "member"),
]

# What separation of duties requires whatever else the menu grows to hold.
MUST_SHOW = {
    "front_desk": {"工作台", "待处理投诉", "修改密码"},
    "cs_manager": {"工作台", "投诉管理", "礼品目录", "会员等级", "修改密码"},
    "compliance": {"工作台", "修改密码"},
    "auditor": {"工作台", "审计日志", "修改密码"},
    "sysadmin": {"工作台", "用户管理", "修改密码"},
    "member": {"会员中心", "我的信息与授权", "我的投诉", "修改密码"},
}
MUST_NOT_SHOW = {
    "front_desk": {
        "用户管理",
        "审计日志",
        "会员中心",
        "礼品目录",
        "会员等级",
        "投诉管理",
        "我的投诉",
    },
    "cs_manager": {"用户管理", "审计日志", "会员中心"},
    "compliance": {"用户管理", "审计日志", "会员中心"},
    "auditor": {"用户管理", "会员中心"},
    "sysadmin": {"审计日志", "会员中心"},
    "member": {"工作台", "用户管理", "审计日志", "消息"},
}


def expected_menu(role: str, catalogue: dict[str, str] = ZH) -> list[str]:
    """The menu rule of SPEC §1 stated again: a staff user sees the items without a permission
    and those a role grants; a member sees the items a member may open and the password page."""
    granted = ROLE_PERMISSIONS[role]
    labels = []
    for href, label, _icon, permission in MENU:
        if permission is None:
            shown = role != "member" or href == "/account"
        else:
            shown = permission in granted
        if shown:
            labels.append(catalogue[label])
    return labels


def test_expected_menus_today() -> None:
    """The rule above gives the menus the README documents."""
    assert expected_menu("front_desk") == [
        "工作台",
        "客户档案",
        "我的待跟进",
        "待处理投诉",
        "数据质量",
        "权利请求",
        "消息",
        "修改密码",
    ]
    assert expected_menu("compliance") == [
        "工作台",
        "客户档案",
        "数据质量",
        "对外提供",
        "权利请求",
        "合规管理",
        "保存期限",  # issue 16 (RT)
        "销毁",  # issue 16 (DS)
        "消息",
        "修改密码",
    ]
    assert expected_menu("sysadmin") == [
        "工作台",
        "用户管理",
        "备份与恢复",
        "任务",
        "消息",
        "修改密码",
    ]
    assert expected_menu("auditor") == ["工作台", "销毁", "审计日志", "消息", "修改密码"]
    assert expected_menu("member") == ["会员中心", "我的信息与授权", "我的投诉", "修改密码"]
    manager = expected_menu("cs_manager")  # 礼品目录 below 关怀日历
    assert manager.index("关怀日历") < manager.index("礼品目录")
    assert manager.index("关怀日历") + 1 == manager.index("会员等级")  # 会员等级 right below
    assert "保存期限" in manager  # the second approver of retention changes (issue 16, RT)
    assert "销毁" in manager  # the second approver of destruction (issue 16, DS)


@pytest.mark.parametrize(("login", "role"), ACCOUNTS, ids=[a[1] for a in ACCOUNTS])
def test_each_role_sees_only_its_menu(app, page, login: str, role: str) -> None:
    app.login(page, login, member=role == "member")
    home = "/portal" if role == "member" else "/"
    expect(page).to_have_url(re.compile(re.escape(f"{app.url}{home}") + "/?$"))  # a full load
    expect(page.get_by_test_id("user-roles")).to_have_text(ZH[f"role.{role}"])
    items = page.get_by_test_id("menu-item")
    expect(items).to_have_text(expected_menu(role))
    shown = set(items.all_inner_texts())
    assert MUST_SHOW[role] <= shown
    assert not MUST_NOT_SHOW[role] & shown


def test_wrong_password_shows_an_error(app, page) -> None:
    app.submit_login(page, "frontdesk", "Not-the-password-1")
    expect(page.get_by_test_id("login-error")).to_have_text(ZH["auth.invalid"])
    expect(page).to_have_url(re.compile(r"/login/?$"))
    expect(page.get_by_test_id("user-name")).to_have_count(0)


def test_unknown_user_gets_the_same_error(app, page) -> None:
    app.submit_login(page, "nobody-here", "Not-the-password-1")
    expect(page.get_by_test_id("login-error")).to_have_text(ZH["auth.invalid"])


def test_five_failures_lock_the_account(app, context) -> None:
    user = app.server.create_user("e2elock", "Lock-2026-pass")  # nobody else logs in as it
    # A fresh tab per attempt: the error callout then appears only with that attempt's answer.
    for attempt in range(1, 6):
        page = context.new_page()
        app.submit_login(page, user, f"Wrong-pass-{attempt}")
        error = page.get_by_test_id("login-error")
        if attempt < 5:
            expect(error).to_have_text(ZH["auth.invalid"])
        else:
            expect(error).to_be_visible()
        page.close()
    # The sixth attempt, with the right password, is refused while the lock lasts.
    page = context.new_page()
    app.submit_login(page, user, "Lock-2026-pass")
    expect(page.get_by_test_id("login-error")).to_contain_text("锁定")
    expect(page.get_by_test_id("user-name")).to_have_count(0)


def test_language_switch(app, page) -> None:
    # Its own user: the choice is stored with the account.
    app.login(page, app.server.create_user("e2elang", "Lang-2026-pass"), "Lang-2026-pass")
    items = page.get_by_test_id("menu-item")
    expect(items).to_have_text(expected_menu("front_desk"))

    page.get_by_role("combobox", name="language").click()
    page.get_by_role("option", name="English").click()
    expect(items).to_have_text(expected_menu("front_desk", EN))
    expect(items.first).to_have_text("Home")
    expect(page.get_by_test_id("logout")).to_have_text(EN["nav.logout"])

    # The choice survives a reload.
    app.goto_shell(page, "/")
    expect(items.first).to_have_text("Home")

    page.get_by_role("combobox", name="language").click()
    page.get_by_role("option", name="中文").click()
    expect(items).to_have_text(expected_menu("front_desk"))
    expect(page.get_by_test_id("logout")).to_have_text(ZH["nav.logout"])


def test_logout_returns_to_login_with_a_notice(app, page) -> None:
    app.login(page, app.server.create_user("e2eout", "Out-2026-pass"), "Out-2026-pass")
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login/?\?reason=logout$"))
    expect(page.get_by_test_id("login-notice")).to_have_text(ZH["auth.reason.logout"])
    expect(page.locator("#login")).to_be_visible()
    # The session is over: a signed-in page sends the browser back to the login.
    page.goto(f"{app.url}/", wait_until="commit")
    expect(page).to_have_url(re.compile(r"/login/?\?reason="))
    expect(page.locator("#login")).to_be_visible()
