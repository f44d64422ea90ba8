"""Secrets that pass through the app are written to no file and sent back to no browser.

Reflex's default disk state manager pickles whole states to `.states/`; custapp runs the memory
manager for one worker (SPEC §8). A distinctive password goes through login and a password
change; afterwards no file of the project, the instance, the build or the states folder holds
it, and no websocket frame the browser received does. Likewise a customer's phone and ID number:
masked on every page, in a frame only once revealed, cleared on leaving the profile, and in no
file.
"""

from __future__ import annotations

import os
import random
import re
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES
from custapp.security.validators import make_cn_id

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = CATALOGUES["zh_CN"]
SKIP_DIRS = {".git", ".venv", ".tools", "node_modules", "__pycache__", ".hypothesis"}


def _files(root: Path):  # noqa: ANN202
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            yield Path(folder) / name


def _holding(roots: list[Path], secret: bytes) -> list[str]:
    found = []
    for root in roots:
        for path in _files(root):
            try:
                if secret in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


def _scanned_roots(app) -> tuple[list[Path], Path]:  # noqa: ANN001
    env = app.server.env
    states = Path(env["REFLEX_STATES_WORKDIR"])
    roots = [ROOT, Path(env["CUSTAPP_INSTANCE_DIR"]), Path(env["REFLEX_WEB_WORKDIR"]), states]
    return roots, states


def _record_frames(page) -> list[str]:  # noqa: ANN001
    received: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda p: received.append(p if isinstance(p, str) else repr(p))
        ),
    )
    return received


def test_passwords_reach_no_file_and_no_state(app, page) -> None:  # noqa: ANN001
    # made at run time, so not even this file holds them
    first, second = f"Qx7-{secrets.token_hex(8)}", f"Wv3-{secrets.token_hex(8)}"
    username = app.server.create_user("secretcheck", first)
    received = _record_frames(page)
    app.login(page, username, first)
    app.goto_shell(page, "/account")
    page.fill("#current", first)
    page.fill("#new", second)
    page.fill("#confirm", second)
    page.get_by_test_id("password-save").click()
    expect(page.get_by_text(CATALOGUES["zh_CN"]["account.password_changed"])).to_be_visible()
    app.goto_shell(page, "/")

    roots, states = _scanned_roots(app)
    for secret in (first, second):
        assert _holding(roots, secret.encode()) == [], f"{secret} was written to a file"
        assert not [f for f in received if secret in f], f"{secret} came back to the browser"
    assert not states.exists() or not any(states.rglob("*")), "the state manager wrote to disk"
    assert received, "no websocket traffic was seen"


def _wait_for_frame(page, frames: list[str], since: int, needle: str) -> None:  # noqa: ANN001
    for _ in range(100):
        if any(needle in f for f in frames[since:]):
            return
        page.wait_for_timeout(100)
    pytest.fail(f"no frame with {needle!r} arrived")


def _reveal_phone(page, phone: str) -> None:  # noqa: ANN001
    page.get_by_test_id("reveal-phone").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#reveal-reason").fill("客户来电核对号码")
    dialog.get_by_test_id("reveal-confirm").click()
    expect(page.get_by_test_id("revealed-value")).to_have_text(phone)


def test_revealed_values_stay_in_the_profile_and_reach_no_file(app, page) -> None:  # noqa: ANN001
    # made at run time, so no file of the project holds them by chance
    phone = "139" + "".join(random.choices("0123456789", k=8))
    birth = date(1960, 1, 1) + timedelta(days=random.randrange(14_000))
    id_number = make_cn_id("110105", birth, random.randrange(1000))
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()

    # created through the form (the page's load re-keys the form: type after it answered)
    mark = len(frames)
    page.get_by_role("button", name=ZH["customers.new"]).click()
    _wait_for_frame(page, frames, mark, "form_key")
    page.wait_for_timeout(200)
    for field, value in (("name", "保密测试"), ("phone", phone), ("id_number", id_number)):
        page.fill(f"#f-{field}", value)
        expect(page.locator(f"#f-{field}")).to_have_value(value)
    page.get_by_test_id("consent-step").get_by_role(
        "checkbox", name=ZH["consent.counter.notice_shown"]
    ).click()
    page.get_by_test_id("customer-save").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    cid = page.url.rsplit("/", 1)[1]

    # the list and the profile: masked only
    app.goto_shell(page, "/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()
    app.goto_shell(page, f"/customers/{cid}")
    expect(page.get_by_test_id("customer-name")).to_have_text("保密测试")
    expect(page.get_by_test_id("masked-value").first).to_be_visible()
    assert frames, "no websocket traffic was seen"
    for secret in (phone, id_number):
        assert not [f[:300] for f in frames if secret in f], f"{secret} reached the browser"

    # revealed: in a frame now (the check sees it), and cleared on leaving by the menu ...
    _reveal_phone(page, phone)
    assert any(phone in f for f in frames)
    mark = len(frames)
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.customers"]).click()
    expect(page.locator("table tbody tr").first).to_be_visible()
    _wait_for_frame(page, frames, mark, '"revealed_value_rx_state_":""')
    assert not [f[:300] for f in frames[mark:] if phone in f]

    # ... and on leaving by a full page load, which runs no unmount: the new page's first
    # frame carries the whole state tree, and no longer the revealed value
    app.goto_shell(page, f"/customers/{cid}")
    _reveal_phone(page, phone)
    mark = len(frames)
    app.goto_shell(page, "/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()
    _wait_for_frame(page, frames, mark, '"is_hydrated_rx_state_":true')
    assert not [f[:300] for f in frames[mark:] if phone in f], "the reveal outlived the page"

    roots, states = _scanned_roots(app)
    for secret in (phone, id_number):
        assert _holding(roots, secret.encode()) == [], f"{secret} was written to a file"
    assert not [f[:300] for f in frames if id_number in f], "the ID number reached the browser"
    assert not states.exists() or not any(states.rglob("*")), "the state manager wrote to disk"
