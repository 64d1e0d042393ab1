"""The idempotent consumer.

For each message, in partition order (a batch is applied in one transaction when it can be; any
trouble in it and the batch is rolled back and taken message by message, as below):
1. parse the envelope (unparseable → dead-letter at once: retrying cannot help);
2. in ONE database transaction, record the event id in `processed_events` and apply the handler —
   an id already recorded means a re-delivery, and nothing is applied;
3. after the database commit, commit the Kafka offset. A crash between the two re-delivers the
   message, and step 2 skips it.
A handler that keeps failing is retried `max_attempts` times, then the message goes to the topic's
dead-letter topic with the error in its headers, and the partition moves on. A database that is down
is not the message's fault: that is retried without limit and nothing is dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from phoi_contracts import topics as topic_names
from phoi_contracts.envelope import CONTENT_TYPE_HEADER, SYSTEM_ACTOR, Envelope
from pydantic import ValidationError
from sqlalchemy import column, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import InterfaceError, OperationalError

from phoi_kit.db import Database, database_unreachable
from phoi_kit.kafka import Kafka, make_consumer, make_producer
from phoi_kit.logging import correlation_id_var, get_logger
from phoi_kit.metrics import (
    CONSUMER_DEAD_LETTERED,
    CONSUMER_DUPLICATES,
    CONSUMER_FAILED,
    CONSUMER_LAG,
    CONSUMER_PROCESSED,
)
from phoi_kit.uow import UnitOfWork

log = get_logger(__name__)

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
AfterCommit = Callable[[Envelope], Awaitable[None] | None]

processed_events = table("processed_events", column("event_id"), column("type"), column("topic"))
# One statement text whatever the batch size, so it is prepared once (a multi-row VALUES is not).
CLAIM_BATCH = text(
    "INSERT INTO processed_events (event_id, type, topic) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:topics AS text[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | OSError | ConnectionError | TimeoutError):
        return True
    # A restarting server answers "the database system is starting up" as a plain DBAPIError: still an outage.
    return database_unreachable(exc)


class EventConsumer:
    def __init__(
        self,
        database: Database,
        *,
        service: str,
        kafka: Kafka,
        group_id: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        fetch_max_wait_ms: int = 100,
        after_commit: Mapping[str, AfterCommit] | None = None,
        fallback: Handler | None = None,
    ) -> None:
        self.database = database
        self.service = service
        self.kafka = kafka
        self.group_id = group_id
        self.topics = list(topics)
        self.handlers = dict(handlers)
        self.fallback = fallback  # for types without a handler; None: such events are skipped
        self.after_commit = dict(after_commit or {})
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.source = f"/phoi/{service}"
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self.assigned = asyncio.Event()

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer interrupted", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                await self._close()

    async def _run_once(self) -> None:
        self._consumer = make_consumer(
            self.kafka,
            *self.topics,
            group_id=self.group_id,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )
        await self._consumer.start()
        self._dlq = make_producer(self.kafka)
        await self._dlq.start()
        consumer = self._consumer
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            if consumer.assignment():
                self.assigned.set()
            for tp, records in batches.items():
                if not await self._process_batch(records):
                    for record in records:
                        await self._process(record)
                # Only after every record of the batch is committed to the database.
                await asyncio.wait_for(consumer.commit({tp: records[-1].offset + 1}), timeout=15)
                self._record_lag(consumer, tp, records[-1].offset)

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, last_offset: int) -> None:
        highwater = consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(max(highwater - last_offset - 1, 0))

    async def _close(self) -> None:
        self.assigned.clear()
        for client in (self._consumer, self._dlq):
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.stop(), 10)
        self._consumer = self._dlq = None

    def handler_for(self, event_type: str) -> Handler | None:
        return self.handlers.get(event_type, self.fallback)

    async def _process_batch(self, records: list[ConsumerRecord[Any, Any]]) -> bool:
        """Fast path: apply a partition's batch in ONE transaction. False when anything in it needs the
        careful per-message path (an unparseable message, a failing handler, a database hiccup); the
        batch's transaction is then rolled back whole and the messages are replayed one by one."""
        if len(records) < 2:
            return False
        applied: list[tuple[str, Envelope]] = []
        try:
            wanted = [(r.topic, e) for r in records if self.handler_for((e := Envelope.from_bytes(r.value)).type)]
            async with self.database.session() as session:
                uow = UnitOfWork(session, source=self.source, actor=SYSTEM_ACTOR)
                claimed: set[Any] = set()
                if wanted:  # one round trip claims the whole batch; re-deliveries come back unclaimed
                    result = await session.execute(
                        CLAIM_BATCH,
                        {
                            "ids": [e.id for _, e in wanted],
                            "types": [e.type for _, e in wanted],
                            "topics": [t for t, _ in wanted],
                        },
                    )
                    claimed = set(result.scalars())
                for topic, envelope in wanted:
                    if envelope.id not in claimed:
                        continue
                    claimed.discard(envelope.id)  # the same id twice in one batch: apply once
                    uow.correlation_id = envelope.correlation_id
                    token = correlation_id_var.set(envelope.correlation_id)
                    try:
                        handler = self.handler_for(envelope.type)
                        assert handler is not None
                        await handler(uow, envelope)
                    finally:
                        correlation_id_var.reset(token)
                    applied.append((topic, envelope))
                await uow.commit()
        except Exception as exc:
            log.debug("batch fast path declined; processing one by one", error=repr(exc))
            return False
        duplicates = len(wanted) - len(applied)
        for topic, envelope in applied:
            await self._after_commit(topic, envelope)
        if duplicates:
            CONSUMER_DUPLICATES.labels(self.service, records[0].topic).inc(duplicates)
        return True

    async def _after_commit(self, topic: str, envelope: Envelope) -> None:
        CONSUMER_PROCESSED.labels(self.service, topic, envelope.type).inc()
        hook = self.after_commit.get(envelope.type)
        if hook is not None:
            result = hook(envelope)
            if result is not None:
                await result

    async def _process(self, record: ConsumerRecord[Any, Any]) -> None:
        try:
            envelope = Envelope.from_bytes(record.value)
        except (ValidationError, ValueError, TypeError) as exc:
            await self._dead_letter(record, exc, attempts=1)
            return
        handler = self.handler_for(envelope.type)
        if handler is None:
            return  # not an event this service cares about
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    applied = await self._apply(record.topic, envelope, handler)
                    break
                except Exception as exc:
                    CONSUMER_FAILED.labels(self.service, record.topic).inc()
                    if _is_transient(exc):
                        log.warning("transient failure; retrying", type=envelope.type, error=repr(exc))
                        await asyncio.sleep(min(self.retry_backoff * 2**attempt, 5.0))
                        attempt = 0
                        continue
                    if attempt >= self.max_attempts:
                        await self._dead_letter(record, exc, attempts=attempt)
                        return
                    log.info("handler failed; retrying", type=envelope.type, attempt=attempt, error=repr(exc))
                    await asyncio.sleep(self.retry_backoff * attempt)
            if applied:
                await self._after_commit(record.topic, envelope)
            else:
                CONSUMER_DUPLICATES.labels(self.service, record.topic).inc()
        finally:
            correlation_id_var.reset(token)

    async def _apply(self, topic: str, envelope: Envelope, handler: Handler) -> bool:
        async with self.database.session() as session:
            claimed = await session.execute(
                pg_insert(processed_events)
                .values(event_id=envelope.id, type=envelope.type, topic=topic)
                .on_conflict_do_nothing()
                .returning(processed_events.c.event_id)
            )
            if claimed.first() is None:
                await session.rollback()
                return False
            uow = UnitOfWork(session, source=self.source, actor=SYSTEM_ACTOR, correlation_id=envelope.correlation_id)
            try:
                await handler(uow, envelope)
                await uow.commit()
            except Exception:
                await uow.rollback()
                raise
            return True

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], exc: BaseException, *, attempts: int) -> None:
        assert self._dlq is not None
        # the original content-type (if any) comes along: a dead letter stays a structured-mode CloudEvent
        headers = [
            *((name, value) for name, value in record.headers or () if name == CONTENT_TYPE_HEADER),
            ("error", repr(exc)[:2000].encode()),
            ("error_type", type(exc).__name__.encode()),
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
            ("consumer_group", self.group_id.encode()),
            ("attempts", str(attempts).encode()),
        ]
        await self._dlq.send_and_wait(
            topic_names.dead_letter(record.topic), value=record.value, key=record.key, headers=headers
        )
        CONSUMER_DEAD_LETTERED.labels(self.service, record.topic).inc()
        log.error(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=repr(exc),
        )
