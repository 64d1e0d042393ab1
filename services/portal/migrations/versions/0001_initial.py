"""The kit's tables: outbox, processed events, token revocations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from phoi_kit.migrations import create_kit_schema, drop_kit_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kit_schema()


def downgrade() -> None:
    drop_kit_schema()
