"""Turning events into audit entries.

Every event on every topic becomes one entry (see ``handlers.py``). What is recorded:

- ``event_id``, ``type``, ``subject`` and ``occurred_at`` are the envelope's ``id``, ``type``,
  ``subject`` and ``time``; ``payload`` is the envelope's ``data``, unchanged;
- ``actor`` is the envelope's actor, except for sign-in events (``auth.*``), which identity relays
  from Keycloak as system actions: their actor is the account named in the data (user id, username)
  with the role and unit this service learned from identity's ``account.*`` events;
- ``unit_code`` (the unit concerned, used to scope a unit account's reads) is, in order:
  ``data.unit_code`` (requests, allocations, stock, accounts, incidents, access refusals); ``data.code``
  for ``unit.*`` events (the unit itself); the actor's unit (so a unit's own actions are about it, and
  QLCL's are about QLCL); else none (system facts such as checkpoints).

Events this service publishes itself (``data.exported.v1``, ``audit.checkpoint.v1``) are recorded at
once, in the transaction that publishes them (``record_own``), and marked processed, so the copy that
comes back from the bus adds nothing — the export is on record even when the broker is down.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

from phoi_contracts.envelope import Envelope
from phoi_kit.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_audit.adapters import entries as repo
from phoi_audit.domain import AuditActor, AuditEntry, ChainHead, InvalidAuditEntry, chain_next

ACCOUNT_EVENT_PREFIX = "account."
SIGN_IN_EVENT_PREFIX = "auth."
UNIT_EVENT_PREFIX = "unit."


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def unit_concerned(event_type: str, data: Mapping[str, Any], actor: AuditActor) -> str | None:
    """The unit an event is about (see the module docstring for the rules)."""
    if unit := _text(data.get("unit_code")):
        return unit
    if event_type.startswith(UNIT_EVENT_PREFIX) and (code := _text(data.get("code"))):
        return code
    return actor.unit_code


def _actor(envelope: Envelope, account: repo.KnownAccount | None) -> AuditActor:
    a = envelope.actor
    actor = AuditActor(user_id=a.user_id, username=a.username, role=a.role, unit_code=a.unit_code)
    if not envelope.type.startswith(SIGN_IN_EVENT_PREFIX) or a.user_id is not None:
        return actor
    data = envelope.data
    return AuditActor(
        user_id=_text(data.get("user_id")) or (account.user_id if account else None),
        username=_text(data.get("username")) or (account.username if account else None),
        role=account.role if account else None,
        unit_code=account.unit_code if account else None,
    )


def build_entry(envelope: Envelope, previous: ChainHead, account: repo.KnownAccount | None) -> AuditEntry:
    """The entry for ``envelope`` after ``previous``. Data that cannot be canonicalised as it is (a lone
    surrogate, NaN) is kept as a faithful text form: an audit log records the fact rather than refuse it."""
    try:
        return _chain(envelope, previous, account, envelope.data)
    except InvalidAuditEntry:
        text = json.dumps(envelope.data, ensure_ascii=True, default=repr)
        return _chain(envelope, previous, account, {"unrecordable_payload": text})


def _chain(
    envelope: Envelope, previous: ChainHead, account: repo.KnownAccount | None, payload: Mapping[str, Any]
) -> AuditEntry:
    actor = _actor(envelope, account)
    return chain_next(
        previous if previous.sequence > 0 else None,
        event_id=envelope.id,
        type=envelope.type,
        actor=actor,
        subject=envelope.subject,
        unit_code=unit_concerned(envelope.type, envelope.data, actor),
        occurred_at=envelope.time,
        payload=payload,
    )


def pending_entry(envelope: Envelope) -> repo.Pending:
    """What to append for ``envelope``: the entry builder, plus the account it teaches or asks about."""
    data = envelope.data
    learns = asks = None
    if envelope.type.startswith(ACCOUNT_EVENT_PREFIX):
        user_id, username = _text(data.get("user_id")), _text(data.get("username"))
        if user_id and username:
            learns = repo.KnownAccount(user_id, username, _text(data.get("role")), _text(data.get("unit_code")))
    elif envelope.type.startswith(SIGN_IN_EVENT_PREFIX) and envelope.actor.user_id is None:
        asks = (_text(data.get("user_id")), _text(data.get("username")))
    return repo.Pending(event_id=envelope.id, build=partial(build_entry, envelope), learns=learns, asks=asks)


async def record(session: AsyncSession, envelope: Envelope) -> bool:
    """Queue the entry for ``envelope``; it is chained and written when the transaction commits (an
    event id already in the log is skipped then). False if the id is already queued in this transaction."""
    return repo.append(session, pending_entry(envelope))


async def record_own(uow: UnitOfWork, envelope: Envelope, *, topic: str) -> bool:
    """Record an event this service just published (``uow.publish``) in the same transaction."""
    await repo.claim_event(uow.session, event_id=envelope.id, type=envelope.type, topic=topic)
    return await record(uow.session, envelope)
