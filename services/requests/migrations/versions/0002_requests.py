"""The requests service's tables: requests, lines, allocated ranges, attachments, contents, history,
and the replicas of form types (from inventory) and units (from identity).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = (
    "draft",
    "submitted",
    "returned",
    "approved",
    "rejected",
    "cancelled",
    "waiting_for_stock",
    "allocated",
    "received",
    "closed",
)
ACTIONS = (
    "create",
    "edit",
    "submit",
    "return",
    "approve",
    "reject",
    "cancel",
    "mark_waiting_for_stock",
    "mark_allocated",
    "confirm_receipt",
    "close",
)
ROLES = ("qlcl_admin", "qlcl_officer", "unit_account", "auditor", "system")
CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_ATTACHMENT = 10 * 1024 * 1024


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("academic_year", sa.Text(), nullable=False),
        sa.Column("exam_session", sa.Text()),
        sa.Column("justification", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approval_revision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("allocation_id", sa.Uuid()),
        _ts("outcome_as_of"),
        sa.Column("received_on", sa.Date()),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.CheckConstraint(_in("status", STATUSES), name="status_known"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("approval_revision >= 0", name="approval_revision_not_negative"),
        sa.CheckConstraint("academic_year ~ '^[0-9]{4}-[0-9]{4}$'", name="academic_year_format"),
    )
    op.create_index("ix_requests_created", "requests", ["created_at", "id"])
    op.create_index("ix_requests_unit_created", "requests", ["unit_code", "created_at"])
    op.create_index("ix_requests_status", "requests", ["status"])
    op.create_index("ix_requests_academic_year", "requests", ["academic_year"])

    op.create_table(
        "request_lines",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("form_type_code", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("justification", sa.Text()),
        sa.Column("expected_graduates", sa.Integer()),
        sa.Column("approved_quantity", sa.Integer()),
        sa.Column("shortfall", sa.Integer()),
        sa.Column("accepted_quantity", sa.Integer()),
        sa.Column("discrepancy_note", sa.Text()),
        sa.Column("rejected_ranges", postgresql.JSONB()),
        sa.UniqueConstraint("request_id", "form_type_code", name="uq_request_lines_form_type"),
        sa.UniqueConstraint("request_id", "position", name="uq_request_lines_position"),
        sa.UniqueConstraint("request_id", "id", name="uq_request_lines_request_line"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("expected_graduates IS NULL OR expected_graduates >= 0", name="graduates_not_negative"),
        sa.CheckConstraint(
            "approved_quantity IS NULL OR approved_quantity BETWEEN 0 AND quantity", name="approved_within_requested"
        ),
        sa.CheckConstraint("shortfall IS NULL OR shortfall >= 0", name="shortfall_not_negative"),
        sa.CheckConstraint("accepted_quantity IS NULL OR accepted_quantity >= 0", name="accepted_not_negative"),
    )
    op.create_index("ix_request_lines_form_type", "request_lines", ["form_type_code", "request_id"])

    op.create_table(
        "request_allocated_ranges",
        sa.Column("request_id", sa.Uuid(), primary_key=True),
        sa.Column("line_id", sa.Uuid(), primary_key=True),
        sa.Column("first", sa.BigInteger(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id", "line_id"],
            ["request_lines.request_id", "request_lines.id"],
            ondelete="CASCADE",
            name="fk_request_allocated_ranges_line",
        ),
        sa.CheckConstraint("first >= 0 AND first <= last", name="range_ordered"),
    )

    op.create_table(
        "request_attachments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text()),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"size_bytes > 0 AND size_bytes <= {MAX_ATTACHMENT}", name="size_within_limit"),
        sa.CheckConstraint(_in("content_type", CONTENT_TYPES), name="content_type_allowed"),
    )
    op.create_index("ix_request_attachments_request", "request_attachments", ["request_id", "position"])

    op.create_table(
        "attachment_contents",
        sa.Column("attachment_id", sa.Uuid(), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            f"octet_length(content) > 0 AND octet_length(content) <= {MAX_ATTACHMENT}", name="content_within_limit"
        ),
    )

    op.create_table(
        "request_history",
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text()),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.Text(), nullable=False),
        sa.Column("actor_username", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_unit_code", sa.Text()),
        _ts("at", nullable=False),
        sa.Column("comment", sa.Text()),
        sa.CheckConstraint("sequence >= 1", name="sequence_positive"),
        sa.CheckConstraint(_in("action", ACTIONS), name="action_known"),
        sa.CheckConstraint(_in("to_status", STATUSES), name="to_status_known"),
        sa.CheckConstraint(f"from_status IS NULL OR {_in('from_status', STATUSES)}", name="from_status_known"),
        sa.CheckConstraint(_in("actor_role", ROLES), name="actor_role_known"),
    )

    op.create_table(
        "form_types",
        sa.Column("form_type_id", sa.Uuid(), primary_key=True),
        sa.Column("code", sa.Text(), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("serial_prefix", sa.Text(), nullable=False),
        sa.Column("template_version", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("as_of", nullable=False),
    )

    op.create_table(
        "units",
        sa.Column("unit_id", sa.Uuid(), primary_key=True),
        sa.Column("code", sa.Text(), nullable=False, unique=True),
        sa.Column("name", sa.Text()),
        sa.Column("kind", sa.Text()),
        sa.Column("parent_code", sa.Text()),
        sa.Column("province", sa.Text()),
        _ts("details_as_of"),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("status_as_of"),
    )


def downgrade() -> None:
    for table in (
        "units",
        "form_types",
        "request_history",
        "attachment_contents",
        "request_attachments",
        "request_allocated_ranges",
        "request_lines",
        "requests",
    ):
        op.drop_table(table)
