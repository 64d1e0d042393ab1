"""The verification of an attachment's digital signatures, kept with it: the overall result as a column
(checked against the five results) and what was found, signature by signature, as JSON. Both are null
for files attached before verification existed; the result is always the report's own.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_RESULTS = "'valid', 'untrusted', 'modified', 'revoked', 'unsigned'"


def upgrade() -> None:
    op.add_column("request_attachments", sa.Column("signature_result", sa.Text(), nullable=True))
    op.add_column("request_attachments", sa.Column("signature_check", postgresql.JSONB(), nullable=True))
    op.create_check_constraint("signature_result_known", "request_attachments", f"signature_result IN ({_RESULTS})")
    op.create_check_constraint(
        "signature_check_matches_result",
        "request_attachments",
        "(signature_result IS NULL AND signature_check IS NULL) "
        "OR (signature_check ->> 'result') IS NOT DISTINCT FROM signature_result",
    )


def downgrade() -> None:
    op.drop_constraint("ck_request_attachments_signature_check_matches_result", "request_attachments")
    op.drop_constraint("ck_request_attachments_signature_result_known", "request_attachments")
    op.drop_column("request_attachments", "signature_check")
    op.drop_column("request_attachments", "signature_result")
