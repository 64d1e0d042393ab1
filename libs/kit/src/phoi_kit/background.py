"""Background jobs a service runs beside its API (pollers, periodic checks), started and stopped with
the app: `async with running(every(60, "reconcile", job)): ...`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from phoi_kit.logging import get_logger

log = get_logger(__name__)


async def every(seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` now and then every `seconds`; a failed round is logged and the next one tries again."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("background round failed", job=name, error=repr(exc))
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def running(*jobs: Coroutine[Any, Any, None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
