"""The auditor pages' own rules, on plain objects: the filters as the audit API takes them (Vietnam's
days), a broken chain shown with the exact entry, a payload shown readably and escaped. (The pages on
the real system: tests/portal/test_audit_forms.py and test_auditor_journey.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from phoi_portal.web import i18n
from phoi_portal.web.pages._common import FormErrors
from phoi_portal.web.pages.audit import EVENT_LABELS, read_filters, readable_key
from phoi_portal.web.templating import env

HASH = "ab" * 32


@pytest.fixture(autouse=True)
def vietnamese() -> Iterator[None]:
    token = i18n.locale_var.set("vi")
    yield
    i18n.locale_var.reset(token)


def render(template: str, **context: Any) -> str:
    base: dict[str, Any] = {
        "user": None,
        "menu": [],
        "csrf_token": "t",
        "locale": "vi",
        "path": "/",
        "errors": {},
        "error_summary": [],
    }
    return env.get_template(template).render({**base, **context})


def test_days_are_vietnams_days_and_the_last_day_is_included() -> None:
    errors = FormErrors()
    filters = read_filters({"start": "01/03/2026", "end": "01/03/2026", "type": "request.*", "unit": " T1 "}, errors)
    assert not errors
    assert filters.params["from"] == "2026-03-01T00:00:00+07:00"
    assert filters.params["to"] == "2026-03-02T00:00:00+07:00"
    assert filters.params["type"] == "request.*"
    assert filters.params["unit"] == "T1"
    assert "start=01%2F03%2F2026" in filters.query()
    assert read_filters({}, FormErrors()).params["from"] is None


def test_bad_filters_are_put_beside_their_fields() -> None:
    errors = FormErrors()
    filters = read_filters(
        {"start": "02/01/2026", "end": "01/01/2026", "type": "drop table", "actor": "x" * 201}, errors
    )
    assert errors.fields == {
        "actor": "Hãy nhập không quá 200 ký tự.",
        "type": "Hãy chọn một loại sự kiện trong danh sách.",
        "end": "Ngày kết thúc không được trước ngày bắt đầu.",
    }
    assert filters.values["start"] == "02/01/2026"  # kept as typed
    errors = FormErrors()
    read_filters({"start": "31/02/2026"}, errors)
    assert errors.fields == {"start": "Hãy nhập ngày bắt đầu theo dạng ngày/tháng/năm."}


def test_a_broken_chain_names_the_exact_entry_and_how_far_it_is_intact() -> None:
    result = {
        "ok": False,
        "first_broken_sequence": 7,
        "reason": "hash_mismatch",
        "detail": "entry 7: hash does not match",
        "checked_count": 6,
        "from_sequence": 1,
        "to_sequence": 40,
        "last_sequence": 6,
        "last_hash": HASH,
        "head": {"sequence": 40, "hash": HASH},
        "checkpoint": None,
        "verified_at": "2026-03-01T02:00:00+00:00",
    }
    page = render("audit/verify.html", result=result, checkpoint=None)
    assert 'data-ok="false"' in page
    assert "Chuỗi nhật ký bị đứt tại mục 7" in page
    assert "mục này đã bị sửa sau khi ghi" in page
    assert "Nguyên vẹn đến mục 6." in page
    assert 'href="/audit/entries/7"' in page
    assert "01/03/2026 09:00" in page  # Vietnam's time
    intact = render("audit/verify.html", result={**result, "ok": True, "first_broken_sequence": None}, checkpoint=None)
    assert "Nhật ký kiểm toán còn nguyên vẹn" in intact


def test_a_payload_is_shown_readably_and_escaped() -> None:
    entry = {
        "sequence": 1,
        "event_id": "e",
        "type": "request.approved.v1",
        "actor": {"user_id": "u", "username": "<b>cb</b>", "role": "qlcl_officer", "unit_code": None},
        "subject": "r 1",
        "unit_code": "T1",
        "occurred_at": "2026-03-01T02:00:00+00:00",
        "recorded_at": "2026-03-01T02:00:01+00:00",
        "payload": {"note": "<script>x</script>", "lines": [{"approved_quantity": 12}], "active": True},
        "prev_hash": "0" * 64,
        "hash": HASH,
    }
    page = render("audit/entry.html", entry=entry, labels=EVENT_LABELS, readable_key=readable_key, payload_json="{}")
    assert "<script>x" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<dt>Ghi chú</dt>" in page  # note
    assert "<dt>Phê duyệt</dt><dd>12</dd>" in page.replace("\n", "")
    assert "Duyệt đề nghị" in page
    assert 'href="/audit/entries?subject=r%201"' in page
    assert "mục đầu tiên của chuỗi" in page


def test_a_counted_summary_of_refusals_is_readable() -> None:
    entry = {
        "sequence": 9,
        "event_id": "e",
        "type": "security.access_denied_summary.v1",
        "actor": {"user_id": "u", "username": "sgd-hni", "role": "unit_account", "unit_code": "SGD-HNI"},
        "subject": "u",
        "unit_code": "SGD-HNI",
        "occurred_at": "2026-03-01T02:00:59+00:00",
        "recorded_at": "2026-03-01T02:01:01+00:00",
        "payload": {"count": 1937, "individually_recorded": 10, "reasons": {"role_required": 1937}},
        "prev_hash": HASH,
        "hash": HASH,
    }
    page = render("audit/entry.html", entry=entry, labels=EVENT_LABELS, readable_key=readable_key, payload_json="{}")
    flat = page.replace("\n", "")
    assert "Các lần bị từ chối truy cập (đếm gộp)" in page
    assert "<dt>Số lần đếm gộp</dt><dd>1937</dd>" in flat
    assert "<dt>Đã ghi từng lần trước đó</dt><dd>10</dd>" in flat
    assert "<dt>Theo lý do</dt>" in flat
    assert EVENT_LABELS["auth.login_failed_summary.v1"] == "Failed sign-ins counted"
