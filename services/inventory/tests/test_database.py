"""The database itself enforces the invariants: no serial in two blocks or two print batches, an append-only
ledger, register entries used once; and the migrations build exactly the tables the models describe."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from phoi_inventory.models import Base
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

KIT_TABLES = {"outbox", "processed_events", "token_revocations"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", name) not in KIT_TABLES


async def test_the_database_refuses_what_the_domain_forbids(api_env: Any) -> None:
    database = api_env.svc.runtime.database

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _ours})
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as conn:
        assert await conn.run_sync(diff) == []

    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 100)

    async def fails(sql: str, error: type[Exception] = IntegrityError, **params: Any) -> str:
        async with database.session() as session:
            with pytest.raises(error) as caught:
                await session.execute(text(sql), params)
            await session.rollback()
        return str(caught.value)

    overlap = await fails(
        "INSERT INTO blocks (form_type, serials, state) VALUES (:ft, int8range(100, 200), 'central')", ft=ft
    )
    assert "ex_blocks_serials" in overlap
    assert "ck_blocks_allocation_iff_allocated" in await fails(
        "INSERT INTO blocks (form_type, serials, state, holder_unit)"
        " VALUES (:ft, int8range(500, 600), 'allocated', 'X')",
        ft=ft,
    )
    assert "ck_blocks_central_has_no_holder" in await fails(
        "INSERT INTO blocks (form_type, serials, state, holder_unit) VALUES (:ft, int8range(500, 600), 'central', 'X')",
        ft=ft,
    )
    assert "ex_print_batches_serials" in await fails(
        "INSERT INTO print_batches (id, form_type, serials, printer, contract_ref, received_on, created_by)"
        " VALUES (:id, :ft, int8range(50, 60), 'p', 'c', '2025-01-01', 'me')",
        id=uuid.uuid4(),
        ft=ft,
    )
    for statement in ("UPDATE ledger SET note = 'x'", "DELETE FROM ledger", "TRUNCATE ledger"):
        assert "append-only" in await fails(statement, DBAPIError)
    await api_env.hold(ft, 10)
    used = await api_env.move(
        {
            "kind": "use",
            "form_type": ft,
            "items": [{"first": 1, "last": 3, "register_entry_first": 7}],
            "document_ref": "Q",
        }
    )
    assert used.status_code == 201
    assert "ex_register_entries" in await fails(
        "INSERT INTO register_entries (unit_code, form_type, year, entries, operation_id)"
        " SELECT unit_code, form_type, year, int8range(9, 12), operation_id FROM register_entries",
    )
    assert int(await api_env.scalar("SELECT count(*) FROM ledger")) == 4
