"""Failed logins counted per account (or address) and window: beyond a burst, one summary
(``auth.login_failed_summary.v1``) instead of one event each.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure_windows",
        sa.Column("caller", sa.Text, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("burst", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("errors", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("user_id", sa.Text),
        sa.Column("username", sa.Text),
        sa.Column("ip_address", sa.Text),
        sa.Column("client_id", sa.Text),
        sa.Column("first_counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "window_start", name="pk_login_failure_windows"),
        sa.CheckConstraint("window_end > window_start", name="ck_login_failure_windows_window_forward"),
        sa.CheckConstraint("burst >= 0", name="ck_login_failure_windows_burst_not_negative"),
        sa.CheckConstraint("failures >= 1", name="ck_login_failure_windows_failures_positive"),
        sa.CheckConstraint("last_failed_at >= first_counted_at", name="ck_login_failure_windows_times_ordered"),
    )
    op.create_index("ix_login_failure_windows_window_end", "login_failure_windows", ["window_end"])


def downgrade() -> None:
    op.drop_table("login_failure_windows")
