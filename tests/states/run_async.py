"""Async state handlers called from a test: on a thread of their own, because the browser tests'
sync Playwright leaves an event loop running in this process when they run first."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:  # noqa: ANN401 (whatever the handler gives)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
