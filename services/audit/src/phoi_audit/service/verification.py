"""Recomputing the chain from the database: the whole log or a range, streamed in chunks.

The entries are read in ascending sequence order through a server-side cursor (``yield_per``) inside
one REPEATABLE READ, read-only transaction, so the head and the entries come from the same snapshot
and memory stays flat whatever the size of the log. Each chunk goes through the domain's ``verify``,
continuing from the previous chunk's last hash.

Besides the links between entries, the end of the chain is checked against ``audit_head`` (an entry
deleted from the end, or entries added after it, are reported), and against a caller's checkpoint
(a published ``audit.checkpoint.v1`` kept elsewhere), which also reveals a rewritten tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from phoi_kit.db import Database
from phoi_kit.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_audit import metrics
from phoi_audit.adapters import entries as repo
from phoi_audit.domain import GENESIS_HASH, AuditDomainError, BreakReason, Checkpoint, VerifyResult, verify

log = get_logger(__name__)

DEFAULT_CHUNK = 1000


class RangeBeyondHead(AuditDomainError):
    """The requested range starts after the newest entry."""

    code: ClassVar[str] = "range_beyond_head"

    def __init__(self, first: int, head: int) -> None:
        super().__init__(f"the log ends at sequence {head}; nothing to verify from {first}")
        self.first = first
        self.head = head

    def details(self) -> dict[str, Any]:
        return {"head_sequence": self.head}


@dataclass(frozen=True, slots=True)
class ChainReport:
    result: VerifyResult
    first: int
    last: int  # the last sequence the range was expected to reach
    head: repo.Head
    checkpoint: Checkpoint | None
    verified_at: datetime

    @property
    def ok(self) -> bool:
        return self.result.ok


def _broken(partial: VerifyResult | None, *, at: int, reason: BreakReason, detail: str, checked: int) -> VerifyResult:
    return VerifyResult(
        ok=False,
        first_broken_sequence=at,
        reason=reason,
        checked_count=checked,
        detail=detail,
        last_sequence=partial.last_sequence if partial else None,
        last_hash=partial.last_hash if partial else None,
    )


class _ChunkedVerifier:
    """Feeds ``verify`` chunk by chunk, carrying the previous hash, the position and the count."""

    def __init__(self, *, first: int, start_hash: str, checkpoint: Checkpoint | None) -> None:
        self.next_sequence = first
        self.prev_hash = start_hash
        self.checkpoint = checkpoint
        self.checked = 0
        self.last_sequence: int | None = None
        self.last_hash: str | None = None

    def feed(self, rows: Sequence[Any]) -> VerifyResult | None:
        """``None`` while intact; the (absolute) result at the first break."""
        chunk = [repo.entry_from_row(row) for row in rows]
        cp = self.checkpoint
        in_window = cp is not None and self.next_sequence - 1 <= cp.sequence <= self.next_sequence + len(chunk) - 1
        result = verify(
            chunk,
            expected_start_prev_hash=self.prev_hash,
            expected_first_sequence=self.next_sequence,
            checkpoint=cp if in_window else None,
        )
        if not result.ok:
            return dataclasses.replace(
                result,
                checked_count=self.checked + result.checked_count,
                last_sequence=result.last_sequence or self.last_sequence,
                last_hash=result.last_hash or self.last_hash,
            )
        self.checked += result.checked_count
        if result.last_sequence is not None:
            self.last_sequence, self.last_hash = result.last_sequence, result.last_hash
            assert result.last_hash is not None
            self.prev_hash = result.last_hash
            self.next_sequence = result.last_sequence + 1
        return None

    def result(self) -> VerifyResult:
        return VerifyResult(
            ok=True,
            first_broken_sequence=None,
            reason=None,
            checked_count=self.checked,
            last_sequence=self.last_sequence,
            last_hash=self.last_hash,
        )


async def _feed_all(verifier: _ChunkedVerifier, chunks: AsyncGenerator[Sequence[Any], None]) -> VerifyResult | None:
    """Hash each chunk in a worker thread while the next one is fetched: the database works meanwhile,
    and the event loop stays free for requests and the consumer during a long verification."""
    fetching = asyncio.ensure_future(anext(chunks))
    try:
        while True:
            try:
                rows = await fetching
            except StopAsyncIteration:
                return None
            fetching = asyncio.ensure_future(anext(chunks))
            broken = await asyncio.to_thread(verifier.feed, rows)
            if broken is not None:
                return broken
    finally:
        if not fetching.done():
            with contextlib.suppress(StopAsyncIteration):
                await fetching
        await chunks.aclose()


async def _begin_snapshot(session: AsyncSession) -> None:
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})


async def verify_chain(
    database: Database,
    *,
    first: int = 1,
    last: int | None = None,
    checkpoint: Checkpoint | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> ChainReport:
    """Verify entries ``first..last`` (default: to the head). ``RangeBeyondHead`` if ``first`` is past
    the end. Counts failures in ``audit_verify_failures_total``."""
    if first < 1 or (last is not None and last < first):
        raise ValueError("the range must satisfy 1 <= first <= last")
    async with database.session() as session:
        await _begin_snapshot(session)
        head = await repo.read_head(session)
        if first > head.sequence + 1:
            raise RangeBeyondHead(first, head.sequence)
        end = head.sequence if last is None else min(last, head.sequence)
        if checkpoint is not None and not first - 1 <= checkpoint.sequence <= max(end, first - 1):
            raise ValueError("the checkpoint must lie within the verified range (or just before it)")
        result = await _verify_snapshot(session, first=first, end=end, head=head, checkpoint=checkpoint, chunk=chunk)
    report = ChainReport(
        result=result, first=first, last=end, head=head, checkpoint=checkpoint, verified_at=datetime.now(UTC)
    )
    metrics.HEAD_SEQUENCE.labels(metrics.SERVICE).set(head.sequence)
    if not result.ok:
        metrics.VERIFY_FAILURES.labels(metrics.SERVICE).inc()
        log.error(
            "audit chain verification failed",
            first_broken_sequence=result.first_broken_sequence,
            reason=str(result.reason),
            detail=result.detail,
        )
    elif first == 1 and result.last_sequence is not None:
        metrics.VERIFIED_SEQUENCE.labels(metrics.SERVICE).set(result.last_sequence)
    return report


async def _verify_snapshot(
    session: AsyncSession, *, first: int, end: int, head: repo.Head, checkpoint: Checkpoint | None, chunk: int
) -> VerifyResult:
    start_hash = GENESIS_HASH
    if first > 1:
        anchor = await repo.hash_at(session, first - 1)
        if anchor is None:
            return _broken(
                None,
                at=first - 1,
                reason=BreakReason.SEQUENCE_MISMATCH,
                detail=f"entry {first - 1}, just before the range, is missing",
                checked=0,
            )
        start_hash = anchor
    verifier = _ChunkedVerifier(first=first, start_hash=start_hash, checkpoint=checkpoint)
    if checkpoint is not None and checkpoint.sequence == first - 1 and checkpoint.hash != start_hash:
        return _broken(
            None,
            at=checkpoint.sequence,
            reason=BreakReason.CHECKPOINT_MISMATCH,
            detail="the entry at the checkpoint's sequence has another hash than the checkpoint",
            checked=0,
        )
    if end >= first:
        broken = await _feed_all(verifier, repo.stream_rows(session, repo.in_range(first, end), chunk=chunk))
        if broken is not None:
            return broken
    intact = verifier.result()
    reached = verifier.next_sequence - 1
    if checkpoint is not None and checkpoint.sequence > reached:
        return _broken(
            intact,
            at=reached + 1,
            reason=BreakReason.TRUNCATED,
            detail=f"the log ends at sequence {reached}, the checkpoint is at {checkpoint.sequence}",
            checked=verifier.checked,
        )
    if reached < end:
        return _broken(
            intact,
            at=reached + 1,
            reason=BreakReason.TRUNCATED,
            detail=f"the entries end at sequence {reached}, the chain head is at {head.sequence}",
            checked=verifier.checked,
        )
    if end == head.sequence:
        if head.sequence > 0 and verifier.last_hash is not None and verifier.last_hash != head.hash:
            return _broken(
                intact,
                at=head.sequence,
                reason=BreakReason.CHECKPOINT_MISMATCH,
                detail="the newest entry's hash differs from the recorded chain head",
                checked=verifier.checked,
            )
        if await repo.any_after(session, head.sequence):
            return _broken(
                intact,
                at=head.sequence + 1,
                reason=BreakReason.SEQUENCE_MISMATCH,
                detail=f"entries exist after the chain head ({head.sequence})",
                checked=verifier.checked,
            )
    return intact
