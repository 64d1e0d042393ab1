"""GET /api/v1/entries/export: the CSV, its scope, its own record, and streaming in flat memory."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import phoi_audit.adapters.entries as entries_repo
import pytest
from phoi_audit.domain import AuditActor, AuditEntry, verify
from phoi_audit.service.export import CSV_COLUMNS
from phoi_audit.synthetic import bulk_load
from phoi_contracts.envelope import Actor, Envelope
from phoi_local.testkit import cloudevent_from_json, wait_for
from sqlalchemy import text

HN = Actor(user_id="u-hn", username="sgd-hni", role="unit_account", unit_code="SGD-HNI")


def parse_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    reader = csv.DictReader(io.StringIO(body[3:].decode("utf-8"), newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def unescape(cell: str) -> str | None:
    if cell == "":
        return None
    return cell[1:] if cell.startswith("'") else cell


def entry_from_csv(row: dict[str, str]) -> AuditEntry:
    """What an auditor does offline: rebuild the entries from the export and recompute the chain."""
    return AuditEntry(
        sequence=int(row["sequence"]),
        event_id=uuid.UUID(row["event_id"]),
        type=row["type"],
        actor=AuditActor(
            user_id=unescape(row["actor_user_id"]),
            username=unescape(row["actor_username"]),
            role=unescape(row["actor_role"]),
            unit_code=unescape(row["actor_unit_code"]),
        ),
        subject=unescape(row["subject"]),
        unit_code=unescape(row["unit_code"]),
        occurred_at=datetime.fromisoformat(row["occurred_at"]),
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
        payload=json.loads(row["payload"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


async def test_export_is_a_verifiable_csv_scoped_to_the_reader_and_is_itself_recorded(
    audit: Any, record_all: Any, make_envelope: Any, token_for: Any, count_entries: Any
) -> None:
    sneaky = Envelope(  # a sign-in attempt whose username is a spreadsheet formula
        type="auth.login_failed.v1",
        source="/phoi/identity",
        subject='=HYPERLINK("http://evil")',
        data={"username": '=HYPERLINK("http://evil")', "error": "invalid_user_credentials"},
    )
    envs = [
        make_envelope(1, actor=HN, data={"unit_code": "SGD-HNI", "lý_do": "Đề nghị cấp phôi bằng THPT, năm 2025"}),
        make_envelope(2, unit="SGD-HCM"),
        sneaky,
        make_envelope(4, unit="SGD-HNI"),
    ]
    auditor = token_for("auditor")
    unit_hn = token_for("unit_account", "SGD-HNI")
    async with audit() as svc:
        await record_all(svc, envs)

        response = await svc.client.get("/api/v1/entries/export", headers=auditor.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith('attachment; filename="audit-entries-')
        rows = parse_csv(response.content)
        assert [int(r["sequence"]) for r in rows] == [1, 2, 3, 4]
        assert "Đề nghị cấp phôi bằng THPT, năm 2025" in rows[0]["payload"]
        assert rows[2]["actor_username"] == '\'=HYPERLINK("http://evil")'  # defused for spreadsheets
        assert rows[2]["subject"].startswith("'=")
        assert rows[1]["actor_unit_code"] == "QLCL"
        assert rows[2]["actor_user_id"] == ""  # null
        # the export carries everything needed to recompute the chain offline
        assert verify(entry_from_csv(r) for r in rows).ok

        # its own record: data.exported.v1 in the log (and in the outbox, for phoi.audit)
        await wait_for(lambda: _count_is(svc, count_entries, 5), timeout=10, what="the export's entry")
        async with svc.runtime.database.session() as s:
            exported = (await s.execute(text("SELECT * FROM audit_entries WHERE sequence = 5"))).one()
            outbox = (await s.execute(text("SELECT topic, type, event_id, payload FROM outbox"))).all()
        assert exported.type == "data.exported.v1"
        assert (exported.actor_user_id, exported.actor_username, exported.actor_role) == (
            auditor.user_id,
            auditor.username,
            "auditor",
        )
        data = json.loads(exported.payload)
        assert (data["service"], data["report_kind"], data["format"], data["row_count"]) == (
            "audit",
            "audit_entries",
            "csv",
            4,
        )
        assert data["filters"] == {}
        assert [(o.topic, o.type, o.event_id) for o in outbox] == [
            ("phoi.audit", "data.exported.v1", exported.event_id)
        ]
        published = cloudevent_from_json(outbox[0].payload.encode())  # what the relay sends, read by the SDK
        assert [published.get_extension(a) for a in ("actorid", "actorname", "actorrole")] == [
            auditor.user_id,
            auditor.username,
            "auditor",
        ]

        # the published event comes back from the bus and adds nothing
        await wait_for(lambda: _duplicates_seen(svc), timeout=20, what="the export event back from the bus")
        assert await count_entries(svc) == 5

        # a unit exports only entries about its unit, with its filters on record
        params = {"type": "request.*", "from": "2025-06-01T00:00:00+07:00"}
        response = await svc.client.get("/api/v1/entries/export", params=params, headers=unit_hn.headers)
        assert response.status_code == 200
        assert [r["unit_code"] for r in parse_csv(response.content)] == ["SGD-HNI", "SGD-HNI"]
        await wait_for(lambda: _count_is(svc, count_entries, 6), timeout=10, what="the unit export's entry")
        async with svc.runtime.database.session() as s:
            unit_export = (await s.execute(text("SELECT * FROM audit_entries WHERE sequence = 6"))).one()
        assert (unit_export.type, unit_export.unit_code, unit_export.actor_username) == (
            "data.exported.v1",
            "SGD-HNI",
            unit_hn.username,
        )
        assert json.loads(unit_export.payload)["filters"] == params
        assert json.loads(unit_export.payload)["row_count"] == 2

        # officers cannot export; the refusal is itself published
        refused = await svc.client.get("/api/v1/entries/export", headers=token_for("qlcl_officer").headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required")


async def _duplicates_seen(svc: Any) -> bool:
    body = (await svc.client.get("/metrics")).text
    series = f'consumer_duplicates_total{{service="audit",topic="{svc.topic_prefix}phoi.audit"}}'
    return any(line.startswith(series) and float(line.split()[-1]) >= 1 for line in body.splitlines())


async def _count_is(svc: Any, count_entries: Any, n: int) -> bool:
    return bool(await count_entries(svc) == n)


# Enough rows that holding them would show: materialised, 20,000 rows grew resident memory by ~33 MB
# (~12 MB of CSV); streamed, by under 1 MB. More rows only add minutes on a loaded machine.
ROWS = 20_000


async def asgi_get(
    app: Any, path: str, headers: dict[str, str], on_chunk: Any, *, hang_up_after: int | None = None
) -> int:
    """Call the app the way a server does and hand each body chunk to ``on_chunk`` as it is sent
    (httpx's ASGI transport would buffer the whole body first). ``hang_up_after``: the client goes
    away after that many body chunks."""
    done = asyncio.Event()
    requested = False
    status = 0
    chunks = 0

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, chunks
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            on_chunk(message.get("body", b""))
            chunks += 1
            if not message.get("more_body", False) or (hang_up_after is not None and chunks >= hang_up_after):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"audit.test"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("audit.test", 80),
    }
    await app(scope, receive, send)
    return status


def resident_bytes() -> int:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_exporting_20000_entries_streams_in_flat_memory(
    audit: Any, token_for: Any, count_entries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof of streaming, two ways: (1) the rows are fetched from the server-side cursor chunk by chunk
    and each chunk is sent before the next is fetched; (2) while 20,000 rows (~12 MB of CSV) go out,
    resident memory grows by less than half the CSV's size, so neither the rows nor the body were held.
    Materialising the result instead (``.all()``) fails both: one fetch before anything is sent, and
    ~33 MB more memory (about 1.7 KB a row, against 0.6 KB of CSV)."""
    auditor = token_for("auditor")
    async with audit(background=False) as svc:
        await bulk_load(svc.runtime.database, ROWS, payload_size=200)

        events: list[str] = []
        streamed = entries_repo.stream_rows

        async def watched(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async for rows in streamed(*args, **kwargs):
                events.append("fetch")
                yield rows

        monkeypatch.setattr(entries_repo, "stream_rows", watched)

        size = lines = 0
        digest = hashlib.sha256()
        tail = b""
        baseline = peak = resident_bytes()

        def on_chunk(body: bytes) -> None:
            nonlocal size, lines, tail, peak
            events.append("send")
            size += len(body)
            lines += body.count(b"\r\n")
            digest.update(body)
            tail = (tail + body)[-4096:]
            peak = max(peak, resident_bytes())

        status = await asgi_get(svc.app, "/api/v1/entries/export", auditor.headers, on_chunk)

        assert status == 200
        assert lines == ROWS + 1  # the header and every entry
        assert tail.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1].startswith(b"%d," % ROWS)
        assert size > 10_000_000
        fetches = events.count("fetch")
        assert fetches >= ROWS // 1000, "read through the cursor in chunks of at most 1,000 rows"
        # every chunk leaves before more than the next one is read (at most two chunks in flight)
        in_flight = 0
        for event in events[1:]:  # after the header
            in_flight += 1 if event == "fetch" else -1
            assert in_flight <= 2, "rows are read ahead of what was sent"
        growth = peak - baseline
        assert growth < size // 2, f"resident memory grew by {growth:,} bytes for a {size:,}-byte export"
        await wait_for(lambda: _count_is(svc, count_entries, ROWS + 1), timeout=10, what="the export's entry")

        # a client that hangs up part way: what was sent is on record
        await asgi_get(svc.app, "/api/v1/entries/export", auditor.headers, lambda _body: None, hang_up_after=5)
        await wait_for(lambda: _count_is(svc, count_entries, ROWS + 2), timeout=10, what="the partial export")
        async with svc.runtime.database.session() as s:
            payloads = (
                await s.execute(text("SELECT payload FROM audit_entries WHERE type = 'data.exported.v1' ORDER BY 1"))
            ).scalars()
            counts = sorted(json.loads(p)["row_count"] for p in payloads)
        assert counts[1] == ROWS
        assert 0 < counts[0] < ROWS // 2
