"""Every query on the audit tables: appending under the head lock, filtered pages, streams, bulk loading.

Appending is serialised by the one-row ``audit_head`` table, and done once per transaction: ``append``
only queues an entry-to-be in the session; just before the transaction commits (a ``before_commit``
session event, which runs inside the async session's greenlet and may therefore use the synchronous
session) the queue is written in one go:

1. ``SELECT ... FOR UPDATE`` on the head row — concurrent writers (other partitions, consumers,
   replicas, an export being recorded) wait here, for the short time of steps 2-4 and the commit;
2. event ids already in the log are dropped (should the kit's ``processed_events`` ever miss one);
3. the entries are built with the domain's ``chain_next``, each from the previous one, starting at the
   locked head, and written with one COPY on the transaction's connection;
4. the head is moved to the last of them.

So a consumer batch of hundreds of events costs a handful of round trips, and the lock is held only
while the transaction finishes. A rolled-back transaction simply drops its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, bindparam, event, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_only

from phoi_audit import metrics
from phoi_audit.domain import GENESIS_HASH, AuditActor, AuditEntry, ChainHead, canonical_json
from phoi_audit.models import accounts, entries, head, processed_events

_STATE_KEY: Final = "phoi_audit.append_state"
_LISTENING_KEY: Final = "phoi_audit.listening"

# The columns of audit_entries in table order (``select(entries)`` returns them in this order).
ENTRY_COLUMNS: Final = (
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

_LOCK_HEAD: Final = select(head.c.sequence, head.c.hash).where(head.c.id == 1).with_for_update()
_KNOWN_IDS: Final = select(entries.c.event_id).where(entries.c.event_id.in_(bindparam("ids", expanding=True)))


def _upsert_account() -> Any:
    stmt = pg_insert(accounts).values(
        user_id=bindparam("a_user_id"),
        username=bindparam("a_username"),
        role=bindparam("a_role"),
        unit_code=bindparam("a_unit_code"),
    )
    return stmt.on_conflict_do_update(
        index_elements=[accounts.c.user_id],
        set_={
            "username": stmt.excluded.username,
            "unit_code": stmt.excluded.unit_code,
            "role": func.coalesce(stmt.excluded.role, accounts.c.role),  # a later event may not name it
        },
    )


_UPSERT_ACCOUNT: Final = _upsert_account()
_FIND_ACCOUNTS: Final = select(accounts).where(
    or_(
        accounts.c.user_id.in_(bindparam("user_ids", expanding=True)),
        accounts.c.username.in_(bindparam("usernames", expanding=True)),
    )
)
_MOVE_HEAD: Final = (
    update(head)
    .where(head.c.id == 1)
    .values(sequence=bindparam("new_sequence"), hash=bindparam("new_hash"), updated_at=func.now())
)


@dataclass(frozen=True, slots=True)
class Head:
    """The end of the chain: the newest entry's sequence and hash (``0``/genesis for an empty log)."""

    sequence: int
    hash: str


EMPTY_HEAD: Final = Head(0, GENESIS_HASH)
# Rows whose text matches a seal's data filter that are parsed to find it (a nested copy of the same
# key and value is the only way to match the text but not the field).
SEAL_CANDIDATES: Final = 20


@dataclass(frozen=True, slots=True)
class KnownAccount:
    """An account as identity's events describe it (for sign-in events, which name only the user)."""

    user_id: str
    username: str
    role: str | None
    unit_code: str | None


@dataclass(frozen=True, slots=True)
class Pending:
    """An entry to append when the transaction commits.

    ``build(head, account)`` makes the entry that follows ``head``; ``account`` is the known account
    looked up for ``asks`` (user id, else username) — ``None`` if not asked or not known. ``learns`` is an
    account this event describes; it is remembered before any lookup of the same commit."""

    event_id: uuid.UUID
    build: Callable[[ChainHead, KnownAccount | None], AuditEntry]
    learns: KnownAccount | None = None
    asks: tuple[str | None, str | None] | None = None


