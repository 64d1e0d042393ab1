"""The printed records, through the real system: each PDF is asked of the portal as its official would,
its text extracted and checked against the services' own answers, down to the audit entry it is sealed
with (sequence and hash read back from the audit log). Browser-less: the PDF is a download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from phoi_local.pages import pdf_text, post
from phoi_local.procutil import wait_until
from phoi_local.system import FORM_TYPE, Stack, portal_client, portal_request

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Phoi-Moi-2026!"


@pytest.fixture(scope="module")
def officer(system_stack: Stack) -> Iterator[httpx.Client]:
    username, temporary = system_stack.new_individual_account("qlcl_officer")
    client = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield client
    client.close()


@pytest.fixture(scope="module")
def admin(system_stack: Stack) -> Iterator[httpx.Client]:
    username, temporary = system_stack.new_individual_account("qlcl_admin")
    client = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield client
    client.close()


def audit_entry(stack: Stack, subject: str, event_type: str, **data: str) -> dict[str, Any]:
    """The newest audit entry of `event_type` about `subject` (with `data` in its payload), once recorded."""
    found: list[dict[str, Any]] = []

    def recorded() -> bool:
        params = {"subject": subject, "type": event_type, "limit": 100}
        items = stack.api("audit", "GET", "/api/v1/entries", stack.admin, params=params).json()["items"]
        found[:] = [e for e in items if all(e["payload"].get(k) == v for k, v in data.items())]
        return bool(found)

    wait_until(recorded, timeout=60, what=f"{event_type} of {subject} in the audit log")
    return found[0]


def pdf_of(client: httpx.Client, path: str, **params: str) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline; filename=")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.content.startswith(b"%PDF")
    return pdf_text(response.content)


def assert_sealed_with(text: str, stack: Stack, entry: dict[str, Any]) -> None:
    assert f"Số thứ tự trong nhật ký: {entry['sequence']}" in text
    assert entry["hash"][:32] in text
    assert entry["hash"][32:] in text
    assert f"{stack.portal}/audit/entries/{entry['sequence']}" in text


def allocated(stack: Stack, unit: tuple[str, httpx.Client], quantity: int) -> dict[str, Any]:
    code, client = unit
    stack.print_batch(quantity)
    request_id = portal_request(client, quantity, submit=True)
    stack.approve(stack.api("requests", "GET", f"/api/v1/requests/{request_id}", stack.officer).json(), [quantity])
    return stack.wait_status(code, "allocated")


def received(stack: Stack, unit: tuple[str, httpx.Client], quantity: int) -> dict[str, Any]:
    """Allocated, then received in full through the unit's receipt form: the blanks are the unit's."""
    code, client = unit
    item = allocated(stack, unit, quantity)
    line = item["lines"][0]["line_id"]
    confirmed = post(
        client,
        f"/requests/{item['id']}/receipt",
        {"version": str(item["version"]), "received_on": "01/03/2026", f"accepted-{line}": str(quantity)},
    )
    assert confirmed.status_code == 303, confirmed.text
    [r] = item["lines"][0]["allocated_ranges"]

    def held_by_unit() -> bool:  # the receipt reaches inventory by event: wait for the ledger to show it
        path = f"/api/v1/serials/{FORM_TYPE}/{r['last']}"
        state = stack.api("inventory", "GET", path, stack.officer).json()
        return bool(state["state"] == "at_unit" and state["holder_unit"] == code)

    wait_until(held_by_unit, timeout=30, what="the received blanks at the unit in inventory")
    return item


def test_the_blank_handover_record_of_an_allocation(
    system_stack: Stack, unit: Any, officer: httpx.Client, admin: httpx.Client
) -> None:
    code, client = unit
    item = allocated(system_stack, unit, 7)
    [r] = item["lines"][0]["allocated_ranges"]
    first, last = f"PT{r['first']:07d}", f"PT{r['last']:07d}"
    entry = audit_entry(system_stack, item["id"], "allocation.completed.v1")
    path = f"/requests/{item['id']}/handover-record.pdf"

    detail = client.get(f"/requests/{item['id']}").text
    assert f'href="{path}"' in detail  # offered once the serials are allocated
    for reader in (client, officer):  # the unit receiving, the officer handing over: the same paper
        text = pdf_of(reader, path)
        for expected in (
            "BIÊN BẢN BÀN GIAO PHÔI VĂN BẰNG, CHỨNG CHỈ",
            f"Trường THPT Thử nghiệm {code} (mã {code})",
            "Cục Quản lý chất lượng, Bộ Giáo dục và Đào tạo",
            f"({FORM_TYPE})",
            f"{first} {last} 7",
            "7 phôi",
            "năm học 2025-2026, Kỳ thi tốt nghiệp THPT năm 2026",
        ):
            assert expected in text, expected
        assert_sealed_with(text, system_stack, entry)

    not_yet = portal_request(client, 3)  # a draft: nothing handed over, no record
    assert client.get(f"/requests/{not_yet}/handover-record.pdf").status_code == 404
    assert client.get("/requests/not-an-id/handover-record.pdf").status_code == 404
    # the QR code and the address under it open the entry for whoever may read the log
    assert admin.get(f"/audit/entries/{entry['sequence']}").status_code == 200


def test_another_unit_cannot_print_a_units_handover_record(system_stack: Stack, unit: Any) -> None:
    item = allocated(system_stack, unit, 2)
    _code, username, temporary = system_stack.new_unit_account()
    stranger = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    try:
        response = stranger.get(f"/requests/{item['id']}/handover-record.pdf")
    finally:
        stranger.close()
    assert response.status_code == 404
    assert not response.content.startswith(b"%PDF")


def test_the_account_handover_slip_never_prints_the_password(
    system_stack: Stack, admin: httpx.Client, unit: Any
) -> None:
    code, username, temporary = system_stack.new_unit_account()
    listed = system_stack.api("identity", "GET", "/api/v1/accounts", system_stack.admin, params={"unit_code": code})
    [account] = listed.json()["items"]
    entry = audit_entry(system_stack, account["id"], "account.created.v1")
    page = admin.get(f"/admin/accounts/{account['id']}").text
    path = f"/admin/accounts/{account['id']}/slip.pdf"
    assert f'href="{path}"' in page
    text = pdf_of(admin, path)
    for expected in ("PHIẾU BÀN GIAO TÀI KHOẢN", "cấp tài khoản (Điều 8.2)", username, "Nguyễn Thị Hoa, Văn thư"):
        assert expected in text, expected
    assert temporary not in text
    assert_sealed_with(text, system_stack, entry)
    assert admin.get(path).headers["cache-control"] == "no-store"
    _unit_code, unit_client = unit
    assert unit_client.get(path).status_code == 403  # administrators only


def test_the_printed_usage_report_is_an_export_sealed_in_the_log(system_stack: Stack, unit: Any) -> None:
    code, client = unit
    item = received(system_stack, unit, 4)
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    page = client.get("/reports/usage").text
    assert 'data-testid="usage-pdf"' in page
    response = client.get("/reports/usage.pdf", params={"start": today, "end": today})
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    [r] = item["lines"][0]["allocated_ranges"]
    for expected in (
        "BÁO CÁO TÌNH HÌNH SỬ DỤNG PHÔI VĂN BẰNG, CHỨNG CHỈ",
        f"Trường THPT Thử nghiệm {code} (mã {code})",
        "Tồn đầu kỳ",
        f"Nhận trong kỳ PT{r['first']:07d} PT{r['last']:07d} 4",
    ):
        assert expected in text, expected
    exports = system_stack.api(
        "audit", "GET", "/api/v1/entries", system_stack.admin, params={"type": "data.exported.v1", "unit": code}
    ).json()["items"]
    printed = [e for e in exports if e["payload"]["format"] == "pdf"]
    assert printed, "the printed report was not recorded as an export"
    assert_sealed_with(text, system_stack, printed[0])
    bad = client.get("/reports/usage.pdf", params={"start": "hôm qua", "end": today})
    assert bad.status_code == 404


def test_the_destruction_record_of_a_destroy_movement(system_stack: Stack, unit: Any) -> None:
    code, client = unit
    item = received(system_stack, unit, 5)
    [r] = item["lines"][0]["allocated_ranges"]
    serials = {"form_type": FORM_TYPE, "first": str(r["first"]), "last": str(r["first"] + 1)}
    spoiled = post(client, "/movements/new", {"kind": "spoil", **serials, "document_ref": "BB-HỎNG-07"})
    assert spoiled.status_code == 303, spoiled.text
    how = "Phôi in lỗi; cắt hủy bằng máy hủy giấy"
    destroyed = post(
        client, "/movements/new", {"kind": "destroy", **serials, "document_ref": "BB-HỦY-2026/07", "note": how}
    )
    assert destroyed.status_code == 303, destroyed.text
    notice = client.get(destroyed.headers["location"]).text
    movement_id = destroyed.headers["location"].rsplit("movement=", 1)[1]
    path = f"/movements/{movement_id}/destruction-record.pdf"
    assert f'href="{path}"' in notice  # offered at once
    entry = audit_entry(system_stack, code, "stock.movement_recorded.v2", movement_id=movement_id)
    text = pdf_of(client, path)
    for expected in (
        "BIÊN BẢN HỦY PHÔI VĂN BẰNG, CHỨNG CHỈ",
        f"Trường THPT Thử nghiệm {code} (mã {code})",
        f"PT{r['first']:07d} PT{r['first'] + 1:07d} 2",
        "2 phôi",
        "Phôi hỏng (in hỏng, viết sai, rách nát)",
        how,
        "BB-HỦY-2026/07",
    ):
        assert expected in text, expected
    assert_sealed_with(text, system_stack, entry)
    spoil_id = spoiled.headers["location"].rsplit("movement=", 1)[1]
    assert client.get(f"/movements/{spoil_id}/destruction-record.pdf").status_code == 404  # not a destruction
