"""The QLCL administrator's work in the portal, in a real browser, in Vietnamese.

The administrator registers a unit and issues its unit account, sees the temporary password once and
prints the handover slip; the unit signs in with it and must change it (a second browser); the
administrator hands the account over to a new holder, which ends the first holder's session, and the new
holder signs in; someone reports on the public page that they cannot sign in, and the administrator
locks the account from the incident and resolves it. Every page is checked with axe-core and saved as a
screenshot.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from phoi_local.browser import new_context
from phoi_local.pages import Visit, expect_signed_out, first_sign_in, hand_over, issue_unit_account, register_unit
from phoi_local.system import Stack
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN_PASSWORD = "Quan-Tri-2026!"
UNIT_PASSWORD = "Don-Vi-2026!"
NEW_HOLDER_PASSWORD = "Nguoi-Moi-2026!"


def test_the_administrator_issues_hands_over_and_handles_an_incident(
    stack: Stack, browser_page: Page, a11y_check: Any, screenshot: Any, page_errors: Any
) -> None:
    page = browser_page
    visit = Visit(page, a11y_check, screenshot)
    username, temporary = stack.new_individual_account("qlcl_admin", "Lê Thị Quản")
    first_sign_in(page, stack, username, temporary, ADMIN_PASSWORD, visit=visit, change="update-password")
    visit("dashboard")

    code = f"B{secrets.token_hex(3).upper()}"
    register_unit(page, visit, code)
    unit_user, first_password = issue_unit_account(page, visit, code)

    browser = page.context.browser
    assert browser is not None
    other = new_context(browser)
    page_errors.watch(other)
    unit_page = other.new_page()
    unit_visit = Visit(unit_page, a11y_check, screenshot, prefix="unit-")
    first_sign_in(
        unit_page, stack, unit_user, first_password, UNIT_PASSWORD, visit=unit_visit, change="update-password"
    )
    expect(unit_page.get_by_test_id("who")).to_contain_text("Nguyễn Thị Hoa")
    unit_visit("dashboard")

    second_password = hand_over(page, visit)
    expect_signed_out(unit_page, stack, within=5)
    first_sign_in(
        unit_page, stack, unit_user, second_password, NEW_HOLDER_PASSWORD, visit=unit_visit, change="update-password"
    )
    expect(unit_page.get_by_test_id("who")).to_contain_text("Vũ Minh Tuấn")
    unit_visit("dashboard-new-holder")

    reference = report_from_the_public_page(unit_page, unit_visit, stack, unit_user)
    handle_the_incident(page, visit, reference, unit_user)
    expect_signed_out(unit_page, stack, within=5)  # locking from the incident ended the holder's session
    other.close()

    page.get_by_role("link", name="Hoạt động đăng nhập").click()
    expect(page.get_by_test_id("events")).to_contain_text(unit_user)
    visit("sign-in-activity")


def report_from_the_public_page(page: Page, visit: Visit, stack: Stack, username: str) -> str:
    page.goto(stack.portal + "/cannot-sign-in")
    page.get_by_label("Tôi không đăng nhập được hoặc phần mềm không hoạt động").check()
    page.get_by_label("Tên đăng nhập hoặc mã đơn vị của bạn").fill(username)
    page.get_by_label("Số điện thoại hoặc địa chỉ email").fill("0912 345 678")
    page.get_by_label("Mô tả sự việc").fill("Có người khác đăng nhập tài khoản của trường chúng tôi.")
    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Báo cáo của bạn đã được gửi đến Cục QLCL")
    visit("reported")
    return page.locator(".panel-confirmation strong").inner_text()


def handle_the_incident(page: Page, visit: Visit, reference: str, username: str) -> None:
    page.get_by_role("link", name="Sự cố", exact=True).click()
    row = page.locator(f'tr[data-reference="{reference}"]')
    expect(row).to_contain_text("Trang công khai")
    visit("incidents")
    row.get_by_role("link").click()
    expect(page.get_by_test_id("reference")).to_have_text(reference)
    expect(page.locator(".summary").first).to_contain_text(username)
    visit("incident")
    page.get_by_label("Lý do khóa").fill("Nghi bị chiếm quyền, chờ xác minh với nhà trường")
    page.get_by_role("button", name="Khóa tài khoản").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Đã khóa tài khoản")
    visit("incident-account-locked")
    page.get_by_role("button", name="Xử lý xong sự cố").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Hãy chọn cách xử lý tài khoản")
    visit("incident-errors")
    page.get_by_label("Giữ nguyên trạng thái khóa").check()
    page.get_by_label("Kết quả xác minh và những việc đã làm").fill(
        "Đã gọi điện cho nhà trường; giữ khóa đến khi bàn giao."
    )
    page.get_by_role("button", name="Xử lý xong sự cố").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Đã xử lý xong sự cố")
    expect(page.get_by_test_id("resolution")).to_contain_text("giữ khóa đến khi bàn giao")
    visit("incident-resolved")
