"""Issue 17, acceptance 2 in a browser: the app served with CUSTAPP_REDIS_URL (Reflex's Redis
state manager, as several workers run it); the front desk reveals a customer's phone; every key
of the app's Redis database is then read raw: the tab's states are there, sealed, and neither the
phone nor the customer's name is in any of them.

The app runs on a server of its own (its own build), on Redis database 13 of 127.0.0.1:6379
(CUSTAPP_TEST_REDIS_E2E_URL); the keys the app added are deleted when it has stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import expect

from custapp.pages.customer_profile import ProfileState
from custapp.security.state_seal import MAGIC
from tests.e2e.conftest import (
    ROOT,
    SERVER_LOG,
    START_TIMEOUT,
    App,
    Server,
    _free_port,
    _get,
    _kill_group,
    _log_tail,
    _server_env,
)

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("CUSTAPP_TEST_REDIS_E2E_URL", "redis://127.0.0.1:6379/13")
REASON = "客户来电要求回拨"


@pytest.fixture(scope="module")
def redis_app(chromium, tmp_path_factory) -> Iterator[App]:  # noqa: ANN001
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    finally:
        client.close()
    work = tmp_path_factory.mktemp("e2e-redis")
    (work / "instance").mkdir()
    port = _free_port()
    url = f"http://localhost:{port}"
    env = {
        **_server_env(work / "instance", work / "web"),
        "CUSTAPP_ALLOWED_ORIGINS": url,
        "CUSTAPP_REDIS_URL": REDIS_URL,
    }
    server = Server(url, env)
    before = _keys()  # the teardown deletes every key the app added
    server.cli("migrate")
    server.cli("seed-demo")
    with SERVER_LOG.open("a") as log:
        log.write(f"$ reflex run --env prod --single-port (port {port}, Redis state)\n")
        log.flush()
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "reflex"),
                *("run", "--env", "prod", "--single-port"),
                *("--frontend-port", str(port), "--backend-port", str(port)),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not (_get(f"{url}/ping")[0] == 200 and 'id="login"' in _get(f"{url}/login")[1]):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Redis-backed app did not serve:\n{_log_tail()}")
                time.sleep(1)
            yield App(server)
        finally:
            _kill_group(proc)
            _delete_keys_since(before)
            shutil.rmtree(work / "web", ignore_errors=True)  # ~160 MB of node_modules


def _keys() -> set[bytes]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return set(client.scan_iter(match="*", count=1000))
    finally:
        client.close()


def _delete_keys_since(before: set[bytes]) -> None:
    """The keys the app added (its tabs' states, the tab a reload replaced included), once it
    is stopped: leaving a page writes its state again."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in _keys() - before:
            client.delete(key)
    finally:
        client.close()


def _raw_values(client: redis.Redis) -> dict[bytes, bytes]:
    found = {}
    for key in client.scan_iter(match="*", count=1000):
        kind = client.type(key)
        if kind == b"string":
            found[key] = client.get(key) or b""
        elif kind == b"set":
            found[key] = b"|".join(sorted(client.smembers(key)))
        else:
            found[key] = client.dump(key) or b""
    return found


def test_a_revealed_phone_never_reaches_redis_in_plain(redis_app, page) -> None:  # noqa: ANN001
    app = redis_app
    log_start = SERVER_LOG.stat().st_size
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    rows = page.locator("table tbody tr")
    with_phone = rows.filter(has_text=re.compile(r"1\d\d\*{4}\d{4}")).first
    with_phone.locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    name = page.get_by_test_id("customer-name")
    expect(name).to_have_text(re.compile(r"\S"))
    customer_name = name.inner_text().strip()
    page.get_by_test_id("reveal-phone").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#reveal-reason").fill(REASON)
    dialog.get_by_test_id("reveal-confirm").click()
    shown = page.get_by_test_id("revealed-value")
    expect(shown).to_have_text(re.compile(r"^1\d{10}$"))
    phone = shown.inner_text().strip()
    token = page.evaluate("() => window.sessionStorage.getItem('token')")
    assert token

    client = redis.Redis.from_url(REDIS_URL)
    try:
        profile_key = f"{token}_{ProfileState.get_full_name()}".encode()
        deadline = time.monotonic() + 10
        while client.exists(f"{token}_lock") or not client.exists(profile_key):
            assert time.monotonic() < deadline, "the tab's state was not stored in Redis"
            time.sleep(0.2)
        stored = _raw_values(client)
        tab = {key: value for key, value in stored.items() if key.startswith(token.encode())}
        assert profile_key in tab and len(tab) > 3, sorted(tab)
        assert all(value.startswith(MAGIC) for value in tab.values()), sorted(tab)
        for key, value in stored.items():
            for secret in (phone, customer_name, REASON):
                assert secret.encode() not in value, (secret, key)
    finally:
        client.close()
    with SERVER_LOG.open("rb") as log:
        log.seek(log_start)
        assert b"Backend Exception" not in log.read(), _log_tail(80)
