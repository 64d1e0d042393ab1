"""The form-type replica speaks inventory's names: ``name`` becomes ``name_vi``; ``name_en`` and ``digits``
are added, from the form-type events that now carry them (null for a form type whose last event did not).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("form_types", "name", new_column_name="name_vi")
    op.add_column("form_types", sa.Column("name_en", sa.Text(), nullable=True))
    op.add_column("form_types", sa.Column("digits", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("form_types", "digits")
    op.drop_column("form_types", "name_en")
    op.alter_column("form_types", "name_vi", new_column_name="name")
