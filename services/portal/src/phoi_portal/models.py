"""The portal's tables. The kit's tables (outbox, processed events, revocations) share the metadata.

- ``portal_sessions``: one row per signed-in browser. The cookie carries a random id; the row is keyed
  by its SHA-256, so a leaked database does not give usable cookies. The user's tokens live here and
  never reach the browser (backend-for-frontend). A row is deleted on sign-out, on expiry, and when
  identity reports the account locked, disabled, handed over or its password reset.
"""

from __future__ import annotations

from phoi_kit.db import service_metadata
from sqlalchemy import Column, DateTime, Index, String, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = service_metadata()


sessions = Table(
    "portal_sessions",
    Base.metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("full_name", Text, nullable=False),
    Column("unit_code", Text, nullable=True),
    Column("roles", ARRAY(Text), nullable=False),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=True),
    Column("id_token", Text, nullable=True),
    Column("access_expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_portal_sessions_user_id", "user_id"),
)
