"""Fixtures for the audit service's tests (real PostgreSQL, broker and Keycloak stand-in).

Helpers are fixtures (the suite imports test modules in importlib mode, so they cannot import a
shared helper module).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from phoi_audit.service.recording import record
from phoi_contracts import topics
from phoi_contracts.catalogue import EVENT_TYPES
from phoi_contracts.envelope import Actor, Envelope
from phoi_kit.db import libpq_url

T0 = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
OFFICER = Actor(user_id="u-officer", username="qlcl.lan", role="qlcl_officer", unit_code="QLCL")


@pytest.fixture
def audit(service_app: Any) -> Callable[..., Any]:
    """``async with audit() as svc``: the audit service, background tasks off unless overridden;
    ``audit(background=False)``: without bus, relay or consumer either (``service_app``)."""

    def _start(**overrides: Any) -> Any:
        return service_app("audit", **{"checkpoint_seconds": 0, "verify_seconds": 0, **overrides})

    return _start


@pytest.fixture
def audit_api(api_app: Any) -> Callable[..., Any]:
    """``async with audit_api() as svc``: the faster tier for request → response tests (``api_app``): the
    session's migrated audit database, in a transaction rolled back at the end, no bus, no jobs."""

    def _start(**overrides: Any) -> Any:
        return api_app("audit", **{"checkpoint_seconds": 0, "verify_seconds": 0, **overrides})

    return _start


def _envelope(
    n: int,
    *,
    type: str = "request.submitted.v1",
    unit: str | None = "SGD-HNI",
    actor: Actor | None = None,
    subject: str | None = None,
    data: dict[str, Any] | None = None,
    time: datetime | None = None,
) -> Envelope:
    payload: dict[str, Any] = {"n": n, "ghi_chú": f"Sự kiện số {n}"} if data is None else data
    if unit is not None and data is None:
        payload["unit_code"] = unit
    return Envelope(
        type=type,
        source="/phoi/requests",
        subject=subject or f"req-{n}",
        actor=actor or OFFICER,
        time=time or T0 + timedelta(minutes=n),
        data=payload,
    )


@pytest.fixture
def make_envelope() -> Callable[..., Envelope]:
    """Factory of synthetic envelopes (the audit service records any type; data need not match a model)."""
    return _envelope


@pytest.fixture
def record_all() -> Callable[[Any, Iterable[Envelope]], Any]:
    """Record envelopes through the service's recording path (no broker), in one transaction."""

    async def _record(svc: Any, envelopes: Iterable[Envelope]) -> None:
        async with svc.runtime.database.session() as session:
            for env in envelopes:
                await record(session, env)
            await session.commit()

    return _record


@pytest.fixture
def publish(broker: Any) -> Callable[[str, Iterable[Envelope]], Any]:
    """Publish envelopes on a service's private topics (``svc.topic_prefix``), as the producers would."""

    async def _publish(prefix: str, envelopes: Iterable[Envelope]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            for env in envelopes:
                topic = env.topic if env.type in EVENT_TYPES else topics.topic_for_source(env.source)
                await producer.send_and_wait(prefix + topic, value=env.to_bytes(), key=env.key)
        finally:
            await producer.stop()

    return _publish


@pytest.fixture
def superuser() -> Callable[[Any], Any]:
    """``async with superuser(svc) as conn``: an asyncpg superuser connection to the service's database,
    as a database administrator has."""

    @contextlib.asynccontextmanager
    async def _connect(svc: Any) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(libpq_url(svc.database_url))
        try:
            yield conn
        finally:
            await conn.close()

    return _connect


@pytest.fixture
def count_entries() -> Callable[[Any], Any]:
    async def _count(svc: Any) -> int:
        async with svc.runtime.database.session() as session:
            from sqlalchemy import text

            return int((await session.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one())

    return _count
