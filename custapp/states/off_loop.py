"""Event handlers run off the event loop.

Reflex calls a synchronous handler on the event loop itself, so one handler waiting on the
database (a row lock, a long query, a busy SQLite writer) would freeze every tab served by the
worker. SessionState registers each of custapp's synchronous handlers through `off_loop`: the
handler body runs in a bounded thread pool sized to the database pool, while the loop goes on
serving other tabs' events. Reflex still holds the tab's state lock for the whole event, so the
handler is the only code touching its state while it runs; deltas are computed on the loop after
it returns (or after each `yield` of a generator handler).

A direct call (a test calling `state.load()`, a handler calling another handler) runs the
function as written: `OffLoopEventHandler` binds the original to the instance, and only Reflex's
event processing, which goes through `handler.fn`, takes the detour through the pool.

Async handlers call their services through `run_off_loop` themselves.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import threading
import types
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from reflex_base.event import EventHandler

from custapp.db import POOL_SIZE

T = TypeVar("T")

# One thread per pooled connection: a handler never waits for a connection another handler's
# thread holds idle; the pool's overflow is left for jobs and the audit's denial records.
HANDLER_THREADS = POOL_SIZE
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="custapp-handler")
        return _executor


def _forget_executor() -> None:
    """In a forked worker: its parent's pool threads did not come along, and a pool that thinks
    it has idle threads would queue every call for none of them to run."""
    global _executor, _executor_lock
    _executor, _executor_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_executor)


async def _until_done(running: Future) -> None:
    """Wait for a call that cannot be stopped, through any further cancellation."""
    while not running.done():
        try:
            await asyncio.shield(asyncio.wrap_future(running))
        except asyncio.CancelledError:
            continue
        except Exception:  # noqa: BLE001 (its error is the cancelled caller's no more)
            return


async def run_off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:  # noqa: ANN401
    """`fn(*args, **kwargs)` in the handler pool, in a copy of the caller's context (Reflex keeps
    its registry of state classes in a context variable).

    Cancelled (the browser went away, the worker stops), a call not started yet never runs, and
    one running already is waited for: Reflex lets go of the tab's state lock as soon as this
    returns, and a thread still changing the state then would race the tab's next event."""
    context = contextvars.copy_context()
    running = executor().submit(context.run, fn, *args, **kwargs)
    try:
        return await asyncio.shield(asyncio.wrap_future(running))
    except asyncio.CancelledError:
        if not running.cancel():
            await _until_done(running)
        raise


_DONE = object()


def _step(generator: Any) -> Any:  # noqa: ANN401
    """The generator's next item; _DONE and its return value at the end."""
    try:
        return next(generator)
    except StopIteration as end:
        return (_DONE, end.value)


def off_loop(fn: Callable) -> Callable:
    """`fn` (a synchronous handler function, plain or generator) as an async one whose body runs
    in the pool; the original stays reachable as `.direct`. Async functions are returned as
    they are."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return fn
    if inspect.isgeneratorfunction(fn):

        async def handler(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            generator = fn(*args, **kwargs)  # creating it runs none of its body
            while True:
                item = await run_off_loop(_step, generator)
                if isinstance(item, tuple) and len(item) == 2 and item[0] is _DONE:
                    if item[1] is not None:
                        yield item[1]
                    return
                yield item

    else:

        async def handler(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            return await run_off_loop(fn, *args, **kwargs)

    wrapped = functools.wraps(fn)(handler)
    wrapped.direct = fn
    return wrapped


class OffLoopEventHandler(EventHandler):
    """Reflex's EventHandler whose `fn` runs off the loop, bound on an instance to the function
    as written (see the module docstring)."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:  # noqa: ANN401
        bound = super().__get__(instance, owner)
        if isinstance(bound, types.MethodType):
            direct = getattr(bound.__func__, "direct", None)
            if direct is not None:
                return types.MethodType(direct, bound.__self__)
        return bound
