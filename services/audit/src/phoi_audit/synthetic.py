"""Synthetic audit chains, written fast with COPY: for benchmarks, large tests and load rehearsals.

Never used by the running service. ``synthetic_chain`` builds entries with the domain's ``chain_next``;
``synthetic_rows`` produces the very same rows several times faster (the canonical document is filled
into a template, then hashed once) — a test checks that both agree and that the domain's ``verify``
accepts them.
``bulk_load`` appends to a log nobody else writes to at the time (it holds the head lock meanwhile).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

from phoi_kit.db import Database

from phoi_audit.adapters.entries import ENTRY_COLUMNS, Head, copy_rows, read_head
from phoi_audit.domain import (
    GENESIS_HASH,
    AuditActor,
    AuditEntry,
    ChainHead,
    canonical_datetime,
    canonical_json,
    chain_next,
)

T0: Final = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
ACTOR: Final = AuditActor(user_id="u-1", username="sgd-hni", role="unit_account", unit_code="SGD-HNI")
TYPE: Final = "stock.movement_recorded.v2"
UNIT: Final = "SGD-HNI"

assert tuple(ENTRY_COLUMNS) == (
    "sequence",
    "event_id",
    "type",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_unit_code",
    "subject",
    "unit_code",
    "occurred_at",
    "recorded_at",
    "payload",
    "prev_hash",
    "hash",
)


def _payload(n: int, filler: str) -> dict[str, Any]:
    return {"n": n, "kind": "spoil", "reason": "Phôi hỏng do in lỗi", "filler": filler}


def synthetic_chain(
    count: int,
    *,
    start: ChainHead | None = None,
    payload_size: int = 0,
    event_id: Callable[[int], uuid.UUID] = lambda _n: uuid.uuid4(),
) -> Iterator[AuditEntry]:
    """``count`` stock-movement entries chained after ``start`` (a head; ``None`` or sequence 0: genesis)."""
    previous: ChainHead | None = start if start is not None and start.sequence > 0 else None
    filler = "x" * payload_size
    for n in range(count):
        entry = chain_next(
            previous,
            event_id=event_id(n),
            type=TYPE,
            actor=ACTOR,
            subject=f"movement-{n}",
            unit_code=UNIT,
            occurred_at=T0,
            recorded_at=T0,
            payload=_payload(n, filler),
        )
        previous = entry
        yield entry


def synthetic_rows(
    count: int,
    *,
    start: ChainHead | None = None,
    payload_size: int = 0,
    event_id: Callable[[int], uuid.UUID] = lambda _n: uuid.uuid4(),
) -> Iterator[tuple[Any, ...]]:
    """The rows (``ENTRY_COLUMNS`` order) of ``synthetic_chain(...)``, computed without ``chain_next``:
    the canonical document is filled into a template (its keys in canonical order; every value but the
    payload is a fixed or plain-ASCII string, so its JSON form is known), then hashed once."""
    sequence, prev_hash = (0, GENESIS_HASH) if start is None else (start.sequence, start.hash)
    filler = "x" * payload_size
    stamp = canonical_datetime(T0, field="T0")
    template = (
        '{"actor":' + canonical_json(ACTOR.to_dict()) + ',"event_id":"%s","occurred_at":"' + stamp + '",'
        '"payload":%s,"prev_hash":"%s","recorded_at":"' + stamp + '","sequence":%d,"subject":"%s",'
        '"type":' + canonical_json(TYPE) + ',"unit_code":' + canonical_json(UNIT) + "}"
    )
    for n in range(count):
        sequence += 1
        identifier = event_id(n)
        payload = canonical_json(_payload(n, filler))
        subject = f"movement-{n}"
        document = template % (identifier, payload, prev_hash, sequence, subject)
        digest = hashlib.sha256((prev_hash + document).encode("utf-8")).hexdigest()
        yield (
            sequence,
            identifier,
            TYPE,
            ACTOR.user_id,
            ACTOR.username,
            ACTOR.role,
            ACTOR.unit_code,
            subject,
            UNIT,
            T0,
            T0,
            payload,
            prev_hash,
            digest,
        )
        prev_hash = digest


async def bulk_load(database: Database, count: int, *, payload_size: int = 0, chunk: int = 10_000) -> Head:
    """Append ``count`` synthetic entries after the current head with COPY; returns the new head."""
    async with database.session() as session:
        start = await read_head(session)
    async with database.engine.begin() as conn:
        return await copy_rows(conn, synthetic_rows(count, start=start, payload_size=payload_size), chunk=chunk)
