"""The hash-chained, append-only audit log: entries, appending, checkpoints and streaming verification.

Appending (``chain_next``) must be serialised: one writer at a time takes the current head (the last
entry, or a ``Checkpoint``/row holding its sequence and hash) under a lock — e.g. ``SELECT ... FOR UPDATE``
on a one-row chain-head table — builds the next entry and inserts it in the same transaction.

``verify`` reads entries in ascending ``sequence`` order, once, keeping only the previous entry's
sequence and hash (constant memory; pass a server-side cursor/iterator). It stops at the first break.
A chain alone cannot reveal that its *newest* entries were cut off, nor a rewrite of the whole tail;
a ``Checkpoint`` kept elsewhere (published as ``audit.checkpoint.v1``) can: pass it as ``checkpoint``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from phoi_audit.domain.canonical import (
    canonical_datetime,
    canonical_uuid,
    check_json_value,
    encode_checked,
    json_copy,
)
from phoi_audit.domain.errors import AuditDomainError, InvalidAuditEntry

HASH_ALGORITHM: Final = "sha256"
GENESIS_HASH: Final = "0" * 64
"""``prev_hash`` of the first entry of the log."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChainHead(Protocol):
    """Anything that names the chain's current end: an ``AuditEntry`` or a ``Checkpoint``."""

    @property
    def sequence(self) -> int: ...

    @property
    def hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AuditActor:
    """Who did it. ``None`` fields mean a system action."""

    user_id: str | None = None
    username: str | None = None
    role: str | None = None
    unit_code: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "role": self.role,
            "unit_code": self.unit_code,
            "user_id": self.user_id,
            "username": self.username,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AuditActor:
        return cls(
            user_id=raw.get("user_id"),
            username=raw.get("username"),
            role=raw.get("role"),
            unit_code=raw.get("unit_code"),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the log. Construct only through ``chain_next`` (or when loading stored rows).

    Construction does not validate, so a damaged stored row can still be loaded and reported by
    ``verify``; ``canonical_bytes()`` / ``compute_hash()`` raise ``InvalidAuditEntry`` on bad fields.
    """

    sequence: int
    event_id: uuid.UUID
    type: str
    actor: AuditActor
    subject: str | None
    unit_code: str | None
    occurred_at: datetime
    recorded_at: datetime
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str

    def __hash__(self) -> int:  # the payload is a dict; identity by position and hash is enough
        return hash((self.sequence, self.hash))

    def canonical_document(self) -> dict[str, Any]:
        """Every field except ``hash``, in JSON form (see ``canonical``)."""
        if not isinstance(self.sequence, int) or isinstance(self.sequence, bool) or self.sequence < 1:
            raise InvalidAuditEntry("sequence must be an integer >= 1", field="sequence")
        if not isinstance(self.type, str) or not self.type:
            raise InvalidAuditEntry("type must be a non-empty string", field="type")
        actor = self.actor
        if not isinstance(actor, AuditActor):
            raise InvalidAuditEntry("actor must be an AuditActor", field="actor")
        for value in (self.subject, self.unit_code, actor.role, actor.unit_code, actor.user_id, actor.username):
            if value is not None and not isinstance(value, str):
                self._refuse_optional_texts()
        if not isinstance(self.payload, Mapping):
            raise InvalidAuditEntry("payload must be a JSON object", field="payload")
        _check_hash(self.prev_hash, field="prev_hash")
        return {
            "actor": actor.to_dict(),
            "event_id": canonical_uuid(self.event_id, field="event_id"),
            "occurred_at": canonical_datetime(self.occurred_at, field="occurred_at"),
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "recorded_at": canonical_datetime(self.recorded_at, field="recorded_at"),
            "sequence": self.sequence,
            "subject": self.subject,
            "type": self.type,
            "unit_code": self.unit_code,
        }

    def _refuse_optional_texts(self) -> None:
        for name, value in (
            ("subject", self.subject),
            ("unit_code", self.unit_code),
            *(("actor." + k, v) for k, v in self.actor.to_dict().items()),
        ):
            if value is not None and not isinstance(value, str):
                raise InvalidAuditEntry(f"{name} must be a string or null", field=name)

    def canonical_bytes(self) -> bytes:
        """``canonical_bytes_of(self.canonical_document())``; the document's own fields are validated by
        ``canonical_document``, so only the payload's contents still need the JSON check."""
        document = self.canonical_document()
        check_json_value(self.payload)
        return encode_checked(document)

    def compute_hash(self) -> str:
        """The hash this entry should carry, from its other fields."""
        return entry_hash(self.prev_hash, self.canonical_bytes())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for exports and APIs); ``from_dict`` reads it back."""
        return {**self.canonical_document(), "hash": self.hash}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AuditEntry:
        return cls(
            sequence=raw["sequence"],
            event_id=uuid.UUID(raw["event_id"]),
            type=raw["type"],
            actor=AuditActor.from_dict(raw["actor"]),
            subject=raw["subject"],
            unit_code=raw["unit_code"],
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            recorded_at=datetime.fromisoformat(raw["recorded_at"]),
            payload=raw["payload"],
            prev_hash=raw["prev_hash"],
            hash=raw["hash"],
        )


def entry_hash(prev_hash: str, canonical: bytes) -> str:
    """``sha256(prev_hash + canonical bytes)`` as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def _check_hash(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise InvalidAuditEntry(f"{field} must be 64 lowercase hex digits", field=field)
    return value


def chain_next(
    previous: ChainHead | None,
    *,
    event_id: uuid.UUID,
    type: str,
    actor: AuditActor,
    subject: str | None,
    unit_code: str | None,
    occurred_at: datetime,
    payload: Mapping[str, Any],
    recorded_at: datetime | None = None,
) -> AuditEntry:
    """The entry that follows ``previous`` (``None``: the first entry, sequence 1, genesis prev hash).

    The payload is copied into plain JSON types (so what is hashed is what will be read back);
    datetimes are normalised to UTC. ``InvalidAuditEntry`` when a field cannot be canonicalised.
    """
    if previous is None:
        sequence, prev_hash = 1, GENESIS_HASH
    else:
        sequence, prev_hash = previous.sequence + 1, _check_hash(previous.hash, field="previous.hash")
    if not isinstance(payload, Mapping):
        raise InvalidAuditEntry("payload must be a JSON object", field="payload")
    fields: dict[str, Any] = {
        "sequence": sequence,
        "event_id": event_id,
        "type": type,
        "actor": actor,
        "subject": subject,
        "unit_code": unit_code,
        "occurred_at": _utc(occurred_at, field="occurred_at"),
        "recorded_at": _utc(recorded_at or datetime.now(UTC), field="recorded_at"),
        "payload": json_copy(payload),
        "prev_hash": prev_hash,
    }
    return AuditEntry(**fields, hash=AuditEntry(**fields, hash="").compute_hash())


def _utc(value: datetime, *, field: str) -> datetime:
    canonical_datetime(value, field=field)  # validates
    return value.astimezone(UTC)


# ---------------------------------------------------------------------------------------------------------
# Checkpoints


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the log at a moment: ``sequence`` and ``hash`` of the latest entry, how many entries
    the log held (``count``) and when it was taken (``time``). An empty log is ``(0, GENESIS_HASH, 0)``.

    Maps to the contracts' ``audit.checkpoint.v1``: latest_sequence, latest_hash, entry_count,
    checkpoint_at (hash_algorithm ``sha256``).
    """

    sequence: int
    hash: str
    count: int
    time: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.sequence, int) or isinstance(self.sequence, bool) or self.sequence < 0:
            raise InvalidAuditEntry("checkpoint sequence must be an integer >= 0", field="sequence")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 0:
            raise InvalidAuditEntry("checkpoint count must be an integer >= 0", field="count")
        _check_hash(self.hash, field="hash")
        canonical_datetime(self.time, field="time")

    @classmethod
    def of(cls, head: ChainHead | None, *, count: int | None = None, time: datetime | None = None) -> Checkpoint:
        """A checkpoint at ``head`` (``None``: the empty log). ``count`` defaults to ``head.sequence``
        (right for a log that starts at sequence 1)."""
        sequence, hash_ = (0, GENESIS_HASH) if head is None else (head.sequence, head.hash)
        return cls(
            sequence=sequence,
            hash=hash_,
            count=sequence if count is None else count,
            time=time or datetime.now(UTC),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "hash": self.hash,
            "count": self.count,
            "time": canonical_datetime(self.time, field="time"),
        }


# ---------------------------------------------------------------------------------------------------------
# Verification


class BreakReason(StrEnum):
    """Why verification stopped (stable codes)."""

    SEQUENCE_MISMATCH = "sequence_mismatch"  # a gap (deleted entry), a duplicate or reordered entries
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # prev_hash is not the previous entry's hash
    HASH_MISMATCH = "hash_mismatch"  # a field (or the hash itself) was changed
    MALFORMED_ENTRY = "malformed_entry"  # a field cannot be canonicalised at all
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # the entry at the checkpoint's sequence has another hash
    TRUNCATED = "truncated"  # the log ends before the checkpoint's sequence


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of ``verify``.

    ``checked_count`` is the number of entries found intact before the first break (all of them when
    ``ok``), so on failure ``first_broken_sequence == expected_first_sequence + checked_count`` — except
    for ``checkpoint_mismatch``, which names the checkpoint's sequence (the break is at or before it).
    ``last_sequence``/``last_hash`` describe the last intact entry (``None`` if there was none), from
    which a new ``Checkpoint`` can be made when ``ok``.
    """

    ok: bool
    first_broken_sequence: int | None
    reason: BreakReason | None
    checked_count: int
    detail: str | None = None
    last_sequence: int | None = None
    last_hash: str | None = None


def verify(
    entries: Iterable[AuditEntry],
    *,
    expected_start_prev_hash: str = GENESIS_HASH,
    expected_first_sequence: int = 1,
    checkpoint: Checkpoint | None = None,
) -> VerifyResult:
    """Check a run of entries in ascending sequence order, streaming (reads ``entries`` once).

    To verify only the entries after a trusted checkpoint ``cp``:
    ``verify(rows, expected_start_prev_hash=cp.hash, expected_first_sequence=cp.sequence + 1)``.
    ``checkpoint`` (a *later* trusted head) additionally detects cut-off or rewritten tails.
    """
    _check_hash(expected_start_prev_hash, field="expected_start_prev_hash")
    if checkpoint is not None and checkpoint.sequence < expected_first_sequence - 1:
        raise ValueError("the checkpoint precedes the range being verified")
    if (
        checkpoint is not None
        and checkpoint.sequence == expected_first_sequence - 1
        and checkpoint.hash != expected_start_prev_hash
    ):
        return VerifyResult(
            ok=False,
            first_broken_sequence=checkpoint.sequence,
            reason=BreakReason.CHECKPOINT_MISMATCH,
            checked_count=0,
            detail="the checkpoint does not match the expected start of the chain",
        )

    expected_sequence = expected_first_sequence
    prev_hash = expected_start_prev_hash
    checked = 0
    last_sequence: int | None = None
    last_hash: str | None = None

    def broken(reason: BreakReason, detail: str, sequence: int | None = None) -> VerifyResult:
        return VerifyResult(
            ok=False,
            first_broken_sequence=expected_sequence if sequence is None else sequence,
            reason=reason,
            checked_count=checked,
            detail=detail,
            last_sequence=last_sequence,
            last_hash=last_hash,
        )

    for entry in entries:
        if entry.sequence != expected_sequence:
            return broken(
                BreakReason.SEQUENCE_MISMATCH, f"expected sequence {expected_sequence}, found {entry.sequence!r}"
            )
        if entry.prev_hash != prev_hash:
            return broken(BreakReason.PREV_HASH_MISMATCH, "prev_hash is not the hash of the previous entry")
        try:
            computed = entry.compute_hash()
        except AuditDomainError as exc:
            return broken(BreakReason.MALFORMED_ENTRY, exc.message)
        if computed != entry.hash:
            return broken(BreakReason.HASH_MISMATCH, "the stored hash does not match the entry's content")
        if checkpoint is not None and entry.sequence == checkpoint.sequence and entry.hash != checkpoint.hash:
            return broken(
                BreakReason.CHECKPOINT_MISMATCH,
                "the chain was rewritten: its hash at the checkpoint differs from the checkpoint's",
                checkpoint.sequence,
            )
        checked += 1
        last_sequence, last_hash = entry.sequence, entry.hash
        prev_hash = entry.hash
        expected_sequence += 1

    if checkpoint is not None and checkpoint.sequence >= expected_sequence:
        return broken(
            BreakReason.TRUNCATED,
            f"the log ends at sequence {expected_sequence - 1}, the checkpoint is at {checkpoint.sequence}",
        )
    return VerifyResult(
        ok=True,
        first_broken_sequence=None,
        reason=None,
        checked_count=checked,
        last_sequence=last_sequence,
        last_hash=last_hash,
    )
