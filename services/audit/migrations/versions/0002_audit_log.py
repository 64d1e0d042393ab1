"""The audit log: hash-chained entries (append-only), the chain head, known accounts.

Append-only is enforced in the database, not only in the code: triggers refuse UPDATE, DELETE and
TRUNCATE of ``audit_entries`` and any move of ``audit_head`` backwards. A superuser can still get past
them (``SET session_replication_role = replica``, ``ALTER TABLE ... DISABLE TRIGGER``, or just
``DROP TRIGGER``): that is what the hash chain and the published checkpoints are for.

In production the migration Job runs as the database owner and the service as a separate login role
that owns nothing, so it can neither drop nor disable the triggers. Grant it exactly::

    REVOKE ALL ON audit_entries, audit_head, audit_accounts FROM audit_app;
    GRANT SELECT, INSERT ON audit_entries TO audit_app;          -- no UPDATE, DELETE, TRUNCATE
    GRANT SELECT, UPDATE ON audit_head TO audit_app;             -- the trigger keeps it moving forward
    GRANT SELECT, INSERT, UPDATE ON audit_accounts TO audit_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, processed_events, token_revocations TO audit_app;

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

APPEND_ONLY_SQL = (
    """
CREATE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_entries is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege', HINT = 'Audit entries are never changed or removed.';
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER audit_entries_no_update_delete BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
    """
CREATE FUNCTION audit_head_forward_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.sequence > OLD.sequence OR (NEW.sequence = OLD.sequence AND NEW.hash = OLD.hash))
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_head only moves forward: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()",
    "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only()",
)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.Text()),
        sa.Column("actor_username", sa.Text()),
        sa.Column("actor_role", sa.Text()),
        sa.Column("actor_unit_code", sa.Text()),
        sa.Column("subject", sa.Text()),
        sa.Column("unit_code", sa.Text()),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_entries_event_id")),
    )
    for name, columns in (
        ("ix_audit_entries_unit_code_sequence", ["unit_code", "sequence"]),
        ("ix_audit_entries_actor_user_id_sequence", ["actor_user_id", "sequence"]),
        ("ix_audit_entries_actor_username_sequence", ["actor_username", "sequence"]),
        ("ix_audit_entries_subject_sequence", ["subject", "sequence"]),
        ("ix_audit_entries_type_sequence", ["type", "sequence"]),
        ("ix_audit_entries_occurred_at", ["occurred_at"]),
    ):
        op.create_index(name, "audit_entries", columns)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(f"INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '{GENESIS_HASH}')")  # noqa: S608
    op.create_table(
        "audit_accounts",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("role", sa.Text()),
        sa.Column("unit_code", sa.Text()),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_audit_accounts")),
    )
    op.create_index(op.f("ix_audit_accounts_username"), "audit_accounts", ["username"])
    for statement in APPEND_ONLY_SQL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_accounts")
    op.drop_table("audit_head")
    op.drop_table("audit_entries")
    op.execute("DROP FUNCTION IF EXISTS audit_head_forward_only()")
    op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
