"""Helpers for tests across the repository: waiting on conditions with a deadline, reading topics,
checking that what went on the bus is a CloudEvent by the CloudEvents SDK's reading."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import OPTIONAL_ATTRIBUTES, REQUIRED_ATTRIBUTES
from phoi_contracts.envelope import CONTENT_TYPE, CONTENT_TYPE_HEADER


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


def cloudevent_from_json(value: bytes) -> BaseCloudEvent:
    """Read a structured-mode JSON CloudEvent with the CloudEvents SDK, which refuses bad attribute names,
    and check what the SDK lets through: a 1.0 event whose extension values are strings, numbers or
    booleans (the CloudEvents type system has no null, object or array)."""
    event = JSONFormat().read(None, value)
    assert event.get_specversion() == "1.0", event.get_specversion()
    for name, attribute in event.get_attributes().items():
        if name in REQUIRED_ATTRIBUTES or name in OPTIONAL_ATTRIBUTES:
            continue
        assert isinstance(attribute, str | int | bool), f"extension {name} is a {type(attribute).__name__}"
    return event


def cloudevent_from_record(record: Any) -> BaseCloudEvent:
    """Read a Kafka record as the CloudEvents Kafka binding does, checking it is in structured JSON mode
    (the ``content-type`` header) and its attributes as `cloudevent_from_json` does."""
    headers = {name: value for name, value in record.headers or ()}
    assert headers.get(CONTENT_TYPE_HEADER) == CONTENT_TYPE.encode(), headers
    event = from_kafka_event(KafkaMessage(headers=headers, key=record.key, value=record.value))
    cloudevent_from_json(record.value)
    return event
