"""Response models of the audit API (request parameters are plain query parameters)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from phoi_audit.domain import VerifyResult


class ActorOut(BaseModel):
    user_id: str | None = Field(description="Keycloak user id, if any.")
    username: str | None = Field(description="Login name, or `system`.")
    role: str | None = Field(description="Realm role the action was performed under.")
    unit_code: str | None = Field(description="The actor's unit, if any.")


class EntryOut(BaseModel):
    sequence: int = Field(description="Position in the chain, from 1, without gaps.")
    event_id: uuid.UUID = Field(description="Id of the recorded event (unique).")
    type: str = Field(description="Event type, e.g. request.approved.v1.")
    actor: ActorOut
    subject: str | None = Field(description="Aggregate the event is about (request id, account id...).")
    unit_code: str | None = Field(description="Unit the event concerns (read scope of unit accounts).")
    occurred_at: datetime = Field(description="When the event happened.")
    recorded_at: datetime = Field(description="When the audit service recorded it.")
    payload: dict[str, Any] = Field(description="The event data as recorded.")
    prev_hash: str = Field(description="Hash of the previous entry (64 zeros for the first).")
    hash: str = Field(description="sha256(prev_hash + canonical serialisation of the entry), hex.")

    @classmethod
    def from_row(cls, row: Any) -> EntryOut:
        try:
            payload = json.loads(row.payload)
        except (TypeError, ValueError):
            payload = None
        if not isinstance(payload, dict):  # only a tampered row can look like this; show it as it is
            payload = {"unreadable_payload": str(row.payload)}
        return cls(
            sequence=row.sequence,
            event_id=row.event_id,
            type=row.type,
            actor=ActorOut(
                user_id=row.actor_user_id,
                username=row.actor_username,
                role=row.actor_role,
                unit_code=row.actor_unit_code,
            ),
            subject=row.subject,
            unit_code=row.unit_code,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            payload=payload,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


class SealOut(BaseModel):
    """Where one fact sits in the chain, without its content: what a printed record carries so that the
    paper on file can be matched to the log (and its hash checked by verification)."""

    sequence: int = Field(description="Position of the entry in the chain.")
    hash: str = Field(description="The entry's hash.")
    prev_hash: str = Field(description="The previous entry's hash.")
    event_id: uuid.UUID = Field(description="Id of the recorded event.")
    type: str = Field(description="Event type.")
    subject: str | None = Field(description="Aggregate the event is about.")
    occurred_at: datetime = Field(description="When the event happened.")

    @classmethod
    def from_row(cls, row: Any) -> SealOut:
        return cls(
            sequence=row.sequence,
            hash=row.hash,
            prev_hash=row.prev_hash,
            event_id=row.event_id,
            type=row.type,
            subject=row.subject,
            occurred_at=row.occurred_at,
        )


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    limit: int


class HeadOut(BaseModel):
    sequence: int = Field(description="Sequence of the newest entry (0: empty log).")
    hash: str = Field(description="Hash of the newest entry.")


class VerifyOut(BaseModel):
    ok: bool = Field(description="True when every entry of the range is intact and linked.")
    first_broken_sequence: int | None = Field(description="Where the chain first breaks; null when ok.")
    reason: str | None = Field(
        description="sequence_mismatch (entry missing, added or reordered), prev_hash_mismatch, hash_mismatch "
        "(an entry changed), malformed_entry, checkpoint_mismatch (history rewritten), truncated (entries "
        "cut off at the end)."
    )
    detail: str | None
    checked_count: int = Field(description="Entries found intact before the first break (all when ok).")
    from_sequence: int
    to_sequence: int = Field(description="Last sequence the range was expected to reach.")
    last_sequence: int | None = Field(description="Last intact entry.")
    last_hash: str | None
    head: HeadOut
    checkpoint: HeadOut | None = Field(description="The checkpoint the chain was checked against, if given.")
    verified_at: datetime

    @staticmethod
    def reason_of(result: VerifyResult) -> str | None:
        return None if result.reason is None else str(result.reason)
