"""The CSV export of audit entries, streamed, and its own record (``data.exported.v1``).

Format: UTF-8 with a byte-order mark (so Excel shows Vietnamese correctly), comma-separated, CRLF line
ends, RFC 4180 quoting, one header row, then one row per entry in ascending sequence order with the
columns ``CSV_COLUMNS``:

    sequence, event_id, type, occurred_at, recorded_at, actor_user_id, actor_username, actor_role,
    actor_unit_code, unit_code, subject, payload, prev_hash, hash

Times are the canonical form that is hashed (RFC 3339, UTC, six fractional digits, ``Z``); ``payload``
is the canonical JSON text that is hashed; an empty cell is a null. So an unfiltered export carries
everything needed to recompute the chain offline. One exception, against spreadsheet formula injection
(a sign-in attempt's username is chosen by whoever types it): a text cell starting with ``=``, ``+``,
``-``, ``@``, a tab, a carriage return or ``'`` gets one ``'`` put in front; drop a leading ``'`` to
get the stored value back.

Rows are read through a server-side cursor in chunks (``yield_per``) and written chunk by chunk, so
memory does not grow with the size of the export. When the stream ends — completely, or because the
client went away — the export is recorded in its own transaction: ``data.exported.v1`` (who, the
filters as given, the number of rows sent) is published and appended to the log at once.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import anyio
from phoi_contracts import topics
from phoi_contracts.envelope import Actor
from phoi_contracts.events.security import DataExported
from phoi_kit.db import Database
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_audit.adapters import entries as repo
from phoi_audit.domain import canonical_datetime
from phoi_audit.service.recording import record_own

log = get_logger(__name__)

BOM: Final = "\ufeff"
CSV_COLUMNS: Final = (
    "sequence",
    "event_id",
    "type",
    "occurred_at",
    "recorded_at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_unit_code",
    "unit_code",
    "subject",
    "payload",
    "prev_hash",
    "hash",
)
REPORT_KIND: Final = "audit_entries"
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "'")


def _cell(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(row: Any) -> tuple[str | int, ...]:
    return (
        row.sequence,
        str(row.event_id),
        _cell(row.type),
        canonical_datetime(row.occurred_at, field="occurred_at"),
        canonical_datetime(row.recorded_at, field="recorded_at"),
        _cell(row.actor_user_id),
        _cell(row.actor_username),
        _cell(row.actor_role),
        _cell(row.actor_unit_code),
        _cell(row.unit_code),
        _cell(row.subject),
        row.payload,
        row.prev_hash,
        row.hash,
    )


def _lines(rows: Any) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def stream_csv(
    database: Database,
    flt: repo.EntryFilter,
    *,
    actor: Actor,
    filters: Mapping[str, str],
    source: str,
    correlation_id: str | None,
    chunk: int,
) -> AsyncIterator[bytes]:
    """The export, chunk by chunk; records ``data.exported.v1`` when the stream ends (or is dropped)."""
    sent = 0
    session = database.sessionmaker()
    try:
        yield BOM.encode("utf-8") + _lines([CSV_COLUMNS])
        async for rows in repo.stream_rows(session, repo.filtered(flt), chunk=chunk):
            data = _lines(csv_row(row) for row in rows)
            sent += len(rows)
            yield data
    finally:
        with anyio.CancelScope(shield=True):
            await session.close()
            await _record_export(
                database,
                actor=actor,
                filters=filters,
                rows=sent,
                source=source,
                correlation_id=correlation_id,
            )


async def _record_export(
    database: Database,
    *,
    actor: Actor,
    filters: Mapping[str, str],
    rows: int,
    source: str,
    correlation_id: str | None,
) -> None:
    try:
        async with database.session() as session:
            uow = UnitOfWork(session, source=source, actor=actor, correlation_id=correlation_id)
            envelope = uow.publish(
                DataExported(
                    export_id=uuid.uuid4(),
                    service="audit",
                    report_kind=REPORT_KIND,
                    format="csv",
                    filters=dict(filters),
                    row_count=rows,
                )
            )
            await record_own(uow, envelope, topic=topics.AUDIT)
            await uow.commit()
    except Exception as exc:  # the response is already on its way; never lose the trace silently
        log.error("could not record an audit export", rows=rows, filters=dict(filters), error=repr(exc))
