"""The QLCL officer's forms: bad input is refused beside the field in Vietnamese, what was typed is kept
and nothing changes; two officers deciding the same request at once; the letter opens in the browser
under a strict policy; the letter's attachment in the history, in Vietnamese; reports and serials across
units. Browser-less, on the real system."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from phoi_local.pages import field_error, kept, post, timeline
from phoi_local.system import FORM_TYPE, Stack, csrf_of, portal_client, portal_request

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Phoi-Moi-2026!"


def _officer(stack: Stack) -> httpx.Client:
    username, temporary = stack.new_individual_account("qlcl_officer")
    return portal_client(stack, username, temporary, new_password=NEW_PASSWORD)


@pytest.fixture(scope="module")
def officer(system_stack: Stack) -> Iterator[httpx.Client]:
    client = _officer(system_stack)
    yield client
    client.close()


def _batches(stack: Stack) -> int:
    return len(
        stack.api("inventory", "GET", "/api/v1/print-batches", stack.officer, params={"limit": 200}).json()["items"]
    )


def test_print_batch_form_refuses_bad_input_then_records_a_batch(system_stack: Stack, officer: httpx.Client) -> None:
    before = _batches(system_stack)
    bad = {
        "form_type": "",
        "first_serial": "mười",
        "last_serial": "5",
        "printer": "",
        "contract_ref": "HĐ-01/2026",
        "received_on": "31/02/2026",
    }
    page = post(officer, "/central/print-batches/new", bad).text
    assert field_error(page, "form_type") == "Hãy chọn loại phôi."
    assert field_error(page, "first_serial") == "Hãy nhập số hiệu đầu tiên của lô là số nguyên, ví dụ 1."
    assert field_error(page, "printer") == "Hãy nhập tên nhà in."
    assert field_error(page, "received_on") == "Hãy nhập ngày nhận theo dạng ngày/tháng/năm, ví dụ 31/05/2026."
    assert kept(page, "first_serial", "mười")
    assert kept(page, "contract_ref", "HĐ-01/2026")
    backwards = post(officer, "/central/print-batches/new", {**bad, "first_serial": "9", "form_type": FORM_TYPE}).text
    assert field_error(backwards, "last_serial") == "Số hiệu cuối không được nhỏ hơn số hiệu đầu."
    assert _batches(system_stack) == before

    first, last = system_stack.next_serials(10)
    good = {**bad, "form_type": FORM_TYPE, "first_serial": str(first), "last_serial": str(last)}
    good |= {"printer": "Nhà in Tiến Bộ", "received_on": "01/12/2026"}
    recorded = post(officer, "/central/print-batches/new", good)
    assert recorded.status_code == 303, recorded.text
    assert _batches(system_stack) == before + 1
    # the same serials again: the service's refusal is shown beside the first serial, the input kept
    again = post(officer, "/central/print-batches/new", good).text
    assert "lô in" in field_error(again, "first_serial").lower() or field_error(again, "first_serial")
    assert kept(again, "printer", "Nhà in Tiến Bộ")
    assert _batches(system_stack) == before + 1
    listed = officer.get("/central/print-batches").text
    assert "HĐ-01/2026" in listed
    stock = officer.get("/central/stock").text
    assert 'data-form-type="THPT"' in stock


def test_form_type_forms_refuse_bad_input(system_stack: Stack, officer: httpx.Client) -> None:
    page = post(
        officer,
        "/central/form-types/new",
        {"code": "thcs mới", "name_vi": "", "name_en": "Lower secondary", "serial_prefix": "", "digits": "abc"},
    ).text
    assert field_error(page, "code").startswith("Hãy nhập mã gồm chữ in hoa")
    assert field_error(page, "name_vi") == "Hãy nhập tên tiếng Việt."
    assert field_error(page, "serial_prefix").startswith("Hãy nhập tiền tố")
    assert field_error(page, "digits") == "Hãy nhập số chữ số là số nguyên từ 1 đến 18."
    assert field_error(page, "template_version") == "Hãy nhập phiên bản mẫu, ví dụ 2024.1."
    assert kept(page, "code", "THCS MỚI")
    assert kept(page, "name_en", "Lower secondary")
    assert kept(page, "digits", "abc")

    taken = {"code": FORM_TYPE, "name_vi": "Bằng tốt nghiệp", "name_en": "Diploma", "serial_prefix": "PX"}
    exists = post(officer, "/central/form-types/new", {**taken, "digits": "7", "template_version": "2026.1"}).text
    assert field_error(exists, "code")  # form_type_exists, beside the code

    code = f"K{secrets.token_hex(3).upper()}"
    created = post(
        officer,
        "/central/form-types/new",
        {**taken, "code": code, "serial_prefix": "KT", "digits": "6", "template_version": "2026.1"},
    )
    assert created.status_code == 303, created.text
    edit = f"/central/form-types/{code}/edit"
    bad_edit = post(officer, edit, {"name_vi": "", "name_en": "Diploma", "template_version": "2026.2", "active": "no"})
    assert field_error(bad_edit.text, "name_vi") == "Hãy nhập tên tiếng Việt."
    assert kept(bad_edit.text, "template_version", "2026.2")
    form = officer.get(edit).text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version
    fields = {"name_vi": "Bằng mới", "name_en": "New", "template_version": "2026.2", "active": "no"}
    saved = officer.post(edit, data={"csrf_token": csrf_of(form), "version": version.group(1), **fields})
    assert saved.status_code == 303, saved.text
    stored = system_stack.api("inventory", "GET", f"/api/v1/form-types/{code}", system_stack.officer).json()
    assert (stored["name_vi"], stored["active"]) == ("Bằng mới", False)
    # a second save with the version read before: said beside nothing, at the top, with the input kept
    stale = officer.post(edit, data={"csrf_token": csrf_of(form), "version": version.group(1), **fields})
    assert stale.status_code == 200
    assert "Dữ liệu vừa được người khác thay đổi" in stale.text
    assert kept(stale.text, "name_vi", "Bằng mới")


def _submitted(stack: Stack, unit: tuple[str, httpx.Client], quantity: int) -> dict[str, Any]:
    _code, client = unit
    request_id = portal_request(client, quantity, submit=True)
    return dict(stack.api("requests", "GET", f"/api/v1/requests/{request_id}", stack.officer).json())


def test_review_refuses_bad_decisions_beside_the_field(system_stack: Stack, officer: httpx.Client, unit: Any) -> None:
    item = _submitted(system_stack, unit, 30)
    line = f"approved-{item['lines'][0]['line_id']}"
    path = f"/review/{item['id']}"
    queue = officer.get("/review").text
    assert f'href="/review/{item["id"]}"' in queue
    review = officer.get(path).text
    assert 'data-testid="context"' in review
    assert 'name="version"' in review

    page = post(officer, path, {"decision": "approve", line: "31", "reason": ""}).text
    assert field_error(page, line) == "Không được duyệt quá 30 phôi, là số phôi đơn vị đề nghị."
    assert kept(page, line, "31")
    page = post(officer, path, {"decision": "approve", line: "ba mươi"}).text
    assert field_error(page, line) == "Hãy nhập số phôi được duyệt là số nguyên."
    page = post(officer, path, {"decision": "approve", line: "20", "reason": ""}).text
    assert field_error(page, "reason").startswith("Hãy nêu lý do duyệt ít phôi hơn")
    assert kept(page, line, "20")
    page = post(officer, path, {"decision": "reject", line: "30", "reason": ""}).text
    assert field_error(page, "reason") == "Hãy nêu lý do: đơn vị sẽ thấy lý do này."
    page = post(officer, path, {line: "30", "reason": "Thiếu chữ ký"}).text
    assert field_error(page, "decision").startswith("Hãy chọn quyết định")
    assert kept(page, "reason", "Thiếu chữ ký")
    now = system_stack.api("requests", "GET", f"/api/v1/requests/{item['id']}", system_stack.officer).json()
    assert (now["status"], now["version"]) == ("submitted", item["version"])

    returned = post(officer, path, {"decision": "return", line: "30", "reason": "Công văn thiếu chữ ký"})
    assert returned.status_code == 303
    history = system_stack.api("requests", "GET", f"/api/v1/requests/{item['id']}/history", system_stack.officer)
    assert history.json()["items"][-1]["comment"] == "Công văn thiếu chữ ký"


def test_two_officers_approving_at_once_the_second_is_told(
    system_stack: Stack, officer: httpx.Client, unit: Any
) -> None:
    item = _submitted(system_stack, unit, 12)
    path = f"/review/{item['id']}"
    line = f"approved-{item['lines'][0]['line_id']}"
    second = _officer(system_stack)
    try:
        first_page, second_page = officer.get(path).text, second.get(path).text
        for page in (first_page, second_page):
            assert f'name="version" value="{item["version"]}"' in page
        decision = {"decision": "approve", line: "12", "version": str(item["version"])}
        done = officer.post(path, data={"csrf_token": csrf_of(first_page), **decision})
        assert done.status_code == 303
        late = second.post(path, data={"csrf_token": csrf_of(second_page), **decision, "reason": "Đủ điều kiện"})
    finally:
        second.close()
    assert late.status_code == 200
    assert "đã được người khác thay đổi" in late.text
    assert 'class="error-summary' in late.text or "error-summary" in late.text
    assert 'name="decision"' not in late.text  # the request as it is now: approved, nothing left to decide
    history = system_stack.api("requests", "GET", f"/api/v1/requests/{item['id']}/history", system_stack.officer)
    assert [h["action"] for h in history.json()["items"]].count("approve") == 1


def test_the_letter_opens_inline_under_a_strict_policy(system_stack: Stack, officer: httpx.Client, unit: Any) -> None:
    item = _submitted(system_stack, unit, 3)
    attachment = item["attachments"][0]
    letter = officer.get(f"/requests/{item['id']}/attachments/{attachment['attachment_id']}")
    assert letter.status_code == 200
    assert letter.content.startswith(b"%PDF")
    assert letter.headers["content-type"].startswith("application/pdf")
    assert letter.headers["content-disposition"].startswith("inline")
    assert "filename" in letter.headers["content-disposition"]
    policies = letter.headers.get_list("content-security-policy")
    assert len(policies) == 1
    assert "default-src 'none'" in policies[0]
    assert "script-src" not in policies[0]
    assert letter.headers["x-content-type-options"] == "nosniff"
    page = officer.get(f"/review/{item['id']}")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")  # pages keep theirs


def test_both_sides_read_in_vietnamese_which_letter_the_unit_attached(
    system_stack: Stack, officer: httpx.Client, unit: Any
) -> None:
    """The requests service says what an edit did to the letters; the portal words it, not the service."""
    item = _submitted(system_stack, unit, 4)
    _code, client = unit
    for page in (client.get(f"/requests/{item['id']}"), officer.get(f"/review/{item['id']}")):
        assert page.status_code == 200
        shown = timeline(page.text)
        assert "Chỉnh sửa" in shown
        assert "Đã đính kèm tệp cong-van-de-nghi.pdf" in shown
        assert "attached" not in shown.lower()


def test_reports_and_serials_across_units(system_stack: Stack, officer: httpx.Client, unit: Any) -> None:
    code, _client = unit
    first, _last = system_stack.print_batch(1)
    chooser = officer.get("/reports/usage").text
    assert 'id="unit"' in chooser
    report = officer.get("/reports/usage", params={"unit": code})
    assert report.status_code == 200
    assert f"Đơn vị {code}" in report.text
    bad = officer.get("/reports/usage", params={"unit": "<b>"}).text
    assert field_error(bad, "unit") == "Hãy nhập mã đơn vị gồm chữ cái và chữ số, ví dụ QLCL."
    download = officer.get("/reports/usage.csv", params={"start": "2026-01-01", "end": "2026-12-31", "unit": code})
    assert download.status_code == 200
    assert (
        f'filename="bao-cao-su-dung-phoi_{code}_2026-01-01_2026-12-31.csv"' in download.headers["content-disposition"]
    )
    found = officer.get("/serials", params={"form_type": FORM_TYPE, "serial": str(first)})
    assert found.status_code == 200
    assert "error-message" not in found.text


def test_officer_forms_need_the_csrf_token(system_stack: Stack, officer: httpx.Client) -> None:
    before = _batches(system_stack)
    first, last = system_stack.next_serials(2)
    form = {"form_type": FORM_TYPE, "first_serial": str(first), "last_serial": str(last), "printer": "X"}
    form |= {"contract_ref": "HĐ-X", "received_on": "01/12/2026", "csrf_token": "0" * 64}
    assert officer.post("/central/print-batches/new", data=form).status_code == 403
    assert _batches(system_stack) == before
