"""The migrations build exactly the tables the models describe, and the database enforces the invariants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from phoi_kit.db import Database
from phoi_kit.migrations import upgrade
from phoi_requests.migrate import MIGRATIONS
from phoi_requests.models import Base
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError


@pytest.fixture(scope="module")
def migrated_url(pg_server: Any) -> str:
    url: str = pg_server.create_database(f"req_mig_{uuid.uuid4().hex[:8]}")
    upgrade(MIGRATIONS, url)
    return url


@pytest.fixture
async def migrated(migrated_url: str) -> AsyncIterator[Database]:
    db = Database(migrated_url)
    yield db
    await db.dispose()


KIT_TABLES = {"outbox", "processed_events", "token_revocations"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Compare the service's own tables. The kit's tables come from the kit's revision 0001, whose
    unique constraint on outbox.event_id is named by PostgreSQL's default, not the naming convention
    (a kit matter, reported to the lead)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", name) not in KIT_TABLES


async def test_migrations_match_the_models(migrated: Database) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _ours})
        return list(compare_metadata(context, Base.metadata))

    async with migrated.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


NOW = datetime(2025, 6, 2, tzinfo=UTC)
REQUEST = (
    "INSERT INTO requests (id, unit_code, academic_year, status, version, created_at, updated_at) "
    "VALUES (:rid, 'SGD-HN', '2024-2025', :status, :version, :now, :now)"
)
LINE = (
    "INSERT INTO request_lines (id, request_id, position, form_type_code, quantity, approved_quantity) "
    "VALUES (:line, :rid, :position, 'F', :quantity, :approved)"
)
RANGE = "INSERT INTO request_allocated_ranges (request_id, line_id, first, last) VALUES (:rid, :line, :first, :last)"
ATTACHMENT = (
    "INSERT INTO request_attachments (id, request_id, position, filename, content_type, size_bytes) "
    "VALUES (:attachment, :rid, 0, :filename, :content_type, :size)"
)
_HISTORY_INTO = (
    "INSERT INTO request_history (request_id, sequence, action, from_status, to_status, actor_user_id, "
    "actor_username, actor_role, actor_unit_code, at, comment"
)
_HISTORY_VALUES = (
    "VALUES (:rid, :sequence, :action, 'draft', 'draft', 'u-1', 'sgd-hn', 'unit_account', 'SGD-HN', :now, :comment"
)
HISTORY_0003 = f"{_HISTORY_INTO}) {_HISTORY_VALUES})"  # before revision 0004
HISTORY = f"{_HISTORY_INTO}, attachment_change, attachment_filename) {_HISTORY_VALUES}, :change, :history_filename)"
GOOD = {"status": "draft", "version": 1, "position": 0, "quantity": 12, "approved": None, "first": 1, "last": 2}
GOOD_ATTACHMENT = {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}
GOOD_HISTORY = {"sequence": 2, "action": "edit", "comment": None, "change": "added", "history_filename": "a.pdf"}


@pytest.mark.parametrize(
    ("setup", "statement", "bad", "constraint"),
    [
        ([], REQUEST, {"status": "lost"}, "ck_requests_status_known"),
        ([REQUEST], HISTORY, {"change": "renamed"}, "ck_request_history_attachment_edit_known"),
        ([REQUEST], HISTORY, {"history_filename": None}, "ck_request_history_attachment_edit_known"),
        ([REQUEST], HISTORY, {"change": None}, "ck_request_history_attachment_edit_known"),
        ([REQUEST], HISTORY, {"history_filename": "a" * 256}, "ck_request_history_attachment_edit_known"),
        ([REQUEST], HISTORY, {"action": "submit"}, "ck_request_history_attachment_edit_only_on_edit"),
        ([], REQUEST, {"version": 0}, "ck_requests_version_positive"),
        ([REQUEST], LINE, {"quantity": 0}, "ck_request_lines_quantity_positive"),
        ([REQUEST], LINE, {"approved": 13}, "ck_request_lines_approved_within_requested"),
        ([REQUEST, LINE], LINE, {"line": "new", "position": 1}, "uq_request_lines_form_type"),
        ([REQUEST, LINE], RANGE, {"first": 5, "last": 4}, "ck_request_allocated_ranges_range_ordered"),
        ([REQUEST], ATTACHMENT, {"size": 10 * 1024 * 1024 + 1}, "ck_request_attachments_size_within_limit"),
        ([REQUEST], ATTACHMENT, {"content_type": "application/x-msdownload"}, "content_type_allowed"),
    ],
)
async def test_the_database_refuses_broken_rows(
    migrated: Database, setup: list[str], statement: str, bad: dict[str, Any], constraint: str
) -> None:
    ids = {"rid": uuid.uuid4(), "line": uuid.uuid4(), "attachment": uuid.uuid4(), "now": NOW}
    params = {**ids, **GOOD, **GOOD_ATTACHMENT, **GOOD_HISTORY}
    async with migrated.engine.connect() as conn:
        for sql in setup:
            await conn.execute(text(sql), params)
        broken = {**params, **bad, **({"line": uuid.uuid4()} if bad.get("line") == "new" else {})}
        with pytest.raises(IntegrityError) as refused:
            await conn.execute(text(statement), broken)
        await conn.rollback()
    assert constraint in str(refused.value)


# Revision 0004: what the service wrote into an attachment edit's comment moves to the entry's own columns.
LETTER = "Công văn đề nghị.pdf"
# (sequence, action, the comment as revision 0003 held it, (comment, attachment_change, attachment_filename) at 0004)
OLD_HISTORY = [
    (1, "create", "Đề nghị cấp phôi đợt 1", ("Đề nghị cấp phôi đợt 1", None, None)),
    (2, "edit", f"attached {LETTER}", (None, "added", LETTER)),  # the letter the request has
    (3, "edit", "attached bản-chụp.png", (None, "added", "bản-chụp.png")),  # removed below
    (4, "edit", "removed bản-chụp.png", (None, "removed", "bản-chụp.png")),
    (5, "edit", "removed the second line", ("removed the second line", None, None)),  # a person's words
    (6, "edit", "attached the list", ("attached the list", None, None)),  # no such letter, ever
    (7, "submit", f"attached {LETTER}", (f"attached {LETTER}", None, None)),  # a step's comment, not an edit
]
HISTORY_ROWS = (
    "SELECT sequence, comment, attachment_change, attachment_filename FROM request_history "
    "WHERE request_id = :rid ORDER BY sequence"
)


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from phoi_kit.migrations import alembic_config

    command.downgrade(alembic_config(MIGRATIONS, url), revision)


async def _rows(db: Database, rid: uuid.UUID, sql: str = HISTORY_ROWS) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(sql), {"rid": rid})]


async def test_0004_moves_the_services_attachment_texts_out_of_the_comment_and_back(pg_server: Any) -> None:
    url: str = pg_server.create_database(f"req_mig_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0004")
    db = Database(url)
    rid = uuid.uuid4()
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(REQUEST), {**GOOD, "rid": rid, "now": NOW, "version": 7})
            attachment = {**GOOD_ATTACHMENT, "attachment": uuid.uuid4(), "rid": rid, "filename": LETTER}
            await conn.execute(text(ATTACHMENT), attachment)
            for sequence, action, comment, _converted in OLD_HISTORY:
                row = {"rid": rid, "now": NOW, "sequence": sequence, "action": action, "comment": comment}
                await conn.execute(text(HISTORY_0003), row)

        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        converted = [(sequence, *after) for sequence, _action, _comment, after in OLD_HISTORY]
        assert await _rows(db, rid) == converted

        # the way back writes the texts into the comment again, as the service did before
        await asyncio.to_thread(_downgrade, url, "0004")
        old = "SELECT sequence, comment FROM request_history WHERE request_id = :rid ORDER BY sequence"
        assert await _rows(db, rid, old) == [(sequence, comment) for sequence, _action, comment, _ in OLD_HISTORY]
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        assert await _rows(db, rid) == converted

        # an entry only 0004 can hold, a person's comment and a letter, keeps the person's words on the way back
        both = {**GOOD_HISTORY, "rid": rid, "now": NOW, "sequence": 8, "comment": "Bản có chữ ký"}
        async with db.engine.begin() as conn:
            await conn.execute(text(HISTORY), {**both, "history_filename": LETTER})
        await asyncio.to_thread(_downgrade, url, "0004")
        assert (await _rows(db, rid, old))[-1] == (8, "Bản có chữ ký")
    finally:
        await db.dispose()
