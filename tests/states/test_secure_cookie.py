"""The session cookie is Secure when CUSTAPP_SECURE_COOKIES says the app is served over HTTPS
(issue 14 item 10). The cookie is declared when the state class is built, so each case runs in a
fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "from custapp.states.session import SessionState;"
    "print(SessionState.get_fields()['token'].default.secure)"
)


@pytest.mark.parametrize(("setting", "secure"), [("", "False"), ("1", "True"), ("true", "True")])
def test_the_session_cookie_is_secure_behind_https(setting: str, secure: str) -> None:
    env = {**os.environ, "CUSTAPP_SECURE_COOKIES": setting}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == secure
