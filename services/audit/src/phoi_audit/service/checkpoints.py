"""Periodic checkpoints and background verification.

Every ``AUDIT_CHECKPOINT_SECONDS`` the entries added since the previous checkpoint are verified
(continuing from that checkpoint's hash), and if they are intact the head they reach is published as
``audit.checkpoint.v1`` on ``phoi.audit`` (and recorded in the log itself, like every event). A copy of
those events kept elsewhere (another cluster's topic, a notary, paper) lets anyone prove later that the
history up to each checkpoint was not rewritten: ``GET /api/v1/verify?checkpoint_sequence=&checkpoint_hash=``.

Nothing is published when nothing but the previous checkpoint was added, nor when the verification
fails (a broken chain is never blessed by a checkpoint; ``audit_verify_failures_total`` counts it).
Several replicas may run the task: the chain-head lock and a re-check under it keep one checkpoint
per head.

Every ``AUDIT_VERIFY_SECONDS`` the whole chain is verified again (entries older than the last
checkpoint could have been altered too).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from phoi_contracts import topics
from phoi_contracts.envelope import SYSTEM_ACTOR
from phoi_contracts.events.audit import AuditCheckpoint
from phoi_kit.background import every
from phoi_kit.db import Database
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_audit import metrics
from phoi_audit.adapters import entries as repo
from phoi_audit.domain import HASH_ALGORITHM, Checkpoint
from phoi_audit.service.recording import record_own
from phoi_audit.service.verification import DEFAULT_CHUNK, ChainReport, RangeBeyondHead, verify_chain

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Previous:
    entry_sequence: int  # where the previous checkpoint's own entry sits in the log (0: none yet)
    checkpoint: Checkpoint  # the head it certified


async def _previous_checkpoint(database: Database) -> _Previous:
    async with database.session() as session:
        row = await repo.last_of_type(session, AuditCheckpoint.TYPE)
    if row is None:
        return _Previous(0, Checkpoint.of(None, time=datetime.now(UTC)))
    data = json.loads(row.payload)
    return _Previous(
        row.sequence,
        Checkpoint(
            sequence=int(data["latest_sequence"]),
            hash=str(data["latest_hash"]),
            count=int(data["entry_count"]),
            time=datetime.fromisoformat(data["checkpoint_at"]),
        ),
    )


async def take_checkpoint(
    database: Database, *, source: str, chunk: int = DEFAULT_CHUNK
) -> AuditCheckpoint | ChainReport | None:
    """Verify since the last checkpoint and publish the new one.

    Returns the published event, the failed ``ChainReport`` when the chain is broken, or ``None`` when
    there was nothing new to certify."""
    previous = await _previous_checkpoint(database)
    async with database.session() as session:
        current = await repo.read_head(session)
    if current.sequence == 0 or current.sequence == previous.entry_sequence:
        return None
    start = previous.checkpoint
    try:
        report = await verify_chain(database, first=start.sequence + 1, checkpoint=start, chunk=chunk)
    except RangeBeyondHead as exc:  # the log is shorter than a checkpoint it published: cut off
        metrics.VERIFY_FAILURES.labels(metrics.SERVICE).inc()
        log.error("audit chain shorter than its last checkpoint", checkpoint=start.sequence, head=exc.head)
        return None
    if not report.ok:
        return report
    if report.result.last_sequence is None:
        return None
    async with database.session() as session:
        uow = UnitOfWork(session, source=source, actor=SYSTEM_ACTOR)
        await repo.locked_head(session)  # one checkpointer at a time (and a consistent re-check)
        latest = await repo.last_of_type(session, AuditCheckpoint.TYPE)
        if (latest.sequence if latest is not None else 0) != previous.entry_sequence:
            return None  # another replica certified meanwhile
        assert report.result.last_hash is not None
        event = AuditCheckpoint(
            latest_sequence=report.result.last_sequence,
            latest_hash=report.result.last_hash,
            hash_algorithm=HASH_ALGORITHM,
            entry_count=report.result.last_sequence,
            checkpoint_at=datetime.now(UTC),
        )
        envelope = uow.publish(event)
        await record_own(uow, envelope, topic=topics.AUDIT)
        await uow.commit()
    metrics.CHECKPOINTS.labels(metrics.SERVICE).inc()
    log.info("audit checkpoint published", sequence=event.latest_sequence, hash=event.latest_hash)
    return event


async def _later(seconds: float, start: Callable[[], Coroutine[Any, Any, None]]) -> None:
    await asyncio.sleep(seconds)
    await start()


def jobs(
    database: Database, *, source: str, checkpoint_seconds: float, verify_seconds: float, chunk: int
) -> list[Coroutine[Any, Any, None]]:
    """The background jobs (for ``phoi_kit.background.running``): checkpoints from start-up on, the
    full verification after its first interval (not at every start of every replica)."""
    found: list[Coroutine[Any, Any, None]] = []
    if checkpoint_seconds > 0:

        async def checkpoint() -> None:
            await take_checkpoint(database, source=source, chunk=chunk)

        found.append(every(checkpoint_seconds, "audit-checkpoint", checkpoint))
    if verify_seconds > 0:

        async def full_verify() -> None:
            report = await verify_chain(database, chunk=chunk)
            log.info("audit chain verified", ok=report.ok, checked=report.result.checked_count)

        found.append(_later(verify_seconds, lambda: every(verify_seconds, "audit-verify", full_verify)))
    return found


async def refresh_gauges(database: Database) -> None:
    """On scrape: the chain head (one primary-key read)."""
    async with database.session() as session:
        current = await repo.read_head(session)
    metrics.HEAD_SEQUENCE.labels(metrics.SERVICE).set(current.sequence)
