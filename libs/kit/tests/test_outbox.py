"""The transactional outbox against real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import ClassVar

import pytest
from phoi_contracts.envelope import Actor, Envelope, EventData
from phoi_kit.db import Database
from phoi_kit.kafka import ensure_topics
from phoi_kit.metrics import OUTBOX_FAILURES
from phoi_kit.outbox import OutboxRelay, replay
from phoi_kit.uow import UnitOfWork, outbox_table
from phoi_local.testkit import cloudevent_from_record, read_topic, wait_for
from sqlalchemy import insert, text


class Ping(EventData):
    TYPE: ClassVar[str] = "test.ping.v1"
    TOPIC: ClassVar[str] = "phoi.test"
    n: int


async def write_events(db: Database, topic: str, items: list[tuple[str, int]], *, commit: bool = True) -> None:
    async with db.session() as session:
        uow = UnitOfWork(session, source="/phoi/test")
        await session.execute(text("INSERT INTO effects VALUES (:k, 1)"), {"k": f"batch-{items[0]}"})
        for subject, n in items:
            uow.publish(Ping(n=n), subject=subject, topic=topic)
        if commit:
            await uow.commit()
        else:
            await uow.flush_events()  # written into the transaction, then thrown away
            await uow.rollback()


async def pending(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one())


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def payload_of(record: object) -> Envelope:
    return Envelope.from_bytes(record.value)  # type: ignore[attr-defined]


async def test_rolled_back_event_is_never_published(
    kit_db: Database, broker: object, unique: Callable[[str], str]
) -> None:
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    topic = unique("phoi.test")
    await ensure_topics(bootstrap, [topic], partitions=1)
    await write_events(kit_db, topic, [("a", 1)], commit=False)
    await write_events(kit_db, topic, [("a", 2)])
    relay = OutboxRelay(kit_db, service="test", kafka=bootstrap, poll_seconds=0.2)
    async with running(relay):
        await wait_for(lambda: _zero(kit_db), timeout=20, what="outbox drained")
    records = await read_topic(bootstrap, topic, count=1)
    # Published in id order: had the rolled-back row existed it would precede n=2 on the partition.
    assert [payload_of(r).data["n"] for r in records] == [2]
    async with kit_db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 1


async def _zero(db: Database) -> bool:
    return await pending(db) == 0


async def test_relay_wakes_on_commit_not_on_poll(
    kit_db: Database, broker: object, unique: Callable[[str], str]
) -> None:
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    topic = unique("phoi.test")
    await ensure_topics(bootstrap, [topic], partitions=1)
    # A one-hour poll: only the NOTIFY wake-up can get the event out within the deadline.
    relay = OutboxRelay(kit_db, service="test", kafka=bootstrap, poll_seconds=3600)
    async with running(relay):
        await wait_for(lambda: _is_leader(relay), timeout=10, what="relay leading")
        await write_events(kit_db, topic, [("k", 7)])
        await wait_for(lambda: _zero(kit_db), timeout=10, what="published after NOTIFY")
    records = await read_topic(bootstrap, topic, count=1)
    assert payload_of(records[0]).data == {"n": 7}
    assert records[0].key == b"k"


async def _is_leader(relay: OutboxRelay) -> bool:
    return relay.is_leader


OFFICER = Actor(user_id="u-1", username="canbo.qlcl", role="qlcl_officer", unit_code="QLCL")


async def test_relay_publishes_cloudevents_and_converts_rows_stored_in_the_legacy_form(
    kit_db: Database, broker: object, unique: Callable[[str], str]
) -> None:
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    topic = unique("phoi.test")
    await ensure_topics(bootstrap, [topic], partitions=1)
    old = Envelope.wrap(Ping(n=1), source="/phoi/test", subject="k", actor=OFFICER, correlation_id="c-1")
    # a row written before the envelope followed CloudEvents: an actor object and correlation_id
    legacy = {k: v for k, v in json.loads(old.to_bytes()).items() if not k.startswith(("actor", "correlation"))}
    legacy |= {"actor": OFFICER.model_dump(), "correlation_id": "c-1"}
    async with kit_db.session() as session:
        await session.execute(
            insert(outbox_table).values(
                event_id=old.id, topic=topic, key="k", type=old.type, payload=json.dumps(legacy)
            )
        )
        uow = UnitOfWork(session, source="/phoi/test", actor=OFFICER, correlation_id="c-2")
        new = uow.publish(Ping(n=2), subject="k", topic=topic)
        await uow.commit()
    relay = OutboxRelay(kit_db, service="test", kafka=bootstrap, poll_seconds=0.2)
    async with running(relay):
        await wait_for(lambda: _zero(kit_db), timeout=20, what="outbox drained")
    records = await read_topic(bootstrap, topic, count=2)

    events = [cloudevent_from_record(r) for r in records]  # the SDK reads both; headers say structured mode
    assert [e.get_extension("correlationid") for e in events] == ["c-1", "c-2"]
    assert {e.get_extension("actorname") for e in events} == {"canbo.qlcl"}
    assert [payload_of(r) for r in records] == [old, new]
    assert records[1].value == new.to_bytes()  # a current row goes out byte for byte as stored


async def test_events_written_during_broker_outage_arrive_in_order_after_restart(
    kit_db: Database, private_broker: object, unique: Callable[[str], str]
) -> None:
    broker = private_broker
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    topic = unique("phoi.test")
    await ensure_topics(bootstrap, [topic], partitions=3)
    relay = OutboxRelay(kit_db, service="outage", kafka=bootstrap, poll_seconds=0.2, max_backoff=0.5)
    async with running(relay):
        await wait_for(lambda: _is_leader(relay), timeout=10, what="relay leading")
        broker.stop()  # type: ignore[attr-defined]
        failures_before: float = OUTBOX_FAILURES.labels("outage")._value.get()
        subjects = ["agg-1", "agg-2", "agg-3"]
        for n in range(30):
            await write_events(kit_db, topic, [(subjects[n % 3], n)])

        async def relay_failed() -> bool:
            failures: float = OUTBOX_FAILURES.labels("outage")._value.get()
            return failures > failures_before

        await wait_for(relay_failed, timeout=30, what="relay noticed the outage")
        assert await pending(kit_db) == 30, "nothing may be marked published while the broker is down"
        broker.start()  # type: ignore[attr-defined]
        # Memory storage forgot the topic: recreate it, as the launcher does on a fresh broker.
        await ensure_topics(bootstrap, [topic], partitions=3)
        await wait_for(lambda: _zero(kit_db), timeout=60, what="backlog delivered after restart")
    records = await read_topic(bootstrap, topic, count=30)
    by_subject: dict[str, list[int]] = {}
    for r in records:
        env = payload_of(r)
        by_subject.setdefault(env.subject, []).append(env.data["n"])
    # Every event arrived; per aggregate, in the order written (at-least-once: ignore repeats).
    for subject, ns in by_subject.items():
        firsts = list(dict.fromkeys(ns))
        assert firsts == sorted(firsts), f"{subject} out of order: {ns}"
    assert sorted({n for ns in by_subject.values() for n in ns}) == list(range(30))


async def test_replay_republishes_in_original_order(
    kit_db: Database, broker: object, unique: Callable[[str], str]
) -> None:
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    topic = unique("phoi.test")
    await ensure_topics(bootstrap, [topic], partitions=1)
    relay = OutboxRelay(kit_db, service="test", kafka=bootstrap, poll_seconds=0.2)
    await write_events(kit_db, topic, [("r", 1), ("r", 2), ("r", 3)])
    async with running(relay):
        await wait_for(lambda: _zero(kit_db), timeout=20, what="first delivery")
        async with kit_db.session() as s:
            since = (await s.execute(text("SELECT min(created_at) FROM outbox"))).scalar_one()
        assert await replay(kit_db, since) == 3
        await wait_for(lambda: _zero(kit_db), timeout=20, what="replay delivered")
    records = await read_topic(bootstrap, topic, count=6)
    assert [payload_of(r).data["n"] for r in records] == [1, 2, 3, 1, 2, 3]
    assert len({payload_of(r).id for r in records}) == 3, "a replay re-sends the same event ids"


@pytest.mark.parametrize("size", [1, 1200])
async def test_batches_larger_than_one_fetch_are_all_published(
    kit_db: Database, broker: object, unique: Callable[[str], str], size: int
) -> None:
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    topic = unique("phoi.test")
    await ensure_topics(bootstrap, [topic], partitions=1)
    await write_events(kit_db, topic, [("b", n) for n in range(size)])
    relay = OutboxRelay(kit_db, service="test", kafka=bootstrap, poll_seconds=0.2, batch_size=500)
    async with running(relay):
        await wait_for(lambda: _zero(kit_db), timeout=30, what="all published")
    records = await read_topic(bootstrap, topic, count=size)
    assert [json.loads(r.value)["data"]["n"] for r in records] == list(range(size))


async def test_topic_prefix_is_applied_on_the_wire(
    kit_db: Database, broker: object, unique: Callable[[str], str]
) -> None:
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    prefix = unique("t") + "."
    await ensure_topics(bootstrap, [prefix + "phoi.test"], partitions=1)
    await write_events(kit_db, "phoi.test", [("p", 1)])
    relay = OutboxRelay(kit_db, service="test", kafka=bootstrap, poll_seconds=0.2, topic_prefix=prefix)
    async with running(relay):
        await wait_for(lambda: _zero(kit_db), timeout=20, what="published")
    records = await read_topic(bootstrap, prefix + "phoi.test", count=1)
    assert payload_of(records[0]).data == {"n": 1}
