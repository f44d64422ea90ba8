"""Handlers off the event loop (issue 15). Prints one JSON object per figure; never asserts.

    python bench/loop_free.py [--quick] [--rounds 40] [--blocked 4] [--pg URL]

Front-desk tabs search by phone through Reflex's own event processing (`process_event`, as the
websocket does), on one event loop as one worker has it. Measured three ways:

- loop_free.search_alone_p50/_p95: one tab searching, nothing else running
- loop_free.search_beside_blocked_p50/_p95: the same search while --blocked other tabs' handlers
  (a manager's 审批 inbox, a read) each wait 500 ms inside their service call (a slow query):
  with handlers on the loop the search would wait for all of them; off the loop for none
- loop_free.blocked_handlers_wall_ms: the wall time for the --blocked waiting handlers together
  (about one wait when they run side by side, --blocked waits in a row on the loop)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "states"))

from _common import emit, fresh_backend, migrate, pct  # noqa: E402

WAIT_S = 0.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--blocked", type=int, default=4)
    parser.add_argument("--pg", default="")
    args = parser.parse_args()
    rounds = 10 if args.quick else args.rounds
    backend = "postgresql" if args.pg else "sqlite"
    with fresh_backend(backend, args.pg, "bench_loop"):
        migrate()
        run(backend, rounds, args.blocked)


def run(backend: str, rounds: int, blocked: int) -> None:
    import reflex as rx
    from helpers import _staff, _staff_token, _tree
    from reflex_base.event.context import EventContext
    from reflex_base.event.processor.base_state_processor import process_event

    from custapp.db import session_scope
    from custapp.pages.approvals import ApprovalsState
    from custapp.pages.customers import CustomersState
    from custapp.services import approvals, customers
    from custapp.services.actor import system_actor

    _staff("bench.desk", "front_desk")
    _staff("bench.manager", "cs_manager")
    with session_scope() as session:
        customers.create_customer(
            session,
            actor=system_actor("bench"),
            data=customers.CustomerInput(name="测速客户", phone="13912345678"),
        )
    real = approvals.inbox

    def slow_inbox(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        time.sleep(WAIT_S)
        return real(*a, **kw)

    slow_inbox.reads = True  # as the real one: a read-only transaction
    approvals.inbox = slow_inbox

    async def nowhere(*_: object) -> None:
        return None

    async def event(state: rx.State, name: str, **payload: object) -> None:
        EventContext.set(EventContext(token=name, state_manager=None, enqueue_impl=nowhere))
        handler = type(state).event_handlers[name]
        await process_event(handler, payload, state, state._get_root_state())

    def inbox_tab() -> ApprovalsState:
        return _tree(_staff_token("bench.manager"), ApprovalsState, "/approvals")[1]

    _, listing = _tree(_staff_token("bench.desk"), CustomersState, "/customers")

    async def search_ms() -> float:
        start = time.perf_counter()
        await event(listing, "search", form={"q": "13912345678"})
        return (time.perf_counter() - start) * 1000

    async def scenario() -> None:
        alone = [await search_ms() for _ in range(rounds)]
        beside, walls = [], []
        for _ in range(max(1, rounds // 4)):
            tabs = [inbox_tab() for _ in range(blocked)]
            start = time.perf_counter()
            waiting = [asyncio.create_task(event(tab, "load")) for tab in tabs]
            await asyncio.sleep(0.05)  # the waiting handlers are inside their service calls
            for _ in range(4):
                beside.append(await search_ms())
            await asyncio.gather(*waiting)
            walls.append((time.perf_counter() - start) * 1000)
        extra = {"backend": backend, "blocked": blocked, "wait_ms": WAIT_S * 1000}
        emit("loop_free.search_alone_p50", pct(alone, 0.5), "ms", **extra)
        emit("loop_free.search_alone_p95", pct(alone, 0.95), "ms", **extra)
        emit("loop_free.search_beside_blocked_p50", pct(beside, 0.5), "ms", **extra)
        emit("loop_free.search_beside_blocked_p95", pct(beside, 0.95), "ms", **extra)
        emit("loop_free.blocked_handlers_wall_ms", pct(walls, 0.5), "ms", **extra)

    asyncio.run(scenario())


if __name__ == "__main__":
    main()
