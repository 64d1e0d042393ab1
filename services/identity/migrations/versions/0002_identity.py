"""The directory: units, accounts, the chain of holders, access incidents, the Keycloak journal and
the sign-in activity read from Keycloak's login events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("province", sa.Text(), nullable=True),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("head_name", sa.Text(), nullable=True),
        sa.Column("head_position", sa.Text(), nullable=True),
        sa.Column("head_contact", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("kind", ("qlcl", "department", "institution")), name=op.f("ck_units_kind")),
        sa.CheckConstraint(_in("status", ("active", "inactive")), name=op.f("ck_units_status")),
        sa.CheckConstraint("parent_code IS NULL OR parent_code <> code", name=op.f("ck_units_not_own_parent")),
        sa.ForeignKeyConstraint(["parent_code"], ["units.code"], name=op.f("fk_units_parent_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )

    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("unit_code", sa.Text(), nullable=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("keycloak_user_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("holder_name", sa.Text(), nullable=False),
        sa.Column("holder_position", sa.Text(), nullable=True),
        sa.Column("holder_email", sa.Text(), nullable=True),
        sa.Column("holder_phone", sa.Text(), nullable=True),
        sa.Column("adopted", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("kind", ("unit", "individual")), name=op.f("ck_accounts_kind")),
        sa.CheckConstraint(
            _in("role", ("qlcl_admin", "qlcl_officer", "unit_account", "auditor")), name=op.f("ck_accounts_role")
        ),
        sa.CheckConstraint(
            _in("status", ("pending_first_login", "active", "locked", "disabled")), name=op.f("ck_accounts_status")
        ),
        sa.CheckConstraint(
            "(kind = 'unit' AND role = 'unit_account' AND unit_code IS NOT NULL)"
            " OR (kind = 'individual' AND role <> 'unit_account')",
            name=op.f("ck_accounts_kind_role"),
        ),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_accounts_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("keycloak_user_id", name=op.f("uq_accounts_keycloak_user_id")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
    )
    op.create_index("ix_accounts_created", "accounts", ["created_at", "id"])
    op.create_index(op.f("ix_accounts_unit_code"), "accounts", ["unit_code"])
    # Decision 2699 Article 8.1: exactly one live unit account per unit.
    op.create_index(
        "ux_accounts_one_unit_account",
        "accounts",
        ["unit_code"],
        unique=True,
        postgresql_where=sa.text("kind = 'unit' AND status <> 'disabled'"),
    )

    op.create_table(
        "account_holders",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("held_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=True),
        sa.CheckConstraint("held_to IS NULL OR held_to >= held_from", name=op.f("ck_account_holders_dates")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_holders_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_holders")),
    )
    op.create_index(
        "ux_account_holders_current",
        "account_holders",
        ["account_id"],
        unique=True,
        postgresql_where=sa.text("held_to IS NULL"),
    )
    op.create_index("ux_account_holders_seq", "account_holders", ["account_id", "seq"], unique=True)

    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("unit_code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("reported_by_user_id", sa.Text(), nullable=False),
        sa.Column("reported_by_username", sa.Text(), nullable=False),
        sa.Column("reported_by_unit", sa.Text(), nullable=True),
        sa.Column("account_locked", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolution_action", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(_in("kind", ("suspected_takeover", "unreachable", "other")), name=op.f("ck_incidents_kind")),
        sa.CheckConstraint(_in("status", ("open", "resolved")), name=op.f("ck_incidents_status")),
        sa.CheckConstraint(
            "resolution_action IS NULL OR " + _in("resolution_action", ("reset_password", "keep_locked", "none")),
            name=op.f("ck_incidents_action"),
        ),
        sa.CheckConstraint(
            "(status = 'open' AND resolved_at IS NULL) OR (status = 'resolved' AND resolved_at IS NOT NULL)",
            name=op.f("ck_incidents_resolved"),
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_incidents_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_account_id"), "incidents", ["account_id"])
    op.create_index(op.f("ix_incidents_unit_code"), "incidents", ["unit_code"])
    op.create_index("ix_incidents_reported", "incidents", ["reported_at", "id"])

    op.create_table(
        "keycloak_journal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keycloak_journal")),
    )

    op.create_table(
        "login_event_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("high_water_ms", sa.BigInteger(), nullable=False),
        sa.Column("seen_keys", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_login_event_cursor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_event_cursor")),
    )

    op.create_table(
        "login_events",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("keycloak_type", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_events")),
    )
    op.create_index("ix_login_events_account_time", "login_events", ["account_id", "occurred_at"])
    op.create_index("ix_login_events_type_time", "login_events", ["type", "occurred_at"])


def downgrade() -> None:
    op.drop_table("login_events")
    op.drop_table("login_event_cursor")
    op.drop_table("keycloak_journal")
    op.drop_table("incidents")
    op.drop_table("account_holders")
    op.drop_table("accounts")
    op.drop_table("units")
