"""Access reports from the public page (Article 8.5: someone who cannot sign in reports to QLCL):
how an incident arrived, the reference number given to the reporter, and what the reporter said.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC = sa.text("source = 'public'")


def upgrade() -> None:
    op.add_column("incidents", sa.Column("source", sa.Text(), server_default="signed_in", nullable=False))
    op.add_column("incidents", sa.Column("reference", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("reporter_name", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("reporter_contact", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("reporter_address", sa.Text(), nullable=True))
    op.create_check_constraint(op.f("ck_incidents_source"), "incidents", "source IN ('signed_in', 'public')")
    op.create_check_constraint(
        op.f("ck_incidents_public_reporter"),
        "incidents",
        "source <> 'public' OR (reference IS NOT NULL AND reporter_name IS NOT NULL"
        " AND reporter_contact IS NOT NULL AND reporter_address IS NOT NULL)",
    )
    op.create_unique_constraint(op.f("uq_incidents_reference"), "incidents", ["reference"])
    # The rate limits count public reports per address, and in all, over the last hour.
    op.create_index(
        "ix_incidents_public_address", "incidents", ["reporter_address", "reported_at"], postgresql_where=PUBLIC
    )
    op.create_index("ix_incidents_public_reported", "incidents", ["reported_at"], postgresql_where=PUBLIC)


def downgrade() -> None:
    op.drop_index("ix_incidents_public_reported", table_name="incidents")
    op.drop_index("ix_incidents_public_address", table_name="incidents")
    op.drop_constraint(op.f("uq_incidents_reference"), "incidents", type_="unique")
    op.drop_constraint(op.f("ck_incidents_public_reporter"), "incidents", type_="check")
    op.drop_constraint(op.f("ck_incidents_source"), "incidents", type_="check")
    for column in ("reporter_address", "reporter_contact", "reporter_name", "reference", "source"):
        op.drop_column("incidents", column)
