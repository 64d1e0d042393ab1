"""Kafka clients configured the way this system uses them.

No idempotent or transactional producer: the outbox and idempotent consumers give the guarantees, and
the local Kafka-protocol broker (Tansu) does not support them. The producer keeps one request in
flight per broker (aiokafka's sender), so messages to one partition are written in send order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from phoi_contracts import topics as topic_names


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and how to authenticate. Locally: plaintext on loopback. In production
    (Strimzi): SASL_SSL with SCRAM-SHA-512, the cluster CA from a file."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        if self.security_protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        return kwargs


Kafka = KafkaConnection | str


def _kw(kafka: Kafka) -> dict[str, Any]:
    return (KafkaConnection(kafka) if isinstance(kafka, str) else kafka).client_kwargs()


def make_producer(kafka: Kafka, *, request_timeout_ms: int = 10_000) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **_kw(kafka),
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=request_timeout_ms,
        retry_backoff_ms=200,
        linger_ms=2,
    )


def make_consumer(
    kafka: Kafka,
    *topics: str,
    group_id: str,
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000,
    fetch_max_wait_ms: int = 100,
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        **_kw(kafka),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_records=500,
        # Return fetches promptly: event latency should not sit in a broker-side long poll.
        fetch_max_wait_ms=fetch_max_wait_ms,
    )


def with_dead_letters(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out += [name, topic_names.dead_letter(name)]
    return out


async def ensure_topics(kafka: Kafka, names: Iterable[str], *, partitions: int = 3) -> None:
    """Create the topics that do not exist yet (idempotent). Production topics are KafkaTopic
    resources managed by Strimzi; this serves the local stack and the tests."""
    admin = AIOKafkaAdminClient(**_kw(kafka), request_timeout_ms=10_000)
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


async def broker_reachable(kafka: Kafka, timeout: float = 3.0) -> bool:
    """True when a bootstrap broker answers a metadata request within `timeout` seconds."""
    admin = AIOKafkaAdminClient(**_kw(kafka), request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):  # closing a client that never connected
            await asyncio.wait_for(admin.close(), timeout)
