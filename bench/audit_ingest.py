"""The audit log: ingest rate through the real consumer, beside a raw batched INSERT of the same rows;
and the time to verify a chain of 1,000,000 entries.

Ingest: ``INGEST_EVENTS`` events of every contract type (unique ids, spread over many keys, so over
every partition of the four topics) are produced first; then the audit service's app starts (its real
consumer, handlers, head lock and hash chain) and the rate is measured from the first entry recorded to
the last. Baseline, in the same run and database server: the very same number of ready-made rows
(hashes already computed) inserted into a copy of the entries table (same indexes, no trigger) with
``executemany`` in transactions of 500 rows — the consumer's batch size. The ratio is what the chain,
the head lock, deduplication and Kafka cost on top of writing the rows.

Verify: a fresh log of ``VERIFY_ENTRIES`` entries is written with COPY (built by the fast synthetic
generator, which a test checks against ``chain_next``; the secondary indexes are dropped first, as
verification reads by primary key only), then ``verify_chain`` — the code behind ``GET /api/v1/verify``
— recomputes all of it through a server-side cursor, as in production.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from phoi_audit.adapters.entries import ENTRY_COLUMNS
from phoi_audit.main import create_app
from phoi_audit.migrate import MIGRATIONS
from phoi_audit.service.verification import verify_chain
from phoi_audit.settings import Settings
from phoi_audit.synthetic import bulk_load, synthetic_rows
from phoi_contracts import topics
from phoi_contracts.catalogue import EVENT_TYPES
from phoi_contracts.envelope import Envelope
from phoi_contracts.examples import example_envelope
from phoi_kit.db import Database, asyncpg_url, libpq_url
from phoi_kit.kafka import ensure_topics, with_dead_letters
from phoi_kit.migrations import upgrade

from bench.infra import infrastructure

INGEST_EVENTS = 20_000
BASELINE_BATCH = 500
VERIFY_ENTRIES = 1_000_000
VERIFY_PAYLOAD_SIZE = 120  # bytes of filler: payloads of ~200 bytes, like a typical event's data
SECONDARY_INDEXES = (
    "ix_audit_entries_unit_code_sequence",
    "ix_audit_entries_actor_user_id_sequence",
    "ix_audit_entries_actor_username_sequence",
    "ix_audit_entries_subject_sequence",
    "ix_audit_entries_type_sequence",
    "ix_audit_entries_occurred_at",
)


def _events(count: int) -> list[Envelope]:
    kinds = [example_envelope(t) for t in EVENT_TYPES]
    events = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        events.append(kind.model_copy(update={"id": uuid.uuid4(), "subject": f"{kind.subject}-{n % 97}"}))
    return events


async def _produce(bootstrap: str, events: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for env in events:
            await producer.send(env.topic, value=env.to_bytes(), key=env.key)
        await producer.flush()
    finally:
        await producer.stop()


async def _head(database: Database) -> int:
    async with database.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        value = await raw.driver_connection.fetchval("SELECT sequence FROM audit_head")
    return int(value)


async def _ingest(url: str, bootstrap: str) -> dict[str, Any]:
    await ensure_topics(bootstrap, with_dead_letters(topics.ALL), partitions=3)
    events = _events(INGEST_EVENTS)
    await _produce(bootstrap, events)
    settings = Settings(
        database_url=asyncpg_url(url),
        kafka_bootstrap=bootstrap,
        keycloak_url="http://127.0.0.1:9",  # no request is authenticated here
        consumer_group_id="bench-audit",
        consumer_session_timeout_ms=3000,
        consumer_heartbeat_interval_ms=500,
        checkpoint_seconds=0,
        verify_seconds=0,
        log_level="WARNING",
    )
    app = create_app(settings)
    probe = Database(url, pool_size=1)
    try:
        async with app.router.lifespan_context(app):
            deadline = time.monotonic() + 120
            while (first := await _head(probe)) == 0:
                if time.monotonic() > deadline:
                    raise TimeoutError("the audit consumer recorded nothing")
                await asyncio.sleep(0.005)
            start = time.perf_counter()
            while (recorded := await _head(probe)) < INGEST_EVENTS:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"recorded {recorded} of {INGEST_EVENTS} events")
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - start
        report = await verify_chain(probe)  # what was ingested is one intact chain
    finally:
        await probe.dispose()
    return {
        "events": INGEST_EVENTS,
        "event_types": len(EVENT_TYPES),
        "seconds": round(elapsed, 3),
        "events_per_s": round((INGEST_EVENTS - first) / elapsed, 1),
        "chain_intact": report.ok and report.result.checked_count == INGEST_EVENTS,
    }


async def _baseline(url: str) -> dict[str, Any]:
    rows = list(synthetic_rows(INGEST_EVENTS, payload_size=VERIFY_PAYLOAD_SIZE))
    columns = ", ".join(ENTRY_COLUMNS)
    placeholders = ", ".join(f"${n}" for n in range(1, len(ENTRY_COLUMNS) + 1))
    conn = await asyncpg.connect(libpq_url(url))
    try:
        await conn.execute("CREATE TABLE audit_entries_raw (LIKE audit_entries INCLUDING ALL)")
        statement = f"INSERT INTO audit_entries_raw ({columns}) VALUES ({placeholders})"  # noqa: S608
        start = time.perf_counter()
        for first in range(0, len(rows), BASELINE_BATCH):
            async with conn.transaction():
                await conn.executemany(statement, rows[first : first + BASELINE_BATCH])
        elapsed = time.perf_counter() - start
    finally:
        await conn.close()
    return {
        "rows": len(rows),
        "rows_per_transaction": BASELINE_BATCH,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(len(rows) / elapsed, 1),
    }


async def _verify(url: str) -> dict[str, Any]:
    database = Database(url, pool_size=2)
    try:
        async with database.engine.begin() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            for index in SECONDARY_INDEXES:
                await raw.driver_connection.execute(f"DROP INDEX {index}")
        start = time.perf_counter()
        await bulk_load(database, VERIFY_ENTRIES, payload_size=VERIFY_PAYLOAD_SIZE, chunk=20_000)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        report = await verify_chain(database, chunk=Settings().stream_chunk_rows)
        elapsed = time.perf_counter() - start
    finally:
        await database.dispose()
    return {
        "entries": VERIFY_ENTRIES,
        "ok": report.ok,
        "checked": report.result.checked_count,
        "seconds": round(elapsed, 2),
        "entries_per_s": round(report.result.checked_count / elapsed, 1),
        "load_with_copy_seconds": round(loaded, 2),
    }


async def run() -> dict[str, Any]:
    with infrastructure() as infra:
        ingest_url = infra.postgres.create_database("bench_audit")
        verify_url = infra.postgres.create_database("bench_audit_verify")
        await asyncio.to_thread(upgrade, MIGRATIONS, ingest_url)
        await asyncio.to_thread(upgrade, MIGRATIONS, verify_url)
        ingest = await _ingest(ingest_url, infra.broker.bootstrap)
        baseline = await _baseline(ingest_url)
        verified = await _verify(verify_url)
    return {
        "ingest_through_consumer": ingest,
        "raw_batched_insert": baseline,
        "ingest_vs_raw_insert": round(ingest["events_per_s"] / baseline["rows_per_s"], 3),
        "verify": verified,
    }
