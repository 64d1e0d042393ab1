"""A QLCL officer's day in the portal, in a real browser, in Vietnamese.

A new officer account signs in (changing its temporary password), records a print batch, reviews a
request a unit submitted through its own pages (its letter's digital signature verified), approves fewer
blanks than asked and sees them allocated; a second request is bigger than the central stock, waits
with its shortfall shown, and is allocated once the officer records another print batch. Then the
usage report of that unit and a serial lookup. Every page is checked with axe-core and saved as a screenshot.
"""

from __future__ import annotations

from typing import Any

import pytest
from phoi_local.pages import Visit, first_sign_in, record_batch, review_and_approve, see_waiting_then_refill
from phoi_local.system import Stack, portal_client, portal_request
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_PASSWORD = "Phoi-Moi-2026!"


def test_an_officer_reviews_approves_and_refills_the_stock(
    stack: Stack, browser_page: Page, a11y_check: Any, screenshot: Any
) -> None:
    page = browser_page
    visit = Visit(page, a11y_check, screenshot)
    username, temporary = stack.new_individual_account("qlcl_officer")
    unit, unit_user, unit_temporary = stack.new_unit_account()
    unit_client = portal_client(stack, unit_user, unit_temporary, new_password=NEW_PASSWORD)
    try:
        sign_in_first_time(page, visit, stack, username, temporary)
        record_batch(page, visit, stack, 50, "01/12/2026")
        first = portal_request(unit_client, 40, submit=True, letter=stack.signed_letter("Đỗ Thị Hương"))
        review_and_approve(page, visit, first, approve="30", reason="Duyệt theo số học sinh dự kiến tốt nghiệp")
        # the letter's digital signature, as the requests service verified it on upload
        expect(page.get_by_test_id("signature")).to_contain_text(
            "Chữ ký số hợp lệ — ký bởi Đỗ Thị Hương (Sở Giáo dục và Đào tạo Hà Nội)"
        )
        expect(page.get_by_test_id("letters")).to_contain_text("chưa kiểm tra được tình trạng thu hồi")
        expect(page.get_by_test_id("allocated")).to_contain_text("(30)", timeout=30_000)
        visit("review-allocated")
        second = portal_request(unit_client, stack.central_free() + 25, submit=True)
        review_and_approve(page, visit, second, approve=None, reason="")
        expect(page.get_by_test_id("signature")).to_have_text("Không có chữ ký số.")
        expect(page.get_by_test_id("shortfall")).to_contain_text("25", timeout=30_000)
        visit("review-waiting")
        see_waiting_then_refill(page, visit, stack, second, 25)
        check_usage_and_serial(page, visit, unit)
    finally:
        unit_client.close()


def sign_in_first_time(page: Page, visit: Visit, stack: Stack, username: str, temporary: str) -> None:
    first_sign_in(page, stack, username, temporary, NEW_PASSWORD)
    expect(page.get_by_test_id("who")).to_contain_text("Trần Văn Bình")
    visit("officer-dashboard")


def check_usage_and_serial(page: Page, visit: Visit, unit: str) -> None:
    """Reports across units: the unit chooser; the serial lookup."""
    page.get_by_role("link", name="Báo cáo sử dụng phôi").click()
    page.get_by_label("Mã đơn vị").fill(unit)
    page.get_by_role("button", name="Xem").click()
    expect(page.locator("main")).to_contain_text(f"Đơn vị {unit}")
    visit("usage-report-unit")
    page.get_by_role("link", name="Tra cứu số hiệu").click()
    visit("serial-lookup")