@dataclass(slots=True)
class _AppendState:
    head: Head | None = None  # set once this transaction holds the head lock
    queued: list[Pending] = field(default_factory=list)
    queued_ids: set[uuid.UUID] = field(default_factory=set)
    appended: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Rows <-> entries


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "sequence": entry.sequence,
        "event_id": entry.event_id,
        "type": entry.type,
        "actor_user_id": entry.actor.user_id,
        "actor_username": entry.actor.username,
        "actor_role": entry.actor.role,
        "actor_unit_code": entry.actor.unit_code,
        "subject": entry.subject,
        "unit_code": entry.unit_code,
        "occurred_at": entry.occurred_at,
        "recorded_at": entry.recorded_at,
        "payload": canonical_json(entry.payload),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def entry_tuple(entry: AuditEntry) -> tuple[Any, ...]:
    """``entry_row`` as a tuple in ``ENTRY_COLUMNS`` order (for COPY)."""
    actor = entry.actor
    return (
        entry.sequence,
        entry.event_id,
        entry.type,
        actor.user_id,
        actor.username,
        actor.role,
        actor.unit_code,
        entry.subject,
        entry.unit_code,
        entry.occurred_at,
        entry.recorded_at,
        canonical_json(entry.payload),
        entry.prev_hash,
        entry.hash,
    )


def entry_from_row(row: Any) -> AuditEntry:
    """An ``AuditEntry`` exactly as stored (no validation: a damaged row is for ``verify`` to report).

    ``row`` has the ``ENTRY_COLUMNS`` in that order (a row of ``select(entries)``, or a tuple)."""
    (
        sequence,
        event_id,
        type_,
        actor_user_id,
        actor_username,
        actor_role,
        actor_unit_code,
        subject,
        unit_code,
        occurred_at,
        recorded_at,
        payload_text,
        prev_hash,
        hash_,
    ) = row
    try:
        payload = json.loads(payload_text)
    except (TypeError, ValueError):
        payload = payload_text  # not JSON any more: verify reports it as malformed
    return AuditEntry(
        sequence=sequence,
        event_id=event_id,
        type=type_,
        actor=AuditActor(actor_user_id, actor_username, actor_role, actor_unit_code),
        subject=subject,
        unit_code=unit_code,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        payload=payload,
        prev_hash=prev_hash,
        hash=hash_,
    )


# ---------------------------------------------------------------------------------------------------------
# Appending


def _state(session: AsyncSession) -> _AppendState:
    sync = session.sync_session
    if not sync.info.get(_LISTENING_KEY):
        sync.info[_LISTENING_KEY] = True
        event.listen(sync, "before_commit", _write_queued)
        event.listen(sync, "after_commit", _count_appended)
        event.listen(sync, "after_transaction_end", _forget_state)
    state: _AppendState | None = sync.info.get(_STATE_KEY)
    if state is None:
        state = sync.info[_STATE_KEY] = _AppendState()
    return state


def _write_queued(sync: Session) -> None:
    """``before_commit``: write the queued entries under the head lock (synchronous SQL is allowed here)."""
    state: _AppendState | None = sync.info.get(_STATE_KEY)
    if state is None or not state.queued:
        return
    queued, state.queued = state.queued, []
    state.queued_ids.clear()
    learned = {p.learns.user_id: p.learns for p in queued if p.learns is not None}
    if learned:
        sync.execute(
            _UPSERT_ACCOUNT,
            [
                {"a_user_id": a.user_id, "a_username": a.username, "a_role": a.role, "a_unit_code": a.unit_code}
                for a in learned.values()
            ],
        )
    if state.head is None:
        row = sync.execute(_LOCK_HEAD).one()
        state.head = Head(row.sequence, row.hash)
    known = set(sync.execute(_KNOWN_IDS, {"ids": [p.event_id for p in queued]}).scalars())
    by_id, by_name = _known_accounts(sync, [p.asks for p in queued if p.asks is not None])
    current: Head = state.head
    rows: list[tuple[Any, ...]] = []
    for pending in queued:
        if pending.event_id in known:
            continue
        account = None
        if pending.asks is not None:
            user_id, username = pending.asks
            account = by_id.get(user_id) if user_id else by_name.get(username or "")
        entry = pending.build(current, account)
        rows.append(entry_tuple(entry))
        state.appended.append(entry.type)
        current = Head(entry.sequence, entry.hash)
    if rows:
        _copy_in(sync, rows)
        sync.execute(_MOVE_HEAD, {"new_sequence": current.sequence, "new_hash": current.hash})
        state.head = current


def _copy_in(sync: Session, rows: list[tuple[Any, ...]]) -> None:
    """COPY the rows in, on the transaction's own connection (several times faster than INSERTs).
    The session's greenlet lets this synchronous hook wait for the asyncpg call."""
    driver = sync.connection().connection.driver_connection
    assert driver is not None
    await_only(driver.copy_records_to_table("audit_entries", records=rows, columns=ENTRY_COLUMNS))


