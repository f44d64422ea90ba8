"""Handlers off the event loop (custapp/states/off_loop.py): a generator handler keeps its yields,
its return value and its errors; a cancelled event lets go of the tab's state only once its
body stopped touching it; a forked worker gets a pool of its own; handler threads opening the
database at once share one engine."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from custapp import db
from custapp.states.off_loop import off_loop, run_off_loop


def _run(coroutine):  # noqa: ANN001, ANN202
    """On a thread of its own (a browser test may leave an event loop running here)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()


async def _collect(handler) -> list:  # noqa: ANN001
    return [item async for item in handler()]


def test_a_generator_handler_keeps_its_yields_and_its_return_value() -> None:
    threads = []

    def handler():  # noqa: ANN202
        threads.append(threading.current_thread().name)
        yield "first"
        threads.append(threading.current_thread().name)
        return "last"

    assert _run(_collect(off_loop(handler))) == ["first", "last"]
    assert all(name.startswith("custapp-handler") for name in threads)


def test_a_generator_handlers_error_reaches_the_caller_after_its_yields() -> None:
    def handler():  # noqa: ANN202
        yield "first"
        raise ValueError("broken")

    got: list = []

    async def scenario() -> None:
        async for item in off_loop(handler)():
            got.append(item)

    with pytest.raises(ValueError, match="broken"):
        _run(scenario())
    assert got == ["first"]


def test_a_cancelled_event_waits_for_its_body_to_end() -> None:
    """Reflex cancels an event's task (the browser went away, the worker stops) and then lets go
    of the tab's state lock: a body still running in the pool would go on changing the state
    that the next event of that tab is using."""
    entered, release = threading.Event(), threading.Event()
    ended: list[bool] = []

    def body() -> None:
        entered.set()
        release.wait(10)
        ended.append(True)

    async def scenario() -> list[bool]:
        task = asyncio.create_task(run_off_loop(body))
        assert await asyncio.to_thread(entered.wait, 10)
        task.cancel()
        asyncio.get_running_loop().call_later(0.3, release.set)
        with pytest.raises(asyncio.CancelledError):
            await task
        return list(ended)  # what had happened when the cancelled call returned

    try:
        assert _run(scenario()) == [True]
    finally:
        release.set()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_worker_gets_a_pool_of_its_own() -> None:
    """Reflex forks its workers from a supervisor: threads do not survive a fork, so a pool the
    parent had started would take the child's calls and never run them."""
    assert _run(run_off_loop(lambda: 1)) == 1  # the parent's pool has its threads
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the call ran
        code = 1
        try:
            signal.alarm(10)
            code = 0 if asyncio.run(run_off_loop(lambda: 2)) == 2 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked worker's call never ran"


def test_handler_threads_opening_the_database_at_once_share_one_engine(
    tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    """The first events of a worker run in several pool threads at once: each must get the one
    engine (and its one pool), not one engine per thread with the last one kept."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    real = db.create_engine

    def slow_create_engine(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        time.sleep(0.2)  # two threads both find no engine yet
        return real(*args, **kwargs)

    monkeypatch.setattr(db, "create_engine", slow_create_engine)
    start, engines = threading.Barrier(4), []

    def open_engine(_: int) -> object:
        start.wait()
        return db.engine_for(url)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            engines += pool.map(open_engine, range(4))
        assert len({id(engine) for engine in engines}) == 1
    finally:
        for engine in {id(e): e for e in engines}.values():
            engine.dispose()
        db._engines.pop(url, None)
