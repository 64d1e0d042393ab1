"""A history entry says which letter an edit added or removed in columns of its own
(``attachment_change``, ``attachment_filename``), so ``comment`` only holds what a person wrote.

Until now the service wrote ``attached <filename>`` / ``removed <filename>`` into the comment of those
edits. The upgrade moves them into the new columns and clears the comment. A person may have typed such
words too (an edit's or a step's comment), so a row is converted only where the request's own letters
bear it out: an edit's ``attached X`` where the request still has a letter named X or a later edit reads
``removed X``, and an edit's ``removed X`` where an earlier edit reads ``attached X``. The downgrade
writes the text back into the comment; an entry that also carries a person's comment (only possible
after this revision) keeps that comment, since the old columns cannot hold both.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# As the service wrote them: the verb, a space and a filename of 1..255 characters.
_CONVERT = """
WITH candidate AS (
    SELECT request_id, sequence, comment,
           CASE WHEN comment LIKE 'attached %' THEN 'added' ELSE 'removed' END AS change,
           substr(comment, strpos(comment, ' ') + 1) AS filename
    FROM request_history
    WHERE action = 'edit' AND comment ~ '^(attached|removed) .{1,255}$'
),
written_by_the_service AS (
    SELECT c.* FROM candidate c
    WHERE (c.change = 'added' AND (
              EXISTS (SELECT 1 FROM request_attachments a
                      WHERE a.request_id = c.request_id AND a.filename = c.filename)
              OR EXISTS (SELECT 1 FROM request_history later
                         WHERE later.request_id = c.request_id AND later.sequence > c.sequence
                           AND later.action = 'edit' AND later.comment = 'removed ' || c.filename)))
       OR (c.change = 'removed' AND
              EXISTS (SELECT 1 FROM request_history earlier
                      WHERE earlier.request_id = c.request_id AND earlier.sequence < c.sequence
                        AND earlier.action = 'edit' AND earlier.comment = 'attached ' || c.filename))
)
UPDATE request_history h
SET attachment_change = w.change, attachment_filename = w.filename, comment = NULL
FROM written_by_the_service w
WHERE h.request_id = w.request_id AND h.sequence = w.sequence
"""

_RESTORE = """
UPDATE request_history
SET comment = CASE attachment_change WHEN 'added' THEN 'attached ' ELSE 'removed ' END || attachment_filename
WHERE attachment_change IS NOT NULL AND comment IS NULL
"""


def upgrade() -> None:
    op.add_column("request_history", sa.Column("attachment_change", sa.Text(), nullable=True))
    op.add_column("request_history", sa.Column("attachment_filename", sa.Text(), nullable=True))
    op.execute(_CONVERT)
    op.create_check_constraint(
        op.f("ck_request_history_attachment_edit_known"),
        "request_history",
        "(attachment_change IS NULL) = (attachment_filename IS NULL) "
        "AND (attachment_change IS NULL OR attachment_change IN ('added', 'removed')) "
        "AND (attachment_filename IS NULL OR char_length(attachment_filename) BETWEEN 1 AND 255)",
    )
    op.create_check_constraint(
        op.f("ck_request_history_attachment_edit_only_on_edit"),
        "request_history",
        "attachment_change IS NULL OR action = 'edit'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_request_history_attachment_edit_only_on_edit"), "request_history", type_="check")
    op.drop_constraint(op.f("ck_request_history_attachment_edit_known"), "request_history", type_="check")
    op.execute(_RESTORE)
    op.drop_column("request_history", "attachment_filename")
    op.drop_column("request_history", "attachment_change")
