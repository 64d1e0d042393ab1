"""The outbox relay: publishes committed outbox rows to Kafka, in order, and never drops one.

- One relay per service publishes at a time (a PostgreSQL advisory lock), so rows go out in id order
  and each aggregate's events keep their order on its partition (key = aggregate id).
- It wakes on NOTIFY from the outbox insert trigger, so an event leaves milliseconds after its commit;
  a slow poll is only the safety net.
- A failed publish leaves the row pending and retries with capped exponential backoff; rows already
  acknowledged are marked so a retry starts at the first unacknowledged one.
- Each row is sent as it is stored, with the CloudEvents structured-mode ``content-type`` header;
  a row stored before the envelope followed CloudEvents is converted first (`conformant`), so a
  pending or replayed old row still goes out in the current form.
- Published rows are kept for a retention period; `replay(since)` marks them pending again, which is
  the recovery path after the broker lost its log (idempotent consumers make re-delivery harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from phoi_contracts.envelope import CONTENT_TYPE, CONTENT_TYPE_HEADER, conformant
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_kit.db import Database
from phoi_kit.kafka import Kafka, make_producer
from phoi_kit.logging import get_logger
from phoi_kit.metrics import OUTBOX_FAILURES, OUTBOX_OLDEST_AGE, OUTBOX_PENDING, OUTBOX_PUBLISHED
from phoi_kit.pglisten import PgListener
from phoi_kit.uow import outbox_table as outbox

log = get_logger(__name__)

NOTIFY_CHANNEL = "phoi_outbox"

# CloudEvents Kafka binding, structured mode: the header names the event format of the value.
EVENT_HEADERS = [(CONTENT_TYPE_HEADER, CONTENT_TYPE.encode())]

# Installed by every service's first migration (see phoi_kit.migrations).
OUTBOX_TRIGGER_SQL = (
    f"""
CREATE OR REPLACE FUNCTION phoi_outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
  RETURN NULL;
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF published_at ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION phoi_outbox_notify()",
)


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        *,
        service: str,
        kafka: Kafka,
        batch_size: int = 500,
        poll_seconds: float = 5.0,
        retention: timedelta = timedelta(days=30),
        max_backoff: float = 10.0,
        topic_prefix: str = "",
    ) -> None:
        self.database = database
        self.service = service
        self.kafka = kafka
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.max_backoff = max_backoff
        self.topic_prefix = topic_prefix
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self.lock_key = zlib.crc32(f"phoi-outbox-relay:{service}".encode())
        self.is_leader = False

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Run until cancelled. Reconnects to the database and the broker as needed."""
        backoff = 0.1
        while True:
            listener = PgListener(self.database.url, {NOTIFY_CHANNEL: self.wake})
            try:
                conn = await listener.connect()
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                    self.is_leader = False
                    await asyncio.sleep(self.poll_seconds)
                self.is_leader = True
                log.info("outbox relay leading", service=self.service)
                await self._publish_loop(listener)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                OUTBOX_FAILURES.labels(self.service).inc()
                log.warning("outbox relay interrupted", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                self.is_leader = False
                await listener.close()
                await self._close_producer()

    async def _publish_loop(self, listener: PgListener) -> None:
        backoff = 0.1
        while not listener.lost.is_set():
            self._wake.clear()
            try:
                published, full = await self.publish_pending()
                backoff = 0.1
            except Exception as exc:
                OUTBOX_FAILURES.labels(self.service).inc()
                log.warning("outbox publish failed; will retry", error=repr(exc), retry_in=backoff)
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if full:
                continue
            if published == 0:
                await self._purge_expired()
            waiter = asyncio.ensure_future(self._wake.wait())
            lost = asyncio.ensure_future(listener.lost.wait())
            try:
                await asyncio.wait({waiter, lost}, timeout=self.poll_seconds, return_when="FIRST_COMPLETED")
            finally:
                waiter.cancel()
                lost.cancel()

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.kafka)
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    async def publish_pending(self) -> tuple[int, bool]:
        """Publish one batch of pending rows. Returns (rows published, whether the batch was full)."""
        async with self.database.session() as session:
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.created_at)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            await self._update_gauges(session, rows[0].created_at if rows else None)
        if not rows:
            return 0, False
        producer = await self._get_producer()
        futures = [
            await producer.send(
                self.topic_prefix + row.topic,
                value=conformant(row.payload.encode()),
                key=row.key.encode(),
                headers=EVENT_HEADERS,
            )
            for row in rows
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked: list[int] = []
        first_error: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                first_error = result
                break
            acked.append(row.id)
            OUTBOX_PUBLISHED.labels(self.service, row.topic).inc()
        if acked:
            async with self.database.session() as session:
                await session.execute(update(outbox).where(outbox.c.id.in_(acked)).values(published_at=func.now()))
                await session.commit()
        if first_error is not None:
            raise first_error
        return len(acked), len(rows) == self.batch_size

    async def _update_gauges(self, session: AsyncSession, oldest: datetime | None) -> None:
        pending = (await session.execute(select(func.count()).where(outbox.c.published_at.is_(None)))).scalar_one()
        OUTBOX_PENDING.labels(self.service).set(pending)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        OUTBOX_OLDEST_AGE.labels(self.service).set(max(age, 0.0))

    async def _purge_expired(self) -> None:
        cutoff = datetime.now(UTC) - self.retention
        async with self.database.session() as session:
            await session.execute(
                delete(outbox).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
            )
            await session.commit()


async def replay(database: Database, since: datetime) -> int:
    """Mark every row created since `since` pending again; the relay re-publishes them in order."""
    async with database.session() as session:
        result = await session.execute(
            update(outbox)
            .where(outbox.c.created_at >= since, outbox.c.published_at.is_not(None))
            .values(published_at=None)
        )
        await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_published(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).where(outbox.c.published_at.is_not(None)))).scalar_one())
