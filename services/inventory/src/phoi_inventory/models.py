"""The inventory service's tables. The kit's tables (outbox, processed events, revocations) share the metadata.

Serials are stored as ranges, never one row per blank:

- ``blocks``: the current state of every printed serial, as maximal runs ``(form_type, int8range serials,
  state, holder_unit, allocation_id)``. The exclusion constraint ``EXCLUDE USING gist (form_type WITH =,
  serials WITH &&)`` (btree_gist) makes it impossible for a serial to be in two blocks.
- ``ledger``: the append-only movement ledger (a trigger refuses UPDATE, DELETE and TRUNCATE). Every
  change of ``blocks`` appends the lines that explain it; ``domain.replay_ledger`` rebuilds ``blocks``
  from it.
- ``print_batches``: every range ever printed, with its own exclusion constraint, so reused serials are
  refused even after the blanks were destroyed.
- ``stock_balances`` (on-hand balance per custodian and form type, written on ledger lines) and
  ``stock_state_counts`` (blanks per form type and state, for the ``inventory_blanks`` gauge) are
  maintained in the same transaction as the blocks.
- ``allocations`` / ``allocation_lines``: one allocation per (request, approval revision); lines map the
  domain's ``line_no`` to the request's line id and keep the allocated ranges (``[[first, last], ...]``).
- ``register_entries``: register entry numbers (số vào sổ gốc) used per unit, form type and year, with an
  exclusion constraint so an entry number is never used twice.

Range columns hold canonical ``[lower, upper)`` int8ranges: ``SerialRange(first, last)`` is stored as
``[first, last + 1)``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from phoi_kit.db import service_metadata
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INT8RANGE, JSONB, ExcludeConstraint, Range
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = service_metadata()


BLOCK_STATES = ("central", "allocated", "at_unit", "used", "spoiled", "lost", "destroyed", "returned")
ALLOCATION_STATUSES = ("waiting_for_stock", "completed", "received", "released", "superseded", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now() -> Any:
    return func.now()


class FormTypeRow(Base):
    __tablename__ = "form_types"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    serial_prefix: Mapped[str] = mapped_column(Text)
    digits: Mapped[int] = mapped_column(Integer)
    template_version: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

    __table_args__ = (
        CheckConstraint("digits BETWEEN 1 AND 18", name="digits_range"),
        CheckConstraint("version >= 1", name="version_positive"),
    )


class PrintBatchRow(Base):
    __tablename__ = "print_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    form_type: Mapped[str] = mapped_column(Text, ForeignKey("form_types.code"))
    serials: Mapped[Range[int]] = mapped_column(INT8RANGE)
    printer: Mapped[str] = mapped_column(Text)
    contract_ref: Mapped[str] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

    __table_args__ = (
        ExcludeConstraint(("form_type", "="), ("serials", "&&"), using="gist", name="ex_print_batches_serials"),
        CheckConstraint("NOT isempty(serials) AND lower(serials) >= 1", name="serials_valid"),
        Index("ix_print_batches_created", "created_at", "id"),
    )


class BlockRow(Base):
    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    form_type: Mapped[str] = mapped_column(Text, ForeignKey("form_types.code"))
    serials: Mapped[Range[int]] = mapped_column(INT8RANGE)
    state: Mapped[str] = mapped_column(Text)
    holder_unit: Mapped[str | None] = mapped_column(Text)
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        ExcludeConstraint(("form_type", "="), ("serials", "&&"), using="gist", name="ex_blocks_serials"),
        CheckConstraint("NOT isempty(serials) AND lower(serials) >= 0", name="serials_valid"),
        CheckConstraint(_in("state", BLOCK_STATES), name="state_known"),
        CheckConstraint("(allocation_id IS NOT NULL) = (state = 'allocated')", name="allocation_iff_allocated"),
        CheckConstraint("state <> 'central' OR holder_unit IS NULL", name="central_has_no_holder"),
        CheckConstraint(
            "state NOT IN ('allocated', 'at_unit', 'used', 'returned') OR holder_unit IS NOT NULL",
            name="holder_required",
        ),
        Index("ix_blocks_central", "form_type", text("lower(serials)"), postgresql_where=text("state = 'central'")),
        Index("ix_blocks_holder", "holder_unit", "form_type", postgresql_where=text("holder_unit IS NOT NULL")),
        Index("ix_blocks_allocation", "allocation_id", postgresql_where=text("allocation_id IS NOT NULL")),
    )


class LedgerRow(Base):
    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    operation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    form_type: Mapped[str] = mapped_column(Text, ForeignKey("form_types.code"))
    serials: Mapped[Range[int]] = mapped_column(INT8RANGE)
    from_state: Mapped[str | None] = mapped_column(Text)
    to_state: Mapped[str] = mapped_column(Text)
    from_holder: Mapped[str | None] = mapped_column(Text)
    to_holder: Mapped[str | None] = mapped_column(Text)
    unit_code: Mapped[str | None] = mapped_column(Text, Computed("COALESCE(to_holder, from_holder)", persisted=True))
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    document_ref: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    register_entry_first: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    balance_after: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("NOT isempty(serials) AND lower(serials) >= 0", name="serials_valid"),
        CheckConstraint(_in("to_state", BLOCK_STATES), name="to_state_known"),
        CheckConstraint(f"from_state IS NULL OR {_in('from_state', BLOCK_STATES)}", name="from_state_known"),
        Index("ix_ledger_serials", "form_type", "serials", postgresql_using="gist"),
        Index("ix_ledger_unit", "unit_code", "form_type", "id"),
        Index("ix_ledger_operation", "operation_id"),
    )


class StockBalanceRow(Base):
    """On-hand balance per custodian and form type; ``holder_key`` is ``''`` for QLCL's central stock."""

    __tablename__ = "stock_balances"

    form_type: Mapped[str] = mapped_column(Text, primary_key=True)
    holder_key: Mapped[str] = mapped_column(Text, primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)


