"""The kit's refused-call counts (``access_refusals``, see ``phoi_kit.refusals``): a caller's refusals
beyond a burst are counted per window and summarised, not published one by one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10
"""

from phoi_kit.migrations import create_access_refusals, drop_access_refusals

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_refusals()


def downgrade() -> None:
    drop_access_refusals()
