"""The auditor's pages without a browser (httpx through the real sign-in), on the real system: bad
filters are refused beside the field, in Vietnamese, and kept; the CSV export passes the audit
service's stream through and is itself audited; verification answers "intact"; other roles are kept
out; a POST without its CSRF token changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import html
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from phoi_local.pages import field_error, kept
from phoi_local.procutil import wait_until
from phoi_local.system import Stack, csrf_of, portal_client
from phoi_local.testing import token_issuer

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Kiem-Toan-2026!"


@pytest.fixture(scope="module")
def auditor(system_stack: Stack) -> Iterator[tuple[str, httpx.Client]]:
    username, temporary = system_stack.new_individual_account("auditor")
    client = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield username, client
    client.close()


def test_bad_filters_are_refused_beside_the_field_and_kept(auditor: Any) -> None:
    _, client = auditor
    backwards = client.get("/audit/entries", params={"start": "02/01/2026", "end": "01/01/2026", "actor": "sgd-hn"})
    assert backwards.status_code == 200
    assert field_error(backwards.text, "end") == "Ngày kết thúc không được trước ngày bắt đầu."
    assert kept(backwards.text, "start", "02/01/2026")
    assert kept(backwards.text, "end", "01/01/2026")
    assert kept(backwards.text, "actor", "sgd-hn")
    assert 'data-testid="entries"' not in backwards.text, "no entries are listed for filters that make no sense"

    bad = client.get(
        "/audit/entries",
        params={"start": "31/02/2026", "end": "hôm qua", "type": "request.bogus", "subject": "Đề nghị\x01"},
    )
    assert field_error(bad.text, "start") == "Hãy nhập ngày bắt đầu theo dạng ngày/tháng/năm."
    assert field_error(bad.text, "end") == "Hãy nhập ngày kết thúc theo dạng ngày/tháng/năm."
    assert field_error(bad.text, "type") == "Hãy chọn một loại sự kiện trong danh sách."
    assert field_error(bad.text, "subject") == "Hãy xóa các ký tự đặc biệt trong ô này."
    assert kept(bad.text, "start", "31/02/2026")
    assert kept(bad.text, "end", "hôm qua")

    forged = client.get("/audit/entries", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 200
    assert "Liên kết trang không còn hợp lệ" in forged.text

    # The export refuses the same filters: back to the log, which shows why.
    export = client.get("/audit/export", params={"start": "02/01/2026", "end": "01/01/2026"})
    assert export.status_code == 303
    shown = client.get(export.headers["location"])
    assert field_error(shown.text, "end") == "Ngày kết thúc không được trước ngày bắt đầu."
    assert kept(shown.text, "start", "02/01/2026")


def test_a_day_range_finds_todays_entries_and_the_export_streams_them_and_is_audited(
    system_stack: Stack, auditor: Any
) -> None:
    username, client = auditor
    code, _, _ = system_stack.new_unit_account()
    wait_until(lambda: bool(_entries(system_stack, unit=code)), timeout=30, what="the unit's creation audited")
    today = client.get("/audit/entries").text
    day = re.search(r"<td>(\d\d/\d\d/\d{4}) \d\d:\d\d</td>", today)
    assert day, "the newest entry's time is shown as dd/mm/yyyy hh:mm"
    page = client.get("/audit/entries", params={"unit": code, "start": day.group(1), "end": day.group(1)})
    assert 'data-type="unit.created.v1"' in page.text
    assert "Tạo đơn vị" in page.text
    none = client.get("/audit/entries", params={"unit": code, "start": "01/01/2020", "end": "31/12/2020"})
    assert "Không có mục nào khớp với các điều kiện lọc." in none.text

    with client.stream("GET", "/audit/export", params={"unit": code}) as export:
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        assert "nhat-ky-kiem-toan_" in export.headers["content-disposition"]
        assert "content-length" not in export.headers, "passed through as a stream, not buffered whole"
        body = b"".join(export.iter_bytes()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {row["type"] for row in rows} >= {"unit.created.v1", "account.created.v1"}
    assert all(row["unit_code"] == code for row in rows)

    def export_audited() -> bool:
        return any(
            e["actor"]["username"] == username and e["payload"].get("filters", {}).get("unit") == code
            for e in _entries(system_stack, type="data.exported.v1")
        )

    wait_until(export_audited, timeout=30, what="the export recorded by the audit service", interval=0.2)


def test_verification_runs_and_says_the_log_is_intact(auditor: Any) -> None:
    _, client = auditor
    form = client.get("/audit/verify")
    assert form.status_code == 200
    assert "Kiểm tra toàn bộ nhật ký" in form.text
    refused = client.post("/audit/verify", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    result = client.post("/audit/verify", data={"csrf_token": csrf_of(form.text)})
    assert result.status_code == 200
    assert 'data-ok="true"' in result.text
    assert "Nhật ký kiểm toán còn nguyên vẹn" in result.text
    assert re.search(r"Nguyên vẹn đến mục \d+: đã kiểm tra [\d.]+ mục\.", result.text)


def test_an_entry_shows_its_hash_and_the_previous_one(system_stack: Stack, auditor: Any) -> None:
    _, client = auditor
    newest = _entries(system_stack)[0]
    page = client.get(f"/audit/entries/{newest['sequence']}").text
    assert re.search(rf'data-testid="hash">{newest["hash"]}<', page)
    assert re.search(rf'data-testid="prev-hash">{newest["prev_hash"]}<', page)
    previous = system_stack.api("audit", "GET", f"/api/v1/entries/{newest['sequence'] - 1}", system_stack.admin)
    assert previous.json()["hash"] == newest["prev_hash"]
    missing = client.get("/audit/entries/999999999")
    assert missing.status_code == 404


def test_other_roles_cannot_open_the_audit_pages(system_stack: Stack) -> None:
    _, username, temporary = system_stack.new_unit_account()
    unit = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    try:
        for path in ("/audit/entries", "/audit/verify", "/audit/export"):
            assert unit.get(path).status_code == 403, path
    finally:
        unit.close()


def _entries(stack: Stack, **params: str) -> list[dict[str, Any]]:
    response = stack.api("audit", "GET", "/api/v1/entries", stack.admin, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_cursor_pages_follow_each_other_without_overlap(system_stack: Stack, auditor: Any) -> None:
    _, client = auditor
    # An officer has no access to the log, so each try is refused and audited: one by one up to a burst per
    # caller and window (then as a count), so six officers try as many times as their bursts allow.
    issue = token_issuer(system_stack.keycloak)
    for _ in range(6):
        officer = issue("qlcl_officer").headers
        for _ in range(10):
            system_stack.api("audit", "GET", "/api/v1/entries", officer)
    refusals = {"type": "security.access_denied.v1", "limit": "60"}
    wait_until(
        lambda: len(_entries(system_stack, **refusals)) > 50, timeout=30, what="60 refusals audited", interval=0.2
    )
    first = client.get("/audit/entries", params={"type": "security.access_denied.v1"})
    sequences = [int(s) for s in re.findall(r'<a href="/audit/entries/(\d+)">', first.text)]
    assert len(sequences) == 50
    assert sequences == sorted(sequences, reverse=True)
    following = re.search(r'href="(/audit/entries\?[^"]*cursor=[^"]+)"', first.text)
    assert following, "a next-page link"
    second = client.get(html.unescape(following.group(1)))
    assert 'value="security.access_denied.v1" selected' in second.text, "the filters travel with the cursor"
    more = [int(s) for s in re.findall(r'<a href="/audit/entries/(\d+)">', second.text)]
    assert more
    assert max(more) < min(sequences)
    assert "Trang đầu" in second.text
    assert set(re.findall(r'data-type="([^"]+)"', second.text)) == {"security.access_denied.v1"}


def test_a_changed_entry_is_shown_as_the_exact_place_the_chain_breaks(system_stack: Stack, auditor: Any) -> None:
    """Tampering as a database superuser would (triggers bypassed); the original is put back after."""
    _, client = auditor
    code, _, _ = system_stack.new_unit_account()
    wait_until(lambda: bool(_entries(system_stack, unit=code)), timeout=30, what="the unit's creation audited")
    victim = _entries(system_stack, unit=code, type="unit.created.v1")[0]["sequence"]
    with _payload_changed(system_stack, victim, code):
        form = client.get("/audit/verify")
        result = client.post("/audit/verify", data={"csrf_token": csrf_of(form.text)})
        assert 'data-ok="false"' in result.text
        assert f"Chuỗi nhật ký bị đứt tại mục {victim}" in result.text
        assert "mục này đã bị sửa sau khi ghi" in result.text
        assert f'href="/audit/entries/{victim}"' in result.text
    again = client.post("/audit/verify", data={"csrf_token": csrf_of(form.text)})
    assert 'data-ok="true"' in again.text


@contextlib.contextmanager
def _payload_changed(stack: Stack, sequence: int, code: str) -> Iterator[None]:
    import asyncpg

    url = stack.services["audit"].env["AUDIT_DATABASE_URL"].replace("+asyncpg", "")

    async def run(statement: str, *args: Any) -> Any:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")  # past the append-only trigger
                return await conn.fetchval(statement, *args)
        finally:
            await conn.close()

    original = asyncio.run(run("SELECT payload FROM audit_entries WHERE sequence = $1", sequence))
    changed = original.replace(code, "TAMPERED")
    assert changed != original
    asyncio.run(run("UPDATE audit_entries SET payload = $2 WHERE sequence = $1", sequence, changed))
    try:
        yield
    finally:
        asyncio.run(run("UPDATE audit_entries SET payload = $2 WHERE sequence = $1", sequence, original))
