"""The idempotent consumer against real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from asyncpg.exceptions import CannotConnectNowError
from phoi_contracts.envelope import Envelope
from phoi_contracts.topics import dead_letter
from phoi_kit.consumer import EventConsumer, Handler
from phoi_kit.db import Database
from phoi_kit.kafka import ensure_topics, with_dead_letters
from phoi_kit.metrics import CONSUMER_DUPLICATES
from phoi_kit.outbox import EVENT_HEADERS
from phoi_kit.uow import UnitOfWork
from phoi_local.testkit import cloudevent_from_record, read_topic, wait_for
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def ping(n: int, subject: str = "s") -> Envelope:
    return Envelope(type="test.ping.v1", source="/phoi/test", subject=subject, data={"n": n})


async def apply_effect(uow: UnitOfWork, envelope: Envelope) -> None:
    if envelope.data.get("poison"):
        raise ValueError("this event can never be applied")
    await uow.session.execute(
        text("INSERT INTO effects VALUES (:k, 1) ON CONFLICT (key) DO UPDATE SET applied = effects.applied + 1"),
        {"k": f"{envelope.subject}:{envelope.data['n']}"},
    )


HANDLERS: dict[str, Handler] = {"test.ping.v1": apply_effect}


async def effects(db: Database) -> dict[str, int]:
    async with db.session() as s:
        return {k: v for k, v in (await s.execute(text("SELECT key, applied FROM effects"))).all()}


async def send(bootstrap: str, topic: str, *values: bytes, key: bytes = b"s") -> None:
    """Send as the outbox relay does: with the CloudEvents structured-mode content-type header."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=key, headers=EVENT_HEADERS)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def consuming(consumer: EventConsumer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make(db: Database, bootstrap: str, topic: str, group: str, **kw: Any) -> EventConsumer:
    return EventConsumer(
        db,
        service="test",
        kafka=bootstrap,
        group_id=group,
        topics=[topic],
        handlers=kw.pop("handlers", HANDLERS),
        retry_backoff=0.01,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
        **kw,
    )


async def test_same_event_twice_is_applied_once(kit_db: Database, broker: Any, unique: Callable[[str], str]) -> None:
    topic = unique("phoi.test")
    await ensure_topics(broker.bootstrap, with_dead_letters([topic]), partitions=1)
    event = ping(1)
    await send(broker.bootstrap, topic, event.to_bytes(), event.to_bytes(), ping(2).to_bytes())
    async with consuming(make(kit_db, broker.bootstrap, topic, unique("g"))):

        async def both_seen() -> bool:
            return "s:2" in await effects(kit_db)

        await wait_for(both_seen, timeout=30, what="events applied")
    assert await effects(kit_db) == {"s:1": 1, "s:2": 1}


async def test_poison_messages_go_to_dead_letter_and_do_not_block(
    kit_db: Database, broker: Any, unique: Callable[[str], str]
) -> None:
    topic = unique("phoi.test")
    await ensure_topics(broker.bootstrap, with_dead_letters([topic]), partitions=1)
    bad_data = Envelope(type="test.ping.v1", source="/x", subject="s", data={"n": 9, "poison": True})
    # Same key, same partition: the good event behind the bad ones must still be applied.
    await send(broker.bootstrap, topic, b"\x00 not json", bad_data.to_bytes(), ping(3).to_bytes())
    async with consuming(make(kit_db, broker.bootstrap, topic, unique("g"), max_attempts=3)):

        async def good_applied() -> bool:
            return "s:3" in await effects(kit_db)

        await wait_for(good_applied, timeout=30, what="event behind the poison applied")
    dead = await read_topic(broker.bootstrap, dead_letter(topic), count=2)
    assert [r.value for r in dead] == [b"\x00 not json", bad_data.to_bytes()]
    headers = dict(dead[1].headers)
    assert headers["attempts"] == b"3"
    assert headers["original_topic"] == topic.encode()
    assert b"can never be applied" in headers["error"]
    cloudevent_from_record(dead[1])  # still a structured-mode CloudEvent: content-type came along
    assert await effects(kit_db) == {"s:3": 1}