def _known_accounts(
    sync: Session, asks: list[tuple[str | None, str | None]]
) -> tuple[dict[str, KnownAccount], dict[str, KnownAccount]]:
    user_ids = sorted({user_id for user_id, _ in asks if user_id})
    usernames = sorted({username for user_id, username in asks if not user_id and username})
    if not user_ids and not usernames:
        return {}, {}
    found = [
        KnownAccount(r.user_id, r.username, r.role, r.unit_code)
        for r in sync.execute(_FIND_ACCOUNTS, {"user_ids": user_ids, "usernames": usernames})
    ]
    return {a.user_id: a for a in found}, {a.username: a for a in found}


def _count_appended(sync: Session) -> None:
    state: _AppendState | None = sync.info.pop(_STATE_KEY, None)
    if state is not None:
        for event_type in state.appended:
            metrics.entry_appended(event_type)


def _forget_state(sync: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        sync.info.pop(_STATE_KEY, None)


def append(session: AsyncSession, pending: Pending) -> bool:
    """Queue ``pending``; its entry is chained and written when the transaction commits.

    False (nothing queued) when the same event id is already queued in this transaction. An event id
    already in the log is dropped at commit."""
    state = _state(session)
    if pending.event_id in state.queued_ids:
        return False
    state.queued.append(pending)
    state.queued_ids.add(pending.event_id)
    return True


async def locked_head(session: AsyncSession) -> Head:
    """Take the head lock now (held until this transaction ends) and return the head as committed."""
    state = _state(session)
    if state.head is None:
        row = (await session.execute(_LOCK_HEAD)).one()
        state.head = Head(row.sequence, row.hash)
    return state.head


async def claim_event(session: AsyncSession, *, event_id: uuid.UUID, type: str, topic: str) -> None:
    """Mark an event this service records itself as processed, so its copy from the bus is skipped."""
    await session.execute(
        pg_insert(processed_events).values(event_id=event_id, type=type, topic=topic).on_conflict_do_nothing()
    )


# ---------------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Filters of GET /entries and its export. ``scope_unit`` is the caller's own unit for a unit account
    (it restricts everything else); the other fields come from the query string."""

    actor: str | None = None
    unit: str | None = None
    subject: str | None = None
    types: tuple[str, ...] = ()
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    scope_unit: str | None = None

    def conditions(self) -> list[Any]:
        where: list[Any] = []
        if self.scope_unit is not None:
            where.append(entries.c.unit_code == self.scope_unit)
        if self.unit is not None:
            where.append(entries.c.unit_code == self.unit)
        if self.actor is not None:
            where.append(or_(entries.c.actor_user_id == self.actor, entries.c.actor_username == self.actor))
        if self.subject is not None:
            where.append(entries.c.subject == self.subject)
        if self.types:
            exact = [t for t in self.types if not t.endswith("*")]
            prefixes = [t[:-1] for t in self.types if t.endswith("*")]
            alternatives: list[Any] = []
            if exact:
                alternatives.append(entries.c.type.in_(exact))
            alternatives.extend(entries.c.type.startswith(p, autoescape=True) for p in prefixes)
            where.append(or_(*alternatives))
        if self.occurred_from is not None:
            where.append(entries.c.occurred_at >= self.occurred_from)
        if self.occurred_to is not None:
            where.append(entries.c.occurred_at < self.occurred_to)
        return where


async def read_head(session: AsyncSession) -> Head:
    row = (await session.execute(select(head.c.sequence, head.c.hash).where(head.c.id == 1))).first()
    return EMPTY_HEAD if row is None else Head(row.sequence, row.hash)


async def page(
    session: AsyncSession, flt: EntryFilter, *, after: int | None, descending: bool, limit: int
) -> Sequence[Any]:
    """Up to ``limit`` rows strictly after the keyset cursor ``after`` (a sequence number)."""
    stmt = select(entries).where(*flt.conditions())
    if after is not None:
        stmt = stmt.where(entries.c.sequence < after if descending else entries.c.sequence > after)
    stmt = stmt.order_by(entries.c.sequence.desc() if descending else entries.c.sequence).limit(limit)
    rows: Sequence[Any] = (await session.execute(stmt)).all()
    return rows


async def get(session: AsyncSession, sequence: int) -> Any | None:
    return (await session.execute(select(entries).where(entries.c.sequence == sequence))).first()


def filtered(flt: EntryFilter) -> Select[Any]:
    return select(entries).where(*flt.conditions()).order_by(entries.c.sequence)


def in_range(first: int, last: int | None) -> Select[Any]:
    stmt = select(entries).where(entries.c.sequence >= first)
    if last is not None:
        stmt = stmt.where(entries.c.sequence <= last)
    return stmt.order_by(entries.c.sequence)


async def stream_rows(session: AsyncSession, stmt: Select[Any], *, chunk: int) -> AsyncGenerator[Sequence[Any], None]:
    """The rows of ``stmt`` in chunks of ``chunk``, through a server-side cursor (never all in memory)."""
    result = await session.stream(stmt.execution_options(yield_per=chunk))
    try:
        async for rows in result.partitions(chunk):
            yield rows
    finally:
        await result.close()


async def hash_at(session: AsyncSession, sequence: int) -> str | None:
    return (await session.execute(select(entries.c.hash).where(entries.c.sequence == sequence))).scalar()


async def any_after(session: AsyncSession, sequence: int) -> bool:
    return bool((await session.execute(select(exists().where(entries.c.sequence > sequence)))).scalar())


async def newest_about(
    session: AsyncSession, *, subject: str, types: tuple[str, ...], data: tuple[str, str] | None, scope_unit: str | None
) -> Any | None:
    """The newest entry about ``subject`` of one of ``types`` whose event data, if ``data`` = (field, value)
    is given, has that value at its top level. The subject index narrows the rows; the text match on the
    canonical payload narrows them further; the JSON is parsed here, not in SQL, so that a tampered,
    unparsable payload is skipped instead of failing the query."""
    stmt = select(entries).where(entries.c.subject == subject, entries.c.type.in_(types))
    if scope_unit is not None:
        stmt = stmt.where(entries.c.unit_code == scope_unit)
    if data is None:
        return (await session.execute(stmt.order_by(entries.c.sequence.desc()).limit(1))).first()
    needle = canonical_json({data[0]: data[1]})[1:-1]  # "field":"value", as the canonical payload writes it
    stmt = stmt.where(entries.c.payload.contains(needle, autoescape=True)).order_by(entries.c.sequence.desc())
    for row in (await session.execute(stmt.limit(SEAL_CANDIDATES))).all():
        with contextlib.suppress(ValueError):
            payload = json.loads(row.payload)
            if isinstance(payload, dict) and payload.get(data[0]) == data[1]:
                return row
    return None


async def last_of_type(session: AsyncSession, event_type: str) -> Any | None:
    stmt = select(entries).where(entries.c.type == event_type).order_by(entries.c.sequence.desc()).limit(1)
    return (await session.execute(stmt)).first()


# ---------------------------------------------------------------------------------------------------------
# Bulk loading (benchmarks, big test fixtures, restoring an export)


async def copy_rows(connection: AsyncConnection, rows: Iterable[tuple[Any, ...]], *, chunk: int = 10_000) -> Head:
    """Write ready-made rows (``ENTRY_COLUMNS`` order, e.g. ``entry_tuple`` of entries built with
    ``chain_next`` from the current head) with COPY, chunk by chunk, and move the head to the last one.
    For a log nobody else writes to at the time: the head is locked meanwhile, so an appender waits."""
    await connection.execute(select(head.c.sequence).where(head.c.id == 1).with_for_update())
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    source = iter(rows)
    last: tuple[Any, ...] | None = None
    # The next chunk is built in a worker thread while the server ingests the current one.
    upcoming = asyncio.ensure_future(asyncio.to_thread(_take, source, chunk))
    while batch := await upcoming:
        upcoming = asyncio.ensure_future(asyncio.to_thread(_take, source, chunk))
        await driver.copy_records_to_table("audit_entries", records=batch, columns=ENTRY_COLUMNS)
        last = batch[-1]
    if last is None:
        row = (await connection.execute(select(head.c.sequence, head.c.hash).where(head.c.id == 1))).one()
        return Head(row.sequence, row.hash)
    new = Head(last[0], last[-1])
    await connection.execute(update(head).where(head.c.id == 1).values(sequence=new.sequence, hash=new.hash))
    return new


def _take(source: Iterator[tuple[Any, ...]], count: int) -> list[tuple[Any, ...]]:
    return list(itertools.islice(source, count))
