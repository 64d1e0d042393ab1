"""Helpers for tests across the repository: waiting on conditions with a deadline, reading topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer


async def wait_for(condition: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for: {what}")


async def read_topic(bootstrap: str, topic: str, *, count: int, timeout: float = 20.0) -> list[Any]:
    """Read `count` records from the beginning of `topic` (no group), or fail after `timeout`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"read {len(records)} of {count} records from {topic}")
            batch = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def read_until(
    bootstrap: str, topic: str, predicate: Callable[[Any], bool], *, timeout: float = 20.0
) -> list[Any]:
    """Read `topic` from the beginning until a record satisfies `predicate`; all records read so far."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while not any(predicate(r) for r in records):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching record among {len(records)} read from {topic}")
            batch = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records