async def test_a_database_starting_up_is_waited_for_not_dead_lettered(
    kit_db: Database, broker: Any, unique: Callable[[str], str]
) -> None:
    """What a restarting PostgreSQL answers for a while ("the database system is starting up", 57P03, which
    SQLAlchemy raises as a plain DBAPIError) is an outage, however many times it is said: the event waits for
    the database and is applied, never dead-lettered after `max_attempts` (tests/faults found it so)."""
    topic = unique("phoi.test")
    await ensure_topics(broker.bootstrap, with_dead_letters([topic]), partitions=1)
    refusals = 5  # more than max_attempts

    async def while_starting_up(uow: UnitOfWork, envelope: Envelope) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            starting = CannotConnectNowError("the database system is starting up")
            raise DBAPIError("INSERT INTO effects ...", None, starting)
        await apply_effect(uow, envelope)

    await send(broker.bootstrap, topic, ping(1).to_bytes())
    consumer = make(
        kit_db, broker.bootstrap, topic, unique("g"), max_attempts=3, handlers={"test.ping.v1": while_starting_up}
    )
    async with consuming(consumer):

        async def applied() -> bool:
            return "s:1" in await effects(kit_db)

        await wait_for(applied, timeout=30, what="event applied once the database answers")
    assert await effects(kit_db) == {"s:1": 1}
    assert refusals == 0


async def test_crash_after_db_commit_before_offset_commit_does_not_apply_twice(
    kit_db: Database, broker: Any, unique: Callable[[str], str]
) -> None:
    topic, group = unique("phoi.test"), unique("g")
    await ensure_topics(broker.bootstrap, with_dead_letters([topic]), partitions=1)
    await send(broker.bootstrap, topic, ping(1).to_bytes())

    crashed = asyncio.Event()

    def crash_after_commit(_envelope: Envelope) -> None:
        # Runs after the database commit and before the offset commit: die right there.
        crashed.set()
        raise asyncio.CancelledError

    first = make(kit_db, broker.bootstrap, topic, group, after_commit={"test.ping.v1": crash_after_commit})
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(crashed.wait(), 30)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await effects(kit_db) == {"s:1": 1}

    # A new consumer in the same group gets the message again (its offset was never committed)...
    duplicates = CONSUMER_DUPLICATES.labels("test", topic)
    seen_before = duplicates._value.get()
    second = make(kit_db, broker.bootstrap, topic, group)
    await send(broker.bootstrap, topic, ping(2).to_bytes())
    async with consuming(second):

        async def next_applied() -> bool:
            return "s:2" in await effects(kit_db)

        await wait_for(next_applied, timeout=30, what="consumer resumed")
    # ...and skips it: applied once.
    assert await effects(kit_db) == {"s:1": 1, "s:2": 1}
    assert duplicates._value.get() == seen_before + 1, "the re-delivered event was seen and skipped"
    async with kit_db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM processed_events"))).scalar_one() == 2


async def test_unknown_event_types_are_skipped(kit_db: Database, broker: Any, unique: Callable[[str], str]) -> None:
    topic = unique("phoi.test")
    await ensure_topics(broker.bootstrap, with_dead_letters([topic]), partitions=1)
    other = Envelope(type="other.thing.v1", source="/x", subject="s", data={})
    await send(broker.bootstrap, topic, other.to_bytes(), ping(5).to_bytes())
    async with consuming(make(kit_db, broker.bootstrap, topic, unique("g"))):

        async def applied() -> bool:
            return "s:5" in await effects(kit_db)

        await wait_for(applied, timeout=30, what="known event applied")
    async with kit_db.session() as s:
        types = (await s.execute(text("SELECT type FROM processed_events"))).scalars().all()
    assert types == ["test.ping.v1"]


async def test_a_clean_batch_is_applied_in_one_transaction_with_duplicates_claimed_once(kit_db: Database) -> None:
    from aiokafka import ConsumerRecord

    consumer = make(kit_db, "127.0.0.1:9", "phoi.test", "g")
    events = [ping(1), ping(2), ping(1, subject="other")]
    records = [
        ConsumerRecord("phoi.test", 0, offset, 0, 0, b"s", e.to_bytes(), None, 1, 1, ())
        for offset, e in enumerate([*events, events[0]])  # the last one is a re-delivery in the same batch
    ]
    assert await consumer._process_batch(records) is True, "the fast path must not fall back on clean input"
    assert await effects(kit_db) == {"s:1": 1, "s:2": 1, "other:1": 1}
    assert await consumer._process_batch(records[:2]) is True
    assert await effects(kit_db) == {"s:1": 1, "s:2": 1, "other:1": 1}, "a re-delivered batch changes nothing"
