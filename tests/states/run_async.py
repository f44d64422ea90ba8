"""Async state handlers called from a test: on a thread of their own, because the browser tests'
sync Playwright leaves an event loop running in this process when they run first. The thread
runs in a copy of the caller's context, as Reflex's event processing would (its registry of
state classes lives in a context variable)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:  # noqa: ANN401 (whatever the handler gives)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()
