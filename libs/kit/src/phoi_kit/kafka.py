"""Kafka clients configured the way this system uses them.

No idempotent or transactional producer: the outbox and idempotent consumers give the guarantees, and
the local Kafka-protocol broker (Tansu) does not support them. The producer keeps one request in
flight per broker (aiokafka's sender), so messages to one partition are written in send order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from phoi_contracts import topics as topic_names


def make_producer(bootstrap: str, *, request_timeout_ms: int = 10_000) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=request_timeout_ms,
        retry_backoff_ms=200,
        linger_ms=2,
    )


def make_consumer(
    bootstrap: str,
    *topics: str,
    group_id: str,
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000,
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_records=500,
    )


def with_dead_letters(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out += [name, topic_names.dead_letter(name)]
    return out


async def ensure_topics(bootstrap: str, names: Iterable[str], *, partitions: int = 3) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently: fine
                await admin.create_topics(
                    [NewTopic(name=n, num_partitions=partitions, replication_factor=1) for n in missing]
                )
    finally:
        await admin.close()


async def broker_reachable(bootstrap: str, timeout: float = 3.0) -> bool:
    """True when a bootstrap broker answers a metadata request within `timeout` seconds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):  # closing a client that never connected
            await asyncio.wait_for(admin.close(), timeout)
