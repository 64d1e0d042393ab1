"""The audit service's tables. The kit's tables (outbox, processed events, revocations) share the metadata.

- ``audit_entries``: the hash-chained log, one row per recorded event, append-only (a trigger refuses
  UPDATE, DELETE and TRUNCATE — see migration 0002). ``payload`` holds the event data as the exact
  canonical JSON text that was hashed (not JSONB: JSONB rewrites numbers such as ``1e+16`` and refuses
  ``\\u0000``, which would make an intact entry fail verification or make a fact unrecordable).
- ``audit_head``: one row, the end of the chain (sequence and hash of the newest entry). Appenders lock
  it (``SELECT ... FOR UPDATE``), which serialises appends across partitions, consumers and replicas;
  it only moves forward (trigger), and verification compares the chain's end with it.
- ``audit_accounts``: who is who, learned from identity's account events, so sign-in events (which
  Keycloak reports as system actions) can name the account's unit and role. Best effort: a sign-in seen
  before its account event is recorded without a unit.
"""

from __future__ import annotations

from phoi_kit.db import service_metadata
from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, SmallInteger, Table, Text, Uuid, func
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = service_metadata()


processed_events = Base.metadata.tables["processed_events"]  # the kit's table, on the same metadata

entries = Table(
    "audit_entries",
    Base.metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("actor_user_id", Text),
    Column("actor_username", Text),
    Column("actor_role", Text),
    Column("actor_unit_code", Text),
    Column("subject", Text),
    Column("unit_code", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),  # the canonical JSON text that was hashed
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    # Every filter of GET /entries is an equality followed by the sequence order (keyset pages).
    Index("ix_audit_entries_unit_code_sequence", "unit_code", "sequence"),
    Index("ix_audit_entries_actor_user_id_sequence", "actor_user_id", "sequence"),
    Index("ix_audit_entries_actor_username_sequence", "actor_username", "sequence"),
    Index("ix_audit_entries_subject_sequence", "subject", "sequence"),
    Index("ix_audit_entries_type_sequence", "type", "sequence"),
    Index("ix_audit_entries_occurred_at", "occurred_at"),
)

head = Table(
    "audit_head",
    Base.metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("sequence", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="single_row"),
)

accounts = Table(
    "audit_accounts",
    Base.metadata,
    Column("user_id", Text, primary_key=True),
    Column("username", Text, nullable=False, index=True),
    Column("role", Text),
    Column("unit_code", Text),
)
