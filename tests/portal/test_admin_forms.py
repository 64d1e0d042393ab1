"""The QLCL administrator's pages (units, accounts, incidents): every form refuses bad input beside the
field, in Vietnamese, keeps what was typed and changes nothing; and a temporary password is shown once
(Article 8.2) — on the page that issued it, with `Cache-Control: no-store`, never on the account page or a
reprinted slip, and never stored by the portal. Browser-less (httpx through the real sign-in), on the
real system."""

from __future__ import annotations

import asyncio
import html
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from phoi_local.pages import field_error, kept
from phoi_local.pages import post_with_version as post
from phoi_local.system import Stack, csrf_of, portal_client

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Quan-Tri-2026!"


@pytest.fixture(scope="module")
def admin(system_stack: Stack) -> Iterator[httpx.Client]:
    username, temporary = system_stack.new_individual_account("qlcl_admin", "Lê Thị Quản")
    client = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield client
    client.close()


def no_error(page: str, field: str) -> bool:
    return f'id="{field}-error"' not in page


def new_code() -> str:
    return f"A{secrets.token_hex(3).upper()}"


def make_unit(client: httpx.Client, code: str) -> None:
    created = post(
        client,
        "/admin/units/new",
        {"code": code, "kind": "institution", "name": f"Trường THPT Kiểm thử {code}", "head_name": "Phạm Văn Hiệu"},
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"/admin/units/{code}?done=created"


def issue(client: httpx.Client, data: dict[str, str]) -> httpx.Response:
    issued = post(client, "/admin/accounts/new", data)
    assert issued.status_code == 200, issued.text
    assert 'data-testid="temporary-password"' in issued.text, issued.text
    return issued


def shows(text: str, password: str) -> bool:
    """Whether `text` (a page) holds the password, as typed or HTML-escaped."""
    return password in text or html.escape(password) in text


def password_on(page: str) -> str:
    found = re.search(r'data-testid="temporary-password">([^<]+)<', page)
    assert found, "no temporary password on the page"
    return html.unescape(found.group(1))


def account_id_on(page: str) -> str:
    found = re.search(r'href="/admin/accounts/([0-9a-f-]{36})"', page)
    assert found
    return found.group(1)


def test_unit_form_refuses_bad_input_and_keeps_it(system_stack: Stack, admin: httpx.Client) -> None:
    before = system_stack.api("identity", "GET", "/api/v1/units", system_stack.admin, params={"limit": 200}).json()
    refused = post(
        admin,
        "/admin/units/new",
        {"code": "SGD HN!", "name": "", "name_en": "Hanoi \x07DOET", "province": "Hà Nội", "head_name": "Trần Văn An"},
    )
    page = refused.text
    assert refused.status_code == 200
    assert field_error(page, "code") == "Chỉ dùng chữ cái không dấu, chữ số, dấu chấm, gạch ngang và gạch dưới."
    assert field_error(page, "name") == "Hãy nhập tên đơn vị."
    assert field_error(page, "kind") == "Hãy chọn loại đơn vị."
    assert field_error(page, "name_en") == "Hãy xóa các ký tự đặc biệt trong ô này."
    assert kept(page, "code", "SGD HN!")
    assert kept(page, "province", "Hà Nội")
    assert kept(page, "head_name", "Trần Văn An")
    after = system_stack.api("identity", "GET", "/api/v1/units", system_stack.admin, params={"limit": 200}).json()
    assert len(after["items"]) == len(before["items"])

    code = new_code()
    make_unit(admin, code)
    taken = post(admin, "/admin/units/new", {"code": code, "kind": "institution", "name": "Trường trùng mã"})
    assert "unit_exists" not in taken.text
    assert 'data-testid="error-summary"' in taken.text
    assert kept(taken.text, "name", "Trường trùng mã")


def test_unit_edit_and_status_forms(system_stack: Stack, admin: httpx.Client) -> None:
    code = new_code()
    make_unit(admin, code)
    refused = post(admin, f"/admin/units/{code}/edit", {"name": "", "province": "Đà Nẵng", "head_contact": "x" * 300})
    assert field_error(refused.text, "name") == "Hãy nhập tên đơn vị."
    assert field_error(refused.text, "head_contact") == "Hãy nhập không quá 255 ký tự."
    assert kept(refused.text, "province", "Đà Nẵng")

    # Changed meanwhile (an old version): said plainly, nothing overwritten.
    page = admin.get(f"/admin/units/{code}/edit").text
    saved = admin.post(
        f"/admin/units/{code}/edit",
        data={"csrf_token": csrf_of(page), "version": "1", "name": "Trường THPT Mới", "province": "Huế"},
    )
    assert saved.status_code == 303
    stale = admin.post(
        f"/admin/units/{code}/edit", data={"csrf_token": csrf_of(page), "version": "1", "name": "Tên cũ"}
    )
    assert stale.status_code == 200
    assert 'data-testid="error-summary"' in stale.text
    assert kept(stale.text, "name", "Tên cũ")
    unit = system_stack.api("identity", "GET", f"/api/v1/units/{code}", system_stack.admin).json()
    assert (unit["name"], unit["province"]) == ("Trường THPT Mới", "Huế")

    no_reason = post(admin, f"/admin/units/{code}/deactivate", {"reason": ""})
    assert field_error(no_reason.text, "reason") == "Hãy nhập lý do."
    assert system_stack.api("identity", "GET", f"/api/v1/units/{code}", system_stack.admin).json()["status"] == "active"
    # The deactivation is sent with the version the page showed (If-Match): an old one changes nothing.
    form = admin.get(f"/admin/units/{code}/deactivate").text
    assert '<input type="hidden" name="version" value="2">' in form
    for version in ("1", ""):  # changed meanwhile; a form without its version (identity answers 428)
        stale = admin.post(
            f"/admin/units/{code}/deactivate", data={"csrf_token": csrf_of(form), "version": version, "reason": "Cũ"}
        )
        assert stale.status_code == 200
        assert 'data-testid="error-summary"' in stale.text
        assert kept(stale.text, "reason", "Cũ")
    assert system_stack.api("identity", "GET", f"/api/v1/units/{code}", system_stack.admin).json()["status"] == "active"
    done = post(admin, f"/admin/units/{code}/deactivate", {"reason": "Sáp nhập theo Quyết định 12/QĐ"})
    assert done.status_code == 303
    assert (
        system_stack.api("identity", "GET", f"/api/v1/units/{code}", system_stack.admin).json()["status"] == "inactive"
    )
    again = post(admin, f"/admin/units/{code}/reactivate", {"reason": ""})
    assert again.status_code == 303  # the reason is optional here
    assert system_stack.api("identity", "GET", f"/api/v1/units/{code}", system_stack.admin).json()["status"] == "active"


def test_account_form_refuses_bad_input_and_keeps_it(system_stack: Stack, admin: httpx.Client) -> None:
    before = len(admin.get("/admin/accounts").text)

    def count() -> int:
        return len(
            system_stack.api("identity", "GET", "/api/v1/accounts", system_stack.admin, params={"limit": 200}).json()[
                "items"
            ]
        )

    accounts = count()
    refused = post(
        admin,
        "/admin/accounts/new",
        {
            "kind": "unit",
            "unit_code": "mã sai",
            "username": "Tên Có Dấu",
            "holder_name": "",
            "holder_position": "Văn thư",
            "holder_email": "khong-phai-email",
            "holder_phone": "abc",
        },
    )
    page = refused.text
    assert refused.status_code == 200
    assert before
    assert field_error(page, "unit_code") == "Hãy nhập mã của đơn vị nhận tài khoản, ví dụ SGD-HN."
    assert field_error(page, "username").startswith("Hãy dùng từ 3 đến 63 ký tự")
    assert field_error(page, "holder_name") == "Hãy nhập họ và tên người giữ tài khoản."
    assert field_error(page, "holder_email") == "Hãy nhập địa chỉ email dạng ten@example.vn."
    assert field_error(page, "holder_phone").startswith("Hãy nhập số điện thoại")
    assert kept(page, "holder_position", "Văn thư")
    assert kept(page, "holder_email", "khong-phai-email")
    assert 'id="kind-unit" name="kind" value="unit" checked' in page
    assert "temporary-password" not in page

    individual = post(admin, "/admin/accounts/new", {"kind": "individual", "holder_name": "Đỗ Thị Mai"})
    assert field_error(individual.text, "role") == "Hãy chọn vai trò của tài khoản."
    assert field_error(individual.text, "username").startswith("Hãy nhập tên đăng nhập")
    assert kept(individual.text, "holder_name", "Đỗ Thị Mai")
    assert count() == accounts


def test_a_temporary_password_is_shown_once_and_stored_nowhere(system_stack: Stack, admin: httpx.Client) -> None:
    code = new_code()
    make_unit(admin, code)
    issued = issue(admin, {"kind": "unit", "unit_code": code.lower(), "holder_name": "Nguyễn Thị Hoa"})
    password = password_on(issued.text)
    assert issued.headers["cache-control"] == "no-store"
    slip = re.search(r'data-testid="slip".*?</section>', issued.text, re.S)
    assert slip
    assert html.escape(password) in slip.group(0), "the slip printed from the result page carries the password"
    assert "đổi mật khẩu ngay khi nhận" in slip.group(0)
    assert code in slip.group(0)
    account_id = account_id_on(issued.text)

    account_page = admin.get(f"/admin/accounts/{account_id}")
    reprint = admin.get(f"/admin/accounts/{account_id}/slip")
    unit_page = admin.get(f"/admin/units/{code}")
    for later in (account_page, reprint, unit_page, admin.get("/admin/accounts"), admin.get("/admin/accounts/new")):
        assert later.status_code == 200
        assert not shows(later.text, password)
    assert 'data-testid="slip-no-password"' in reprint.text
    assert "đổi mật khẩu ngay khi nhận" in reprint.text
    assert password not in issued.headers.get("location", "")
    assert password not in str(issued.url)
    # Reloading the result page posts the form again: refused (the account exists), no password shown.
    reloaded = admin.send(issued.request)
    assert reloaded.status_code == 200
    assert 'data-testid="error-summary"' in reloaded.text
    assert "temporary-password" not in reloaded.text

    # A handover gives a new password, shown once in the same way.
    handed = post(
        admin, f"/admin/accounts/{account_id}/handover", {"holder_name": "Vũ Minh Tuấn", "reason": "Chuyển công tác"}
    )
    assert handed.status_code == 200
    assert handed.headers["cache-control"] == "no-store"
    second = password_on(handed.text)
    assert second != password
    reloaded = admin.send(handed.request)  # the version it carried is gone: refused, no new password
    assert 'data-testid="error-summary"' in reloaded.text
    assert "temporary-password" not in reloaded.text
    assert second not in admin.get(f"/admin/accounts/{account_id}").text
    holders = admin.get(f"/admin/accounts/{account_id}").text
    assert "Nguyễn Thị Hoa" in holders
    assert "Vũ Minh Tuấn" in holders
    assert "Chuyển công tác" in holders

    stored = portal_database_text(system_stack)
    assert "portal_sessions" in stored  # the sessions were read
    assert password not in stored
    assert second not in stored
    log = system_stack.services["portal"].log_path.read_text(encoding="utf-8", errors="replace")
    assert password not in log
    assert second not in log


def portal_database_text(stack: Stack) -> str:
    """Every row of every table of the portal's database, as text (portal_sessions included)."""
    import asyncpg

    url = stack.services["portal"].env["PORTAL_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")

    async def dump() -> str:
        connection = await asyncpg.connect(url)
        try:
            tables = await connection.fetch(
                "SELECT schemaname, tablename FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
            out = []
            for t in tables:
                rows = await connection.fetch(f'SELECT x::text AS row FROM "{t["schemaname"]}"."{t["tablename"]}" x')
                out.append(t["tablename"] + "\n" + "\n".join(r["row"] for r in rows))
            return "\n".join(out)
        finally:
            await connection.close()

    return asyncio.run(dump())


def test_handover_lock_unlock_and_disable_forms(system_stack: Stack, admin: httpx.Client) -> None:
    username, _ = system_stack.new_individual_account("auditor", "Hoàng Văn Kiểm")
    page = admin.get("/admin/accounts", params={"role": "auditor"}).text
    found = re.search(rf'<a href="/admin/accounts/([0-9a-f-]{{36}})">{re.escape(username)}</a>', page)
    assert found, "the filter by role lists the new auditor"
    account_id = found.group(1)
    assert username not in admin.get("/admin/accounts", params={"role": "qlcl_officer"}).text

    refused = post(
        admin, f"/admin/accounts/{account_id}/handover", {"holder_name": "", "holder_email": "a@b", "reason": "Nghỉ"}
    )
    assert field_error(refused.text, "holder_name") == "Hãy nhập họ và tên người giữ tài khoản."
    assert field_error(refused.text, "holder_email") == "Hãy nhập địa chỉ email dạng ten@example.vn."
    assert kept(refused.text, "reason", "Nghỉ")
    assert "temporary-password" not in refused.text

    for action in ("lock", "disable"):
        no_reason = post(admin, f"/admin/accounts/{account_id}/{action}", {"reason": " "})
        assert field_error(no_reason.text, "reason") == "Hãy nhập lý do."
    assert (
        system_stack.api("identity", "GET", f"/api/v1/accounts/{account_id}", system_stack.admin).json()["status"]
        == "pending_first_login"
    )

    locked = post(admin, f"/admin/accounts/{account_id}/lock", {"reason": "Nghi lộ mật khẩu"})
    assert locked.status_code == 303
    unlocked = post(admin, f"/admin/accounts/{account_id}/unlock", {"reset_password": "yes", "reason": ""})
    assert unlocked.status_code == 200
    assert unlocked.headers["cache-control"] == "no-store"
    assert password_on(unlocked.text) not in admin.get(f"/admin/accounts/{account_id}").text


def test_incident_resolve_form_refuses_bad_input(system_stack: Stack, admin: httpx.Client) -> None:
    reported = system_stack.api(
        "identity",
        "POST",
        "/api/v1/incidents",
        system_stack.admin,
        json={"kind": "other", "description": "Phần mềm báo lỗi khi mở trang báo cáo."},
    )
    assert reported.status_code == 201, reported.text
    incident_id = reported.json()["id"]
    assert incident_id in admin.get("/admin/incidents").text
    path = f"/admin/incidents/{incident_id}"
    refused = post(admin, path, {"action": "", "resolution": "   "}, action=f"{path}/resolve")
    assert field_error(refused.text, "action") == "Hãy chọn cách xử lý tài khoản."
    assert field_error(refused.text, "resolution") == "Hãy ghi kết quả xác minh và những việc đã làm."
    assert "Phần mềm báo lỗi" in refused.text
    impossible = post(admin, path, {"action": "keep_locked", "resolution": "Đã kiểm tra"}, action=f"{path}/resolve")
    assert 'data-testid="error-summary"' in impossible.text
    assert kept(impossible.text, "resolution", "Đã kiểm tra")

    def status() -> str:
        return str(
            system_stack.api("identity", "GET", f"/api/v1/incidents/{incident_id}", system_stack.admin).json()["status"]
        )

    assert status() == "open"
    done = post(admin, path, {"action": "none", "resolution": "Đã khắc phục lỗi máy chủ"}, action=f"{path}/resolve")
    assert done.status_code == 303
    assert status() == "resolved"
    assert "Đã khắc phục lỗi máy chủ" in admin.get(path).text


def test_sign_in_activity_and_other_roles(system_stack: Stack, admin: httpx.Client) -> None:
    page = admin.get("/admin/sign-ins")
    assert page.status_code == 200
    assert "Hoạt động đăng nhập" in page.text
    username, temporary = system_stack.new_individual_account("qlcl_officer", "Bùi Văn Cán")
    officer: Any = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    try:
        for path in ("/admin/units", "/admin/accounts", "/admin/incidents", "/admin/sign-ins"):
            assert officer.get(path).status_code == 403
    finally:
        officer.close()


def test_locking_from_an_incident_and_resolving_with_a_new_password(system_stack: Stack, admin: httpx.Client) -> None:
    code, username, _ = system_stack.new_unit_account()
    listed = system_stack.api("identity", "GET", "/api/v1/accounts", system_stack.admin, params={"unit_code": code})
    account = listed.json()["items"][0]

    def status() -> str:
        got = system_stack.api("identity", "GET", f"/api/v1/accounts/{account['id']}", system_stack.admin)
        return str(got.json()["status"])

    reported = system_stack.api(
        "identity",
        "POST",
        "/api/v1/incidents",
        system_stack.admin,
        json={"kind": "other", "account_id": account["id"], "description": "Nhà trường báo có đăng nhập lạ."},
    )
    assert reported.status_code == 201, reported.text
    path = f"/admin/incidents/{reported.json()['id']}"
    page = admin.get(path).text
    assert username in page
    version = re.search(r'action="[^"]*/lock-account".*?name="version" value="(\d+)"', page, re.S)
    assert version, "the lock form carries the account's version"

    refused = admin.post(f"{path}/lock-account", data={"csrf_token": csrf_of(page), "version": version.group(1)})
    assert field_error(refused.text, "reason") == "Hãy nhập lý do."
    assert status() == "pending_first_login"
    locked = admin.post(
        f"{path}/lock-account",
        data={"csrf_token": csrf_of(page), "version": version.group(1), "reason": "Nghi bị chiếm quyền"},
    )
    assert locked.status_code == 303
    assert status() == "locked"

    resolved = post(
        admin, path, {"action": "reset_password", "resolution": "Đã xác minh với nhà trường"}, action=f"{path}/resolve"
    )
    assert resolved.status_code == 200
    assert resolved.headers["cache-control"] == "no-store"
    password = password_on(resolved.text)
    assert html.escape(password) in re.search(r'data-testid="slip".*?</section>', resolved.text, re.S).group(0)  # type: ignore[union-attr]
    assert status() == "pending_first_login"
    assert not shows(admin.get(path).text, password)
    assert not shows(admin.get(f"/admin/accounts/{account['id']}").text, password)
