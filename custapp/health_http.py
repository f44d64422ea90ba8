"""`GET /health` on the Reflex backend (issue 17): the checks of custapp/services/health.py as
JSON, `{"status": "ok"|"degraded"|"down", "checks": {name: key}}`, HTTP 200 unless down (503).

Unauthenticated by design: the reverse proxy and monitoring call it. It shows check names and
short keys only (no value, count, version, host name or error text) and costs a few one-row
reads. Added in front of Reflex's backend through rx.App(api_transformer=[...]) in
custapp/custapp.py: a Starlette app there gets Reflex's own app mounted under it, so every other
path falls through to Reflex; transport.secure still wraps both (security headers on /health too).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from custapp.services import health

PATH = "/health"


async def health_endpoint(_request: Request) -> JSONResponse:
    # the checks wait on the database and Redis: a thread, never the event loop
    report = await run_in_threadpool(health.check_health)
    return JSONResponse(
        report.as_json(),
        status_code=503 if report.status == health.DOWN else 200,
        headers={"Cache-Control": "no-store"},
    )


def health_app() -> Starlette:
    """The Starlette app holding the one route (GET, and HEAD for proxies that send it)."""
    return Starlette(routes=[Route(PATH, health_endpoint, methods=["GET"])])
