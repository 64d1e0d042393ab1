"""The requests service's tables. The kit's tables (outbox, processed events, revocations) share the metadata.

The Request aggregate is stored across `requests` (the root, with `version` for optimistic
concurrency), `request_lines`, `request_allocated_ranges` (inventory's serial ranges per line),
`request_attachments` (metadata only) and `request_history` (append-only). Attachment bytes live in
`attachment_contents`, a separate table so that listing requests never reads a blob; the table is the
database implementation of `adapters.attachments.AttachmentStore`.

`form_types` and `units` are local replicas fed by inventory's and identity's events. Each keeps the
envelope time of the newest event applied (`*_as_of`) so an older event arriving late changes nothing.
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
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from phoi_requests.domain import Action, AttachmentChange, Role, SignatureResult, Status
from phoi_requests.domain.model import MAX_FILENAME_LENGTH
from phoi_requests.settings import ATTACHMENT_HARD_LIMIT


class Base(DeclarativeBase):
    metadata = service_metadata()


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


STATUSES = [s.value for s in Status]
ACTIONS = [a.value for a in Action]
ROLES = [r.value for r in Role]
ATTACHMENT_CHANGES = [c.value for c in AttachmentChange]
# Both or neither (each term is true or false, never null: a null would let a row through).
ATTACHMENT_EDIT_KNOWN = (
    "(attachment_change IS NULL) = (attachment_filename IS NULL) "
    f"AND (attachment_change IS NULL OR {_in('attachment_change', ATTACHMENT_CHANGES)}) "
    f"AND (attachment_filename IS NULL OR char_length(attachment_filename) BETWEEN 1 AND {MAX_FILENAME_LENGTH})"
)
SIGNATURE_RESULTS = [r.value for r in SignatureResult]


class RequestRow(Base):
    __tablename__ = "requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    unit_code: Mapped[str] = mapped_column(Text)
    academic_year: Mapped[str] = mapped_column(Text)
    exam_session: Mapped[str | None] = mapped_column(Text)
    justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    approval_revision: Mapped[int] = mapped_column(Integer, server_default="0")
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    outcome_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("approval_revision >= 0", name="approval_revision_not_negative"),
        CheckConstraint("academic_year ~ '^[0-9]{4}-[0-9]{4}$'", name="academic_year_format"),
        Index("ix_requests_created", "created_at", "id"),
        Index("ix_requests_unit_created", "unit_code", "created_at"),
        Index("ix_requests_status", "status"),
        Index("ix_requests_academic_year", "academic_year"),
    )


class LineRow(Base):
    __tablename__ = "request_lines"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("requests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    form_type_code: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    justification: Mapped[str | None] = mapped_column(Text)
    expected_graduates: Mapped[int | None] = mapped_column(Integer)
    approved_quantity: Mapped[int | None] = mapped_column(Integer)
    shortfall: Mapped[int | None] = mapped_column(Integer)
    accepted_quantity: Mapped[int | None] = mapped_column(Integer)
    discrepancy_note: Mapped[str | None] = mapped_column(Text)
    # [{"first": n, "last": m}, ...] or NULL: serials the unit did not accept on receipt.
    rejected_ranges: Mapped[list[dict[str, int]] | None] = mapped_column(JSONB(none_as_null=True))

    __table_args__ = (
        UniqueConstraint("request_id", "form_type_code", name="uq_request_lines_form_type"),
        UniqueConstraint("request_id", "position", name="uq_request_lines_position"),
        # The pair (request_id, id) is the target of the allocated ranges' foreign key.
        UniqueConstraint("request_id", "id", name="uq_request_lines_request_line"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("expected_graduates IS NULL OR expected_graduates >= 0", name="graduates_not_negative"),
        CheckConstraint(
            "approved_quantity IS NULL OR approved_quantity BETWEEN 0 AND quantity", name="approved_within_requested"
        ),
        CheckConstraint("shortfall IS NULL OR shortfall >= 0", name="shortfall_not_negative"),
        CheckConstraint("accepted_quantity IS NULL OR accepted_quantity >= 0", name="accepted_not_negative"),
        Index("ix_request_lines_form_type", "form_type_code", "request_id"),
    )


class RangeRow(Base):
    """An inclusive range of serials inventory allocated to one line (a range, never one row per blank)."""

    __tablename__ = "request_allocated_ranges"

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    line_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    first: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        ForeignKeyConstraint(
            ["request_id", "line_id"],
            ["request_lines.request_id", "request_lines.id"],
            ondelete="CASCADE",
            name="fk_request_allocated_ranges_line",
        ),
        CheckConstraint("first >= 0 AND first <= last", name="range_ordered"),
    )


class AttachmentRow(Base):
    """Attachment metadata; the bytes are in the attachment store."""

    __tablename__ = "request_attachments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("requests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The verification of its digital signatures (domain.signatures.LetterCheck); null before it existed.
    signature_result: Mapped[str | None] = mapped_column(Text)
    signature_check: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))

    __table_args__ = (
        CheckConstraint(f"size_bytes > 0 AND size_bytes <= {ATTACHMENT_HARD_LIMIT}", name="size_within_limit"),
        CheckConstraint(
            _in("content_type", ["application/pdf", "image/jpeg", "image/png"]), name="content_type_allowed"
        ),
        CheckConstraint(_in("signature_result", SIGNATURE_RESULTS), name="signature_result_known"),
        CheckConstraint(
            "(signature_result IS NULL AND signature_check IS NULL) "
            "OR (signature_check ->> 'result') IS NOT DISTINCT FROM signature_result",
            name="signature_check_matches_result",
        ),
        Index("ix_request_attachments_request", "request_id", "position"),
    )


class AttachmentContentRow(Base):
    """The database attachment store: one row of bytes per attachment id."""

    __tablename__ = "attachment_contents"

    attachment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            f"octet_length(content) > 0 AND octet_length(content) <= {ATTACHMENT_HARD_LIMIT}",
            name="content_within_limit",
        ),
    )


class HistoryRow(Base):
    """Every applied action: who, when, from which status to which, and why. Append-only."""

    __tablename__ = "request_history"

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[str] = mapped_column(Text)
    actor_username: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str] = mapped_column(Text)
    actor_unit_code: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)  # only what a person wrote
    # the letter an edit added or removed; both null for any other entry
    attachment_change: Mapped[str | None] = mapped_column(Text)
    attachment_filename: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint(_in("action", ACTIONS), name="action_known"),
        CheckConstraint(_in("to_status", STATUSES), name="to_status_known"),
        CheckConstraint(f"from_status IS NULL OR {_in('from_status', STATUSES)}", name="from_status_known"),
        CheckConstraint(_in("actor_role", ROLES), name="actor_role_known"),
        CheckConstraint(ATTACHMENT_EDIT_KNOWN, name="attachment_edit_known"),
        CheckConstraint("attachment_change IS NULL OR action = 'edit'", name="attachment_edit_only_on_edit"),
    )


class FormTypeRow(Base):
    """Replica of inventory's form types (form_type.created / form_type.updated)."""

    __tablename__ = "form_types"

    form_type_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)  # null until an event carried it
    serial_prefix: Mapped[str] = mapped_column(Text)
    digits: Mapped[int | None] = mapped_column(Integer)  # null until an event carried it
    template_version: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UnitRow(Base):
    """Replica of identity's units (unit.created / updated / deactivated / reactivated).

    The details and the active flag are ordered separately: a deactivation that arrives before the
    unit's creation still counts, and creates a row whose details are filled in later."""

    __tablename__ = "units"

    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(Text)
    details_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean)
    status_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
