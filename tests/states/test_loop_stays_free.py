"""Issue 15, acceptance 1: one handler whose service call is blocked does not hold up another
tab's search on the same worker.

Both events go through Reflex's own event processing (`process_event`, as the websocket does),
on one event loop, each on its own tab's state tree. The first blocks inside its service call:
a service call that waits (both backends) or an UPDATE waiting on a PostgreSQL row lock another
connection holds. The test asserts the order of completion, never milliseconds
(bench/loop_free.py measures the latency).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from helpers import _staff, _staff_token, _tree
from reflex.istate.data import RouterData
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event
from run_async import run
from sqlalchemy import text

from custapp.db import get_engine, session_scope
from custapp.pages.customer_profile import ProfileState
from custapp.pages.customers import CustomersState
from custapp.services import customer_profile, customers
from custapp.services.actor import system_actor

PHONE = "13912345678"


@pytest.fixture
def world(db) -> dict[str, object]:  # noqa: ANN001
    _staff("desk.one", "front_desk")
    _staff("manager.two", "cs_manager")
    with session_scope() as session:
        cid = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name="排队客户", phone=PHONE),
        ).id
    return {"cid": cid, "backend": db}


async def _event(state, name: str, **payload: object) -> list:  # noqa: ANN001
    """One event of `state`'s tab processed the way Reflex processes a browser's event."""
    root = state._get_root_state()
    handler = type(state).event_handlers[name]
    EventContext.set(EventContext(token=name, state_manager=None, enqueue_impl=_nowhere))
    await process_event(handler, payload, state, root)
    return []


async def _nowhere(*_: object) -> None:
    """Where events a handler chains go: this test follows one event each."""


def _profile_router(cid: int) -> RouterData:
    return RouterData.from_router_data(
        {
            "pathname": "/customers/[cid]",
            "asPath": f"/customers/{cid}",
            "query": {"cid": str(cid)},
            "headers": {"origin": "http://localhost"},
        }
    )


def _search_rows(listing: CustomersState) -> list[str]:
    return [row.name for row in listing.rows]


def _race(blocked_event, search_event, release: threading.Event, started: threading.Event):  # noqa: ANN001, ANN202
    """Start the blocked event, wait until its service call is inside the database or the
    service, run the search to its end, and only then let the first one go: the order in which
    they finished."""

    async def scenario() -> list[str]:
        finished: list[str] = []

        async def first() -> None:
            await blocked_event()
            finished.append("blocked")

        task = asyncio.create_task(first())
        # the loop is free to run the first event until it is parked in the pool
        assert await asyncio.to_thread(started.wait, 20), "the first event never started"
        await asyncio.wait_for(search_event(), 20)
        finished.append("search")
        release.set()
        await asyncio.wait_for(task, 20)
        return finished

    return run(scenario())


def test_a_service_call_waiting_in_the_pool_does_not_hold_up_another_tabs_search(
    world, monkeypatch
):
    started, release = threading.Event(), threading.Event()
    real = customer_profile.get_profile

    def waiting_profile(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started.set()
        # a handler on the loop would hold the loop here (then the search finishes second)
        release.wait(timeout=5)
        return real(*args, **kwargs)

    monkeypatch.setattr(customer_profile, "get_profile", waiting_profile)
    _, profile = _tree(_staff_token("manager.two"), ProfileState, f"/customers/{world['cid']}")
    profile.router = _profile_router(world["cid"])
    _, listing = _tree(_staff_token("desk.one"), CustomersState, "/customers")

    finished = _race(
        lambda: _event(profile, "load"),
        lambda: _event(listing, "search", form={"q": PHONE}),
        release,
        started,
    )
    assert finished == ["search", "blocked"]
    assert _search_rows(listing) == ["排队客户"]
    assert profile.cid == world["cid"] and profile.name == "排队客户"


def test_an_update_waiting_on_a_postgresql_row_lock_does_not_hold_up_another_tabs_search(
    world,
):
    if world["backend"] != "postgresql":
        pytest.skip("a row lock that lets an audited search through is PostgreSQL's")
    _, profile = _tree(_staff_token("manager.two"), ProfileState, f"/customers/{world['cid']}")
    profile.cid = world["cid"]
    _, listing = _tree(_staff_token("desk.one"), CustomersState, "/customers")
    started, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with get_engine().connect() as connection:
            connection.execute(
                text("SELECT id FROM customers WHERE id = :id FOR UPDATE"), {"id": world["cid"]}
            )
            started.set()
            release.wait(timeout=20)
            connection.rollback()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert started.wait(20)
    blocked_started = threading.Event()

    async def grade_change() -> None:
        # the update reaches the lock soon after it starts; the search starts meanwhile
        blocked_started.set()
        await _event(profile, "save_grade", form={"grade": "A", "reason": "大客户人工定级"})

    try:
        finished = _race(grade_change, lambda: _search(listing), release, blocked_started)
    finally:
        release.set()
        holder.join(20)
    assert finished == ["search", "blocked"]
    assert _search_rows(listing) == ["排队客户"]
    with session_scope(write=False) as session:
        grade = session.execute(
            text("SELECT grade_override FROM customers WHERE id = :id"), {"id": world["cid"]}
        ).scalar_one()
    assert grade == "A"  # the blocked update went through once the lock was let go


async def _search(listing: CustomersState) -> None:
    # give the grade change its moment to reach the row lock first
    await asyncio.sleep(0.3)
    await _event(listing, "search", form={"q": PHONE})
