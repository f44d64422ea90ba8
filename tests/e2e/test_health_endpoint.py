"""GET /health on the running app (issue 17, part 5): routed in front of Reflex's backend
(custapp/custapp.py's api_transformer), unauthenticated, JSON of check names and short keys,
with the security headers every answer carries. The browser tests' server ticks no schedule
(CUSTAPP_SCHEDULER=false, tests/e2e/conftest.py), so its scheduler check says so and the
answer is "degraded" (200); tests/unit/test_health.py covers "ok" and each failure."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def test_health_answers_on_the_running_app(server) -> None:  # noqa: ANN001
    with urllib.request.urlopen(f"{server.url}/health", timeout=10) as response:
        status, body = response.status, json.loads(response.read())
        headers = {name.lower(): value for name, value in response.headers.items()}
    assert status == 200
    assert body == {
        "status": "degraded",
        "checks": {
            "database": "ok",
            "schema": "ok",
            "redis": "not_used",
            "keystore": "ok",
            "scheduler": "not_run",
            "audit_anchor": "ok",
        },
    }
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"  # transport.secure wraps it too
