"""Secrets that pass through the app are written to no file and sent back to no browser.

Reflex's default disk state manager pickles whole states to `.states/`; custapp runs the memory
manager for one worker (SPEC §8). A distinctive password goes through login and a password
change; afterwards no file of the project, the instance, the build or the states folder holds
it, and no websocket frame the browser received does.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
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


def test_passwords_reach_no_file_and_no_state(app, page) -> None:  # noqa: ANN001
    # made at run time, so not even this file holds them
    first, second = f"Qx7-{secrets.token_hex(8)}", f"Wv3-{secrets.token_hex(8)}"
    username = app.server.create_user("secretcheck", first)
    received: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda p: received.append(p if isinstance(p, str) else repr(p))
        ),
    )
    app.login(page, username, first)
    app.goto_shell(page, "/account")
    page.fill("#current", first)
    page.fill("#new", second)
    page.fill("#confirm", second)
    page.get_by_test_id("password-save").click()
    expect(page.get_by_text(CATALOGUES["zh_CN"]["account.password_changed"])).to_be_visible()
    app.goto_shell(page, "/")

    env = app.server.env
    states = Path(env["REFLEX_STATES_WORKDIR"])
    roots = [ROOT, Path(env["CUSTAPP_INSTANCE_DIR"]), Path(env["REFLEX_WEB_WORKDIR"]), states]
    for secret in (first, second):
        assert _holding(roots, secret.encode()) == [], f"{secret} was written to a file"
        assert not [f for f in received if secret in f], f"{secret} came back to the browser"
    assert not states.exists() or not any(states.rglob("*")), "the state manager wrote to disk"
    assert received, "no websocket traffic was seen"
