"""Outbox → relay → broker → idempotent consumer, against raw produce → consume on the same broker.

Latency: one event at a time, from just before the writing transaction commits to the moment the
consumer's handler runs (the baseline: from `send` to `getmany` returning it). Throughput: a burst
of events written in transactions of 100, until the last is applied (baseline: a burst of sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer
from phoi_contracts.envelope import Envelope, EventData
from phoi_kit.consumer import EventConsumer
from phoi_kit.db import Database
from phoi_kit.kafka import ensure_topics, make_producer, with_dead_letters
from phoi_kit.migrations import install_kit_schema
from phoi_kit.outbox import OutboxRelay
from phoi_kit.uow import UnitOfWork

from bench.infra import infrastructure, percentiles

LATENCY_EVENTS = 200
# Both paths poll the broker the same way. Tansu answers a fetch only when its wait expires (Kafka
# answers as soon as data arrives), so a short wait keeps the broker's long-poll out of the figures.
FETCH_WAIT_MS = 10
BURST_EVENTS = 5000
TX_SIZE = 100


class Tick(EventData):
    TYPE: ClassVar[str] = "bench.tick.v1"
    TOPIC: ClassVar[str] = "bench.outbox"
    n: int


async def raw_produce_consume(bootstrap: str) -> dict[str, Any]:
    topic = "bench.raw"
    await ensure_topics(bootstrap, [topic], partitions=1)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", fetch_max_wait_ms=FETCH_WAIT_MS
    )
    await consumer.start()
    await consumer.seek_to_end()
    await consumer.getmany(timeout_ms=200)
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        samples: list[float] = []
        for n in range(LATENCY_EVENTS):
            start = time.perf_counter()
            await producer.send(topic, value=b"%d" % n, key=b"k")
            got = 0
            while not got:
                batch = await consumer.getmany(timeout_ms=1000)
                got = sum(len(v) for v in batch.values())
            samples.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for n in range(BURST_EVENTS):
            await producer.send(topic, value=b"%d" % n, key=b"k%d" % (n % 16))
        received = 0
        while received < BURST_EVENTS:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            received += sum(len(v) for v in batch.values())
        elapsed = time.perf_counter() - start
    finally:
        await producer.stop()
        await consumer.stop()
    return {"latency_ms": percentiles(samples), "throughput_events_per_s": round(BURST_EVENTS / elapsed, 1)}


async def _outbox_path(database: Database, bootstrap: str) -> dict[str, Any]:
    await ensure_topics(bootstrap, with_dead_letters([Tick.TOPIC]), partitions=1)
    applied_at: dict[int, float] = {}
    progress = asyncio.Event()

    async def on_tick(_uow: UnitOfWork, envelope: Envelope) -> None:
        applied_at[envelope.data["n"]] = time.perf_counter()
        progress.set()

    relay = OutboxRelay(database, service="bench", kafka=bootstrap, poll_seconds=5)
    consumer = EventConsumer(
        database,
        service="bench",
        kafka=bootstrap,
        group_id="bench",
        topics=[Tick.TOPIC],
        handlers={Tick.TYPE: on_tick},
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
        fetch_max_wait_ms=FETCH_WAIT_MS,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        await asyncio.wait_for(consumer.assigned.wait(), 60)

        async def write(ns: range) -> float:
            async with database.session() as session:
                uow = UnitOfWork(session, source="/phoi/bench")
                for n in ns:
                    uow.publish(Tick(n=n), subject=f"s{n % 16}")
                start = time.perf_counter()
                await uow.commit()
                return start

        async def until_applied(n: int) -> None:
            while n not in applied_at:
                progress.clear()
                await asyncio.wait_for(progress.wait(), 30)

        samples: list[float] = []
        for n in range(LATENCY_EVENTS):
            committed = await write(range(n, n + 1))
            await until_applied(n)
            samples.append((applied_at[n] - committed) * 1000)
        first = LATENCY_EVENTS
        start = time.perf_counter()
        for chunk in range(first, first + BURST_EVENTS, TX_SIZE):
            await write(range(chunk, chunk + TX_SIZE))
        await until_applied(first + BURST_EVENTS - 1)
        elapsed = time.perf_counter() - start
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return {"latency_ms": percentiles(samples), "throughput_events_per_s": round(BURST_EVENTS / elapsed, 1)}


async def run() -> dict[str, Any]:
    with infrastructure() as infra:
        database = Database(infra.postgres.create_database("bench"), pool_size=10)
        async with database.engine.begin() as conn:
            await conn.run_sync(install_kit_schema)
        try:
            baseline = await raw_produce_consume(infra.broker.bootstrap)
            outbox = await _outbox_path(database, infra.broker.bootstrap)
        finally:
            await database.dispose()
    return {
        "events": {"latency_samples": LATENCY_EVENTS, "burst": BURST_EVENTS, "events_per_transaction": TX_SIZE},
        "fetch_max_wait_ms": FETCH_WAIT_MS,
        "outbox_to_consumer": outbox,
        "raw_produce_to_consume": baseline,
        "ratios": {
            "latency_p50": round(outbox["latency_ms"]["p50"] / baseline["latency_ms"]["p50"], 2),
            "latency_p99": round(outbox["latency_ms"]["p99"] / baseline["latency_ms"]["p99"], 2),
            "throughput": round(outbox["throughput_events_per_s"] / baseline["throughput_events_per_s"], 3),
        },
    }
