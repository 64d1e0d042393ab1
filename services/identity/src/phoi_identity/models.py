"""The identity service's tables. The kit's tables (outbox, processed events, revocations) share the metadata.

- ``units``: the directory of organisations (QLCL, provincial departments, institutions).
- ``accounts``: one row per Keycloak user the directory knows. At most one live unit account per unit
  (partial unique index ``ux_accounts_one_unit_account``); individual accounts for QLCL officials. The
  last live ``qlcl_admin`` account is never taken out of service (constraint trigger
  ``accounts_keep_an_administrator``, migration 0004).
- ``account_holders``: the chain of people who held an account, with dates (Article 8.2 and 8.4).
- ``incidents``: access incidents (Article 8.5), reported by a signed-in user or, from the public page,
  by someone who cannot sign in (``source = 'public'``: a reference number, the reporter's unverified
  name and contact, the address the report came from — counted by the rate limits).
- ``keycloak_journal``: Keycloak user creations in flight. Written and committed *before* the user is
  created in Keycloak, removed once the account row is committed (or the creation compensated), so a
  crash in between leaves a trace that reconciliation repairs.
- ``login_event_cursor`` / ``login_events``: the high-water mark of Keycloak's login events and the
  sign-in activity read from them.
- ``login_failure_windows``: failed logins counted per account (or address) and window, so that beyond a
  burst they are published as one summary, not one event each; a row goes when its summary is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from phoi_kit.auth import Role
from phoi_kit.db import service_metadata
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = service_metadata()


UNIT_KINDS = ("qlcl", "department", "institution")
UNIT_STATUSES = ("active", "inactive")
ACCOUNT_KINDS = ("unit", "individual")
ACCOUNT_ROLES = tuple(role.value for role in Role)  # the realm roles (the migration spells them out)
ACCOUNT_STATUSES = ("pending_first_login", "active", "locked", "disabled")
INCIDENT_KINDS = ("suspected_takeover", "unreachable", "other")
INCIDENT_STATUSES = ("open", "resolved")
INCIDENT_SOURCES = ("signed_in", "public")
RESOLUTION_ACTIONS = ("reset_password", "keep_locked", "none")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UnitRow(Base):
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(_in("kind", UNIT_KINDS), name="kind"),
        CheckConstraint(_in("status", UNIT_STATUSES), name="status"),
        CheckConstraint("parent_code IS NULL OR parent_code <> code", name="not_own_parent"),
        # The issuer (QLCL) is never deactivated: its accounts administer the system (migration 0004).
        CheckConstraint("kind <> 'qlcl' OR status = 'active'", name="issuer_active"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(Text, ForeignKey("units.code"))
    head_name: Mapped[str | None] = mapped_column(Text)
    head_position: Mapped[str | None] = mapped_column(Text)
    head_contact: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(_in("kind", ACCOUNT_KINDS), name="kind"),
        CheckConstraint(_in("role", ACCOUNT_ROLES), name="role"),
        CheckConstraint(_in("status", ACCOUNT_STATUSES), name="status"),
        CheckConstraint(
            "(kind = 'unit' AND role = 'unit_account' AND unit_code IS NOT NULL)"
            " OR (kind = 'individual' AND role <> 'unit_account')",
            name="kind_role",
        ),
        # Decision 2699 Article 8.1: one (live) unit account per unit. A disabled account is history.
        Index(
            "ux_accounts_one_unit_account",
            "unit_code",
            unique=True,
            postgresql_where=text("kind = 'unit' AND status <> 'disabled'"),
        ),
        Index("ix_accounts_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    unit_code: Mapped[str | None] = mapped_column(Text, ForeignKey("units.code"), index=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    keycloak_user_id: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    holder_name: Mapped[str] = mapped_column(Text)
    holder_position: Mapped[str | None] = mapped_column(Text)
    holder_email: Mapped[str | None] = mapped_column(Text)
    holder_phone: Mapped[str | None] = mapped_column(Text)
    adopted: Mapped[bool] = mapped_column(Boolean, server_default="false")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)


class HolderRow(Base):
    __tablename__ = "account_holders"
    __table_args__ = (
        Index("ux_account_holders_current", "account_id", unique=True, postgresql_where=text("held_to IS NULL")),
        Index("ux_account_holders_seq", "account_id", "seq", unique=True),
        CheckConstraint("held_to IS NULL OR held_to >= held_from", name="dates"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    held_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    held_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(Text)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_in("kind", INCIDENT_KINDS), name="kind"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(f"resolution_action IS NULL OR {_in('resolution_action', RESOLUTION_ACTIONS)}", name="action"),
        CheckConstraint(
            "(status = 'open' AND resolved_at IS NULL) OR (status = 'resolved' AND resolved_at IS NOT NULL)",
            name="resolved",
        ),
        CheckConstraint(_in("source", INCIDENT_SOURCES), name="source"),
        CheckConstraint(
            "source <> 'public' OR (reference IS NOT NULL AND reporter_name IS NOT NULL"
            " AND reporter_contact IS NOT NULL AND reporter_address IS NOT NULL)",
            name="public_reporter",
        ),
        Index("ix_incidents_reported", "reported_at", "id"),
        Index(
            "ix_incidents_public_address",
            "reporter_address",
            "reported_at",
            postgresql_where=text("source = 'public'"),
        ),
        Index("ix_incidents_public_reported", "reported_at", postgresql_where=text("source = 'public'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    unit_code: Mapped[str | None] = mapped_column(Text, index=True)
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reported_by_user_id: Mapped[str] = mapped_column(Text)
    reported_by_username: Mapped[str] = mapped_column(Text)
    reported_by_unit: Mapped[str | None] = mapped_column(Text)
    account_locked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_action: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    source: Mapped[str] = mapped_column(Text, server_default="signed_in")
    reference: Mapped[str | None] = mapped_column(Text, unique=True)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_contact: Mapped[str | None] = mapped_column(Text)
    reporter_address: Mapped[str | None] = mapped_column(Text)


class KeycloakJournalRow(Base):
    __tablename__ = "keycloak_journal"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    operation: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LoginEventCursorRow(Base):
    __tablename__ = "login_event_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Keycloak event `time` (epoch ms) of the newest event handled, and the keys of the events handled
    # at exactly that millisecond (the next read starts at it, inclusive).
    high_water_ms: Mapped[int] = mapped_column(BigInteger)
    seen_keys: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LoginEventRow(Base):
    __tablename__ = "login_events"
    __table_args__ = (
        Index("ix_login_events_account_time", "account_id", "occurred_at"),
        Index("ix_login_events_type_time", "type", "occurred_at"),
    )

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(Text)  # the contract type, e.g. auth.login_failed.v1
    keycloak_type: Mapped[str] = mapped_column(Text)
    account_id: Mapped[uuid.UUID | None] = mapped_column()
    user_id: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class LoginFailureWindowRow(Base):
    __tablename__ = "login_failure_windows"
    __table_args__ = (
        CheckConstraint("window_end > window_start", name="window_forward"),
        CheckConstraint("burst >= 0", name="burst_not_negative"),
        CheckConstraint("failures >= 1", name="failures_positive"),
        CheckConstraint("last_failed_at >= first_counted_at", name="times_ordered"),
        Index("ix_login_failure_windows_window_end", "window_end"),
    )

    caller: Mapped[str] = mapped_column(Text, primary_key=True)  # user:<keycloak id>, address:<ip>, unknown
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Failures published one by one in this window; fixed when the row is made.
    burst: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    # The failures beyond the burst, by Keycloak error code.
    errors: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    user_id: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text)
    # When the first failure beyond the burst happened (the first failure until then), and the last one.
    first_counted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
