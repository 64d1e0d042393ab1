"""Every form of the unit's pages: bad input is refused with a Vietnamese message beside the field (and
in the summary at the top), what was typed is kept, and nothing changes. Plus the CSRF guard, the
cookie's flags and the security headers. Browser-less (httpx through the real sign-in), on the real
system."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from phoi_local.pages import field_error, kept, post
from phoi_local.system import PDF, Stack, csrf_of, portal_sign_in

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Phoi-Moi-2026!"


def request_count(stack: Stack, unit_code: str) -> int:
    response = stack.api("requests", "GET", "/api/v1/requests", stack.officer, params={"unit_code": unit_code})
    return len(response.json()["items"])


def test_new_request_refuses_bad_input_beside_each_field_and_keeps_it(system_stack: Stack, unit: Any) -> None:
    code, client = unit
    before = request_count(system_stack, code)
    response = post(
        client,
        "/requests/new",
        {
            "academic_year": "2025",
            "exam_session": "Kỳ thi 2026",
            "line-0-form_type": "THPT",
            "line-0-quantity": "0",
            "line-0-justification": "Dự kiến <b>300</b> học sinh",
        },
    )
    assert response.status_code == 200
    page = response.text
    assert field_error(page, "academic_year") == "Hãy nhập năm học gồm hai năm liên tiếp, ví dụ 2025-2026."
    assert field_error(page, "line-0-quantity") == "Hãy nhập số lượng phôi là số nguyên lớn hơn 0."
    assert field_error(page, "letter").startswith("Hãy đính kèm công văn")
    assert kept(page, "academic_year", "2025")
    assert kept(page, "exam_session", "Kỳ thi 2026")
    assert kept(page, "line-0-justification", "Dự kiến <b>300</b> học sinh")  # kept, and escaped
    assert '<option value="THPT" selected>' in page
    assert request_count(system_stack, code) == before


def test_a_letter_that_is_not_a_pdf_keeps_the_draft_and_says_why(system_stack: Stack, unit: Any) -> None:
    _, client = unit
    token = csrf_of(client.get("/requests/new").text)
    response = client.post(
        "/requests/new",
        data={"csrf_token": token, "academic_year": "2025-2026", "line-0-form_type": "THPT", "line-0-quantity": "10"},
        files={"letter": ("cong-van.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
    )
    assert response.status_code == 303
    edit = client.get(response.headers["location"])
    assert "/edit" in response.headers["location"]
    assert field_error(edit.text, "letter") == "Chỉ nhận tệp PDF, JPEG hoặc PNG."
    assert kept(edit.text, "academic_year", "2025-2026")

    # The edit form refuses bad input the same way and keeps it.
    path = response.headers["location"].split("?")[0]
    version = re.search(r'name="version" value="(\d+)"', edit.text)
    assert version
    refused = post(
        client,
        path,
        {
            "version": version.group(1),
            "academic_year": "2026-2025",
            "line-0-form_type": "THPT",
            "line-0-quantity": "abc",
        },
    )
    assert refused.status_code == 200
    assert field_error(refused.text, "academic_year").startswith("Hãy nhập năm học")
    assert field_error(refused.text, "line-0-quantity").startswith("Hãy nhập số lượng")
    assert kept(refused.text, "line-0-quantity", "abc")


def test_movement_form_refuses_bad_input(unit: Any) -> None:
    _, client = unit
    response = post(
        client,
        "/movements/new",
        {"kind": "lose", "form_type": "THPT", "first": "", "last": "PT-@@", "document_ref": ""},
    )
    assert response.status_code == 200
    assert field_error(response.text, "first").startswith("Hãy nhập số hiệu")
    assert field_error(response.text, "last").startswith("Hãy nhập số hiệu cuối")
    assert field_error(response.text, "document_ref") == "Hãy nhập số biên bản báo mất có xác nhận của công an."
    assert kept(response.text, "last", "PT-@@")
    assert 'value="lose" checked' in response.text
    no_kind = post(client, "/movements/new", {"form_type": "THPT", "first": "1", "document_ref": "x"})
    assert field_error(no_kind.text, "kind") == "Hãy chọn tình trạng của phôi."


def test_usage_report_and_serial_lookup_refuse_bad_input(unit: Any) -> None:
    _, client = unit
    report = client.get("/reports/usage", params={"start": "31/02/2026", "end": "01/01/2026"})
    assert report.status_code == 200
    assert field_error(report.text, "start") == "Hãy nhập ngày bắt đầu theo dạng ngày/tháng/năm."
    assert kept(report.text, "start", "31/02/2026")
    backwards = client.get("/reports/usage", params={"start": "02/01/2026", "end": "01/01/2026"})
    assert field_error(backwards.text, "end") == "Ngày kết thúc không được trước ngày bắt đầu."
    serial = client.get("/serials", params={"form_type": "THPT", "serial": "!!"})
    assert serial.status_code == 200
    assert field_error(serial.text, "serial").startswith("Hãy nhập số hiệu")
    assert kept(serial.text, "serial", "!!")
    unknown = client.get("/serials", params={"form_type": "THPT", "serial": "PT9999999"})
    assert field_error(unknown.text, "serial") == "Không có phôi mang số hiệu này trong dữ liệu của bạn."


def test_incident_form_refuses_bad_input(unit: Any) -> None:
    _, client = unit
    response = post(client, "/incidents/new", {"kind": "", "description": "ngắn"})
    assert response.status_code == 200
    assert field_error(response.text, "kind") == "Hãy chọn sự việc đã xảy ra."
    assert field_error(response.text, "description") == "Hãy mô tả sự việc, ít nhất 10 ký tự."
    assert kept(response.text, "description", "ngắn")


def test_public_report_refuses_bad_input_without_signing_in(system_stack: Stack) -> None:
    with httpx.Client(base_url=system_stack.portal) as anonymous:
        response = post(
            anonymous,
            "/cannot-sign-in",
            {"kind": "cannot_access", "reporter": "sgd-hn", "contact": "", "description": "Không vào được\x00"},
        )
        assert response.status_code == 200
        assert field_error(response.text, "contact").startswith("Hãy nhập số điện thoại")
        assert field_error(response.text, "description") == "Hãy xóa các ký tự đặc biệt trong ô này."
        assert kept(response.text, "reporter", "sgd-hn")


def test_receipt_refuses_more_than_allocated_and_a_shortfall_without_a_note(system_stack: Stack, unit: Any) -> None:
    code, client = unit
    system_stack.print_batch(20)
    token = csrf_of(client.get("/requests/new").text)
    created = client.post(
        "/requests/new",
        data={"csrf_token": token, "academic_year": "2025-2026", "line-0-form_type": "THPT", "line-0-quantity": "5"},
        files={"letter": ("cong-van.pdf", PDF, "application/pdf")},
    )
    detail_path = created.headers["location"].split("?")[0]
    detail = client.get(detail_path).text
    post(client, detail_path + "/submit", {"version": re.search(r'name="version" value="(\d+)"', detail).group(1)})  # type: ignore[union-attr]
    request = system_stack.request_of(code)
    system_stack.approve(request, [5])
    request = system_stack.wait_status(code, "allocated")
    line = request["lines"][0]["line_id"]
    response = post(
        client,
        detail_path + "/receipt",
        {"version": str(request["version"]), "received_on": "31/02/2026", f"accepted-{line}": "6", f"note-{line}": ""},
    )
    assert response.status_code == 200
    assert field_error(response.text, "received_on").startswith("Hãy nhập ngày nhận phôi")
    assert field_error(response.text, f"accepted-{line}") == "Hãy nhập số nguyên từ 0 đến số phôi được cấp."
    assert kept(response.text, f"accepted-{line}", "6")
    short = post(
        client,
        detail_path + "/receipt",
        {"version": str(request["version"]), "received_on": "01/03/2026", f"accepted-{line}": "4", f"note-{line}": ""},
    )
    assert field_error(short.text, f"note-{line}") == "Hãy ghi rõ phôi thiếu hoặc hỏng."
    assert system_stack.request_of(code)["status"] == "allocated"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(system_stack: Stack, unit: Any) -> None:
    code, client = unit
    before = request_count(system_stack, code)
    form = {"academic_year": "2025-2026", "line-0-form_type": "THPT", "line-0-quantity": "5"}
    files = {"letter": ("cong-van.pdf", PDF, "application/pdf")}
    missing = client.post("/requests/new", data=form, files=files)
    forged = client.post("/requests/new", data={**form, "csrf_token": "0" * 64}, files=files)
    with httpx.Client(base_url=system_stack.portal) as other:  # another visitor's token is no good here
        foreign = csrf_of(other.get("/cannot-sign-in").text)
    stolen = client.post("/requests/new", data={**form, "csrf_token": foreign}, files=files)
    for response in (missing, forged, stolen):
        assert response.status_code == 403
        assert "Biểu mẫu đã hết hạn" in response.text
    assert request_count(system_stack, code) == before
    signed_out = client.post("/logout")
    assert signed_out.status_code == 403  # not even sign-out without the token


def test_cookies_carry_an_opaque_id_only_with_safe_flags(system_stack: Stack) -> None:
    _, username, temporary = system_stack.new_unit_account()
    client = httpx.Client(base_url=system_stack.portal, follow_redirects=False)
    login = client.get("/login")
    for flag in ("HttpOnly", "SameSite=lax", "Path=/auth", "Max-Age=600"):
        assert flag in login.headers["set-cookie"]
    signed_in, callback = portal_sign_in(system_stack, username, temporary, new_password=NEW_PASSWORD)
    session_cookie = next(c for c in callback.headers.get_list("set-cookie") if c.startswith("phoi_session="))
    for flag in ("HttpOnly", "SameSite=lax", "Path=/", "Max-Age=36000"):
        assert flag in session_cookie
    assert "Secure" not in session_cookie  # loopback is plain HTTP; outside it the portal sets Secure
    session = signed_in.cookies["phoi_session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session), "the cookie is an opaque random id, not a token"
    page = signed_in.get("/dashboard")
    assert page.status_code == 200
    assert "eyJ" not in page.text, "no JWT in the page"
    assert all("eyJ" not in v for v in page.headers.values())


def test_every_page_sends_the_security_headers(system_stack: Stack, unit: Any) -> None:
    _, client = unit
    for path in ("/", "/dashboard", "/requests", "/stock", "/cannot-sign-in", "/nowhere"):
        headers = client.get(path).headers
        csp = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
        assert csp["script-src"] == "'self'", "no inline script"
        assert csp["style-src"] == "'self'", "no inline style"
        assert csp["frame-ancestors"] == "'none'"
        assert csp["object-src"] == "'none'"
        assert csp["form-action"].startswith("'self' http://127.0.0.1:")
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in headers  # loopback is plain HTTP
