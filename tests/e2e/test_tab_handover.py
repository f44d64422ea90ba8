"""Issue 14 item 1: the next user of a browser tab receives nothing of the previous user's.

In one tab: the manager searches customers for 陈, opens a profile and 审批, and logs out; the
admin issues a temporary password and logs out; the auditor logs in, reloads and types
/customers; then a member logs in. From the first logout on, no websocket frame the tab received
and no page it showed holds a customer number, a masked phone, an approval number or a temporary
password of an earlier login.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
MEMBER_PHONE = "13800138000"
MEMBER_NAME = "陈会员"  # the member's own record: hers to see on /portal
CUSTOMER = "陈交接"
APPROVAL_NUMBER = re.compile(r"A\d{8}")

_SEED = """
from custapp.db import session_scope
from custapp.services import approvals, auth, customers
from custapp.demo.accounts import DEMO_PASSWORD
with session_scope() as session:
    login = auth.login_staff(session, username="frontdesk", password=DEMO_PASSWORD, ip="")
    desk = auth.resolve_session(session, token=login.token).actor
    cid = customers.create_customer(
        session, actor=desk, data=customers.CustomerInput(name="陈交接", phone="13966605678")
    ).id
    approvals.request_points_adjustment(
        session, actor=desk, customer_id=cid, points=30, reason="交接测试补录"
    )
    auth.logout(session, token=login.token)
"""


def _record_frames(page) -> list[str]:  # noqa: ANN001
    received: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda p: received.append(p if isinstance(p, str) else repr(p))
        ),
    )
    return received


def _logout(page, app, frames: list[str]) -> int:  # noqa: ANN001
    """Log out; the index of the first frame received from the click on."""
    start = len(frames)
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login/?\?reason=logout$"))
    app.open_login(page)  # the login page answered: every frame of the way here has arrived
    return start


def _leaks(page, frames: list[str], since: int, secrets: set[str]) -> list[str]:  # noqa: ANN001
    seen = [*frames[since:], page.content()]
    return sorted(s for s in secrets if any(s in text for text in seen))


def test_the_next_user_of_a_tab_gets_nothing_of_the_last(app, page) -> None:  # noqa: ANN001
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _SEED],
        cwd=ROOT, env=app.server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    target = app.server.create_user("handover", "Tab-swap-2026-pass")
    frames = _record_frames(page)

    # the manager at work: a search, a profile, 审批
    app.login(page, "manager")
    app.goto_shell(page, "/customers")
    page.fill("#customer-query", "陈")
    page.press("#customer-query", "Enter")
    rows = page.locator("table tbody tr")
    expect(rows.filter(has_text=CUSTOMER)).to_have_count(1)
    secrets: set[str] = set()
    for cells in rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText))"):
        if MEMBER_NAME not in cells[1]:
            # number, masked phone (a demo customer may have no phone: an empty cell is no secret)
            secrets |= {c.strip() for c in (cells[0], cells[6]) if c.strip()}
    assert any(re.fullmatch(r"C\d{11}", s) for s in secrets), secrets
    assert any(re.fullmatch(r"1\d\d\*{4}\d{4}", s) for s in secrets), secrets
    rows.filter(has_text=CUSTOMER).get_by_role("link", name=CUSTOMER).click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    expect(page.get_by_text("139****5678").first).to_be_visible()
    app.goto_shell(page, "/approvals")
    mine = page.get_by_test_id("approval-row").filter(has_text=CUSTOMER)
    expect(mine).to_have_count(1)
    numbers = set(
        APPROVAL_NUMBER.findall(" ".join(page.get_by_test_id("approval-row").all_inner_texts()))
    )
    assert numbers
    secrets |= numbers
    start = _logout(page, app, frames)
    assert _leaks(page, frames, start, secrets) == []

    # the admin, after the manager: a temporary password for another account
    app.login(page, "admin")
    app.goto_shell(page, "/users")
    page.locator("table tbody tr").filter(has_text=target).get_by_role(
        "button", name=ZH["users.reset_password"]
    ).click()
    temporary = page.get_by_test_id("temp-password")
    expect(temporary).to_have_text(re.compile(r"^\S{10,}$"))
    assert _leaks(page, frames, start, secrets) == []
    secrets.add(temporary.inner_text().strip())
    start = _logout(page, app, frames)
    assert _leaks(page, frames, start, secrets) == []

    # the auditor, on the same tab: a reload, /customers typed
    app.login(page, "auditor")
    assert _leaks(page, frames, start, secrets) == []
    page.reload(wait_until="commit")
    expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"\S"))
    assert _leaks(page, frames, start, secrets) == []
    page.goto(f"{app.url}/customers", wait_until="commit")
    expect(page).to_have_url(f"{app.url}/")  # not the auditor's page
    expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"\S"))
    assert _leaks(page, frames, start, secrets) == []
    _logout(page, app, frames)

    # then a member
    app.login(page, MEMBER_PHONE, member=True)
    expect(page).to_have_url(re.compile(r"/portal/?$"))
    expect(page.get_by_text(MEMBER_NAME).first).to_be_visible()
    assert _leaks(page, frames, start, secrets) == []
    page.goto(f"{app.url}/customers", wait_until="commit")
    expect(page).to_have_url(re.compile(r"/portal/?$"))
    assert _leaks(page, frames, start, secrets) == []
