"""No single change may take the system's administration away (issue 14), held in the database too:

- ``ck_units_issuer_active``: a unit of kind ``qlcl`` (the issuer, whose accounts are the administrators
  and officers) is always active. Added ``NOT VALID`` and validated only when no issuer is inactive
  already: a directory left with an inactive issuer keeps working, and the row can only become active
  (``POST /units/QLCL/reactivate``).
- ``accounts_keep_an_administrator``: a constraint trigger refusing any change (or deletion) that takes
  the last live ``qlcl_admin`` account (``pending_first_login`` or ``active``) out of service. It takes
  the same transaction-scoped advisory lock as the service's own check, then counts, so two
  transactions taking two administrators away at once are serialised: the second counts after the
  first committed, and is refused.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISSUER_ACTIVE = "kind <> 'qlcl' OR status = 'active'"

UPGRADE = [
    f"ALTER TABLE units ADD CONSTRAINT ck_units_issuer_active CHECK ({ISSUER_ACTIVE}) NOT VALID",
    """
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM units WHERE NOT (kind <> 'qlcl' OR status = 'active')) THEN
            ALTER TABLE units VALIDATE CONSTRAINT ck_units_issuer_active;
        END IF;
    END $$
    """,
    """
    CREATE FUNCTION accounts_keep_an_administrator() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.role = 'qlcl_admin' AND NEW.status IN ('pending_first_login', 'active') THEN
            RETURN NULL;
        END IF;
        -- The key of phoi_identity.adapters.accounts.ADMINISTRATORS_LOCK; each statement below reads
        -- afresh (READ COMMITTED), so it sees what a transaction that held the lock committed.
        PERFORM pg_advisory_xact_lock(hashtext('phoi_identity.administrators'));
        IF NOT EXISTS (
            SELECT 1 FROM accounts WHERE role = 'qlcl_admin' AND status IN ('pending_first_login', 'active')
        ) THEN
            RAISE EXCEPTION 'accounts_keep_an_administrator: the last live qlcl_admin account stays in service'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_keep_an_administrator';
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER accounts_keep_an_administrator
        AFTER UPDATE OR DELETE ON accounts
        DEFERRABLE INITIALLY IMMEDIATE
        FOR EACH ROW
        WHEN (OLD.role = 'qlcl_admin' AND OLD.status IN ('pending_first_login', 'active'))
        EXECUTE FUNCTION accounts_keep_an_administrator()
    """,
]

DOWNGRADE = [
    "DROP TRIGGER IF EXISTS accounts_keep_an_administrator ON accounts",
    "DROP FUNCTION IF EXISTS accounts_keep_an_administrator()",
    "ALTER TABLE units DROP CONSTRAINT IF EXISTS ck_units_issuer_active",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
