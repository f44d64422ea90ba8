"""A page the role may not open: redirected with a message, and no data crosses the wire."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]

# login, is member, forbidden page, where the user lands, a key only that page's rows carry
CASES = [
    ("frontdesk", False, "/users", "/", '"username"'),
    ("auditor", False, "/users", "/", '"username"'),
    ("admin", False, "/audit", "/", '"seq"'),
    ("13800138000", True, "/users", "/portal", '"username"'),
]


def _record_frames(page) -> list[str]:  # noqa: ANN001
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda p: frames.append(p if isinstance(p, str) else repr(p))
        ),
    )
    return frames


@pytest.mark.parametrize(
    ("login", "member", "path", "lands", "row_key"),
    CASES,
    ids=[f"{c[0]}{c[2].replace('/', '-')}" for c in CASES],
)
def test_forbidden_page_redirects_and_loads_nothing(
    app, page, login: str, member: bool, path: str, lands: str, row_key: str
) -> None:
    app.login(page, login, member=member)
    frames = _record_frames(page)
    page.goto(f"{app.url}{path}", wait_until="commit")
    expect(page.get_by_text(ZH["error.page_denied"])).to_be_visible()
    expect(page).to_have_url(f"{app.url}{lands}")
    expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"\S"))
    assert frames, "no websocket traffic was seen"
    leaked = [f[:300] for f in frames if row_key in f]
    assert not leaked, f"rows of {path} reached the browser: {leaked}"
    if lands == "/":  # the staff start page has no table; the member page lists its own ledger
        expect(page.locator("table tbody tr")).to_have_count(0)


@pytest.mark.parametrize(
    ("login", "path", "row_key"),
    [("admin", "/users", '"username"'), ("auditor", "/audit", '"seq"')],
)
def test_allowed_page_does_load_rows(app, page, login: str, path: str, row_key: str) -> None:
    """The control for the test above: the same check sees the rows when they are sent."""
    app.login(page, login)
    frames = _record_frames(page)
    app.goto_shell(page, path)
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert any(row_key in f for f in frames), frames[:3]