class StockStateCountRow(Base):
    __tablename__ = "stock_state_counts"

    form_type: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("count >= 0", name="count_not_negative"),)


class AllocationRow(Base):
    __tablename__ = "allocations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False), unique=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    approval_revision: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("request_id", "approval_revision", name="uq_allocations_request_revision"),
        CheckConstraint(_in("status", ALLOCATION_STATUSES), name="status_known"),
        CheckConstraint("approval_revision >= 1", name="revision_positive"),
        Index("ix_allocations_waiting", "seq", postgresql_where=text("status = 'waiting_for_stock'")),
        Index("ix_allocations_unit", "unit_code", "seq"),
    )


class AllocationLineRow(Base):
    __tablename__ = "allocation_lines"

    allocation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("allocations.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    form_type: Mapped[str] = mapped_column(Text)
    requested_quantity: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    ranges: Mapped[list[list[int]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    available_quantity: Mapped[int | None] = mapped_column(Integer)
    accepted_quantity: Mapped[int | None] = mapped_column(Integer)
    rejected_ranges: Mapped[list[list[int]] | None] = mapped_column(JSONB)
    discrepancy_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("allocation_id", "line_id", name="uq_allocation_lines_line"),
        CheckConstraint("line_no >= 1", name="line_no_positive"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )


class RegisterEntryRow(Base):
    """Register entry numbers used for blanks (consecutive per unit, form type and year)."""

    __tablename__ = "register_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    unit_code: Mapped[str] = mapped_column(Text)
    form_type: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer)
    entries: Mapped[Range[int]] = mapped_column(INT8RANGE)
    operation_id: Mapped[uuid.UUID] = mapped_column(Uuid)

    __table_args__ = (
        ExcludeConstraint(
            ("unit_code", "="),
            ("form_type", "="),
            ("year", "="),
            ("entries", "&&"),
            using="gist",
            name="ex_register_entries",
        ),
    )
