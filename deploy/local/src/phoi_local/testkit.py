"""Helpers for tests across the repository: waiting on conditions with a deadline, reading topics,
checking that what went on the bus is a CloudEvent by the CloudEvents SDK's reading, and ``ServiceEnv``,
a running service with its callers (the base of each service's ``env`` fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import OPTIONAL_ATTRIBUTES, REQUIRED_ATTRIBUTES
from phoi_contracts.envelope import CONTENT_TYPE, CONTENT_TYPE_HEADER, Envelope
from phoi_kit.uow import UnitOfWork
from sqlalchemy import text

#: The units the service tests act for (any unit code works: tokens name it, services do not check it).
UNIT = "SGD-HN"
OTHER_UNIT = "SGD-HCM"


#: The requests a unit makes itself: drafting, editing, submitting, attaching, cancelling, confirming receipt.
_UNIT_SIDE = ("/submit", "/cancel", "/confirm-receipt", "/attachments", "/attachments/{attachment_id}")


def api_role(service: str, method: str, path: str) -> tuple[str, str | None]:
    """A role that may call an operation (``path`` as the OpenAPI names it), for tests that walk every
    operation of a service's OpenAPI: the QLCL administrator for identity, the auditor for audit, in
    requests the unit for what it does (``_UNIT_SIDE``) and a QLCL officer for the rest, as in inventory."""
    method = method.upper()
    if service == "identity":
        return "qlcl_admin", None
    if service == "audit":
        return "auditor", None
    drafts = method == "POST" and path == "/api/v1/requests"
    unit_side = method in ("PATCH", "DELETE") or (method == "POST" and path.endswith(_UNIT_SIDE))
    if service == "requests" and (drafts or unit_side):
        return "unit_account", UNIT
    return "qlcl_officer", None


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


@dataclass
class ServiceEnv:
    """A service running in the test (``svc`` from the ``service_app`` or ``api_app`` fixture), a producer
    on the session's broker to play the other services' parts (none under ``api_app``: there is no bus),
    and ``headers(role, unit_code)`` from the ``tokens`` fixture. Each service's tests subclass it with
    their own API helpers."""

    # test modules cannot import conftest (importlib mode): the constants travel with the fixture
    UNIT: ClassVar[str] = UNIT
    OTHER_UNIT: ClassVar[str] = OTHER_UNIT

    svc: Any
    producer: AIOKafkaProducer | None
    headers: Callable[..., dict[str, str]]

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, service_app: Any, bootstrap: str, headers: Callable[..., dict[str, str]], name: str, **overrides: Any
    ) -> AsyncIterator[Self]:
        """``async with Env.running(service_app, broker.bootstrap, tokens, "inventory") as env``."""
        async with service_app(name, **overrides) as svc:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                yield cls(svc=svc, producer=producer, headers=headers)
            finally:
                await producer.stop()

    @classmethod
    @contextlib.asynccontextmanager
    async def committed(
        cls, service_app: Any, headers: Callable[..., dict[str, str]], name: str, **overrides: Any
    ) -> AsyncIterator[Self]:
        """``async with Env.committed(service_app, tokens, "inventory") as env``: the service on a fresh
        database of its own, every transaction committed for real, but no bus (``background=False``)."""
        async with service_app(name, background=False, **overrides) as svc:
            yield cls(svc=svc, producer=None, headers=headers)

    @classmethod
    @contextlib.asynccontextmanager
    async def rolled_back(
        cls, api_app: Any, headers: Callable[..., dict[str, str]], name: str, **overrides: Any
    ) -> AsyncIterator[Self]:
        """``async with Env.rolled_back(api_app, tokens, "requests") as env``: the service on the session's
        migrated database, inside a transaction rolled back at the end; no bus (see ``api_app``)."""
        async with api_app(name, **overrides) as svc:
            yield cls(svc=svc, producer=None, headers=headers)

    @property
    def client(self) -> httpx.AsyncClient:
        client: httpx.AsyncClient = self.svc.client
        return client

    # --- who ------------------------------------------------------------------------------------------

    def unit(self, code: str = UNIT) -> dict[str, str]:
        return self.headers("unit_account", code)

    def officer(self) -> dict[str, str]:
        return self.headers("qlcl_officer")

    def admin(self) -> dict[str, str]:
        return self.headers("qlcl_admin")

    def auditor(self) -> dict[str, str]:
        return self.headers("auditor")

    # --- the bus --------------------------------------------------------------------------------------

    async def send(self, *envelopes: Envelope) -> None:
        """Publish on the service's private copy of each envelope's topic."""
        if self.producer is None:
            raise AssertionError("no bus under api_app: use handle(), or the service_app fixture")
        for envelope in envelopes:
            await self.producer.send_and_wait(
                self.svc.topic_prefix + envelope.topic, envelope.to_bytes(), key=envelope.key
            )

    async def processed(self, *envelopes: Envelope, timeout: float = 30.0) -> None:
        """Wait until the service's consumer committed these events (their ids are recorded)."""
        ids = [str(e.id) for e in envelopes]

        async def done() -> bool:
            async with self.svc.runtime.database.session() as session:
                n = await session.execute(
                    text("SELECT count(*) FROM processed_events WHERE event_id::text = ANY(:ids)"), {"ids": ids}
                )
                return int(n.scalar_one()) == len(ids)

        await wait_for(done, timeout=timeout, what=f"events {ids} processed")

    async def handle(self, envelope: Envelope) -> None:
        """Run the service's handler for `envelope` in its own transaction (as the consumer would, minus
        Kafka): the event id is claimed in `processed_events` with the effect."""
        runtime = self.svc.runtime
        async with runtime.database.session() as session:
            uow = UnitOfWork(session, source=runtime.source, correlation_id=envelope.correlation_id)
            claimed = await session.execute(
                text(
                    "INSERT INTO processed_events (event_id, type, topic) VALUES (:id, :type, 'direct')"
                    " ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                {"id": envelope.id, "type": envelope.type},
            )
            if claimed.first() is None:
                return
            await runtime.consumer.handlers[envelope.type](uow, envelope)
            await uow.commit()
