"""A QLCL officer's day in the portal, in a real browser, in Vietnamese.

A new officer account signs in (changing its temporary password), records a print batch, reviews a
request a unit submitted through its own pages, approves fewer blanks than asked and sees them
allocated; a second request is bigger than the central stock, waits with its shortfall shown, and is
allocated once the officer records another print batch. Then the usage report of that unit and a
serial lookup. Every page is checked with axe-core and saved as a screenshot.
"""

from __future__ import annotations

from typing import Any

import pytest
from phoi_local.pages import Visit, first_sign_in, reload_until
from phoi_local.system import FORM_TYPE, Stack, portal_client, portal_request
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
        first = portal_request(unit_client, 40, submit=True)
        review_and_approve(page, visit, first, approve="30", reason="Duyệt theo số học sinh dự kiến tốt nghiệp")
        expect(page.get_by_test_id("allocated")).to_contain_text("(30)", timeout=30_000)
        visit("review-allocated")
        second = portal_request(unit_client, central_free(stack) + 25, submit=True)
        review_and_approve(page, visit, second, approve=None, reason="")
        expect(page.get_by_test_id("shortfall")).to_contain_text("25", timeout=30_000)
        visit("review-waiting")
        see_waiting_then_refill(page, visit, stack, second)
        check_usage_and_serial(page, visit, unit)
    finally:
        unit_client.close()


def sign_in_first_time(page: Page, visit: Visit, stack: Stack, username: str, temporary: str) -> None:
    first_sign_in(page, stack, username, temporary, NEW_PASSWORD)
    expect(page.get_by_test_id("who")).to_contain_text("Trần Văn Bình")
    visit("officer-dashboard")


def record_batch(
    page: Page, visit: Visit, stack: Stack, quantity: int, received_on: str, *, waited_for: bool = False
) -> None:
    """Through the portal's form: a mistake first (the message beside the field), then the batch. A batch
    a request `waited_for` goes to it at once, so it is not in the vault."""
    first, last = stack.next_serials(quantity)
    page.get_by_role("link", name="Lô in", exact=True).click()
    visit("print-batches")
    page.get_by_role("link", name="Ghi nhận lô in").first.click()
    page.get_by_label("Loại phôi").select_option(FORM_TYPE)
    page.get_by_label("Số hiệu đầu").fill(str(first))
    page.get_by_label("Số hiệu cuối").fill(str(last))
    page.get_by_label("Nhà in").fill("Nhà in Tiến Bộ")
    page.get_by_label("Số hợp đồng").fill("HĐ-15/2026/QLCL")
    page.get_by_label("Ngày nhận").fill("31/13/2026")
    page.get_by_role("button", name="Ghi nhận lô in").click()
    expect(page.locator("#received_on-error")).to_contain_text(
        "Hãy nhập ngày nhận theo dạng ngày/tháng/năm, ví dụ 31/05/2026."
    )
    expect(page.get_by_label("Nhà in")).to_have_value("Nhà in Tiến Bộ")
    visit("print-batch-error")
    page.get_by_label("Ngày nhận").fill(received_on)
    page.get_by_role("button", name="Ghi nhận lô in").click()
    expect(page.get_by_test_id("notice")).to_contain_text(f"thêm {quantity} phôi")
    expect(page.get_by_test_id("print-batches")).to_contain_text(f"PT{first:07d} – PT{last:07d}")
    visit("print-batch-recorded")
    page.get_by_role("link", name="Kho trung tâm").click()
    vault = expect(page.get_by_test_id("central-stock"))
    if waited_for:
        vault.not_to_contain_text(f"PT{last:07d}")
    else:
        vault.to_contain_text(f"PT{last:07d}")
    visit("central-stock")


def review_and_approve(page: Page, visit: Visit, request_id: str, *, approve: str | None, reason: str) -> None:
    """From the queue (oldest first): the request, its letter, the unit's stock and usage; then approve."""
    page.get_by_role("link", name="Xem xét đề nghị", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đề nghị cần xem xét")
    visit("review-queue")
    page.locator(f'a[href="/review/{request_id}"]').click()
    expect(page.get_by_test_id("letters")).to_contain_text("cong-van-de-nghi.pdf")
    expect(page.get_by_test_id("context")).to_contain_text(FORM_TYPE)
    visit("review")
    page.get_by_label("Phê duyệt", exact=True).check()
    if approve is not None:
        page.locator("input[id^=approved-]").fill(approve)
        page.get_by_role("button", name="Ghi nhận quyết định").click()
        expect(page.locator("#reason-error")).to_contain_text("Hãy nêu lý do duyệt ít phôi hơn")
        expect(page.locator("input[id^=approved-]")).to_have_value(approve)
        visit("review-error")
        page.get_by_label("Lý do hoặc ý kiến").fill(reason)
    page.get_by_role("button", name="Ghi nhận quyết định").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Đã phê duyệt đề nghị")


def central_free(stack: Stack) -> int:
    """Blanks of the form type in the vault, not allocated (other tests share the system)."""
    items = stack.api(
        "inventory", "GET", "/api/v1/stock", stack.officer, params={"unit_code": "QLCL", "form_type": FORM_TYPE}
    ).json()["items"]
    return sum(i["count"] for i in items if i["state"] == "central")


def see_waiting_then_refill(page: Page, visit: Visit, stack: Stack, request_id: str) -> None:
    page.get_by_role("link", name="Cấp phát", exact=True).click()
    expect(page.locator(f'[data-testid=waiting] tr[data-request="{request_id}"]')).to_contain_text("25")
    visit("allocations-waiting")
    record_batch(page, visit, stack, 25, "02/12/2026", waited_for=True)
    page.get_by_role("link", name="Cấp phát", exact=True).click()
    reload_until(page, page.locator(f'[data-testid=allocated] tr[data-request="{request_id}"]'), within=30)
    expect(page.locator(f'[data-testid=waiting] tr[data-request="{request_id}"]')).to_have_count(0)
    visit("allocations-done")
    page.locator(f'[data-testid=allocated] tr[data-request="{request_id}"] a').first.click()
    expect(page.get_by_test_id("status")).to_contain_text("Đã cấp số hiệu")
    visit("review-second-allocated")


def check_usage_and_serial(page: Page, visit: Visit, unit: str) -> None:
    """Reports across units: the unit chooser; the serial lookup."""
    page.get_by_role("link", name="Báo cáo sử dụng phôi").click()
    page.get_by_label("Mã đơn vị").fill(unit)
    page.get_by_role("button", name="Xem").click()
    expect(page.locator("main")).to_contain_text(f"Đơn vị {unit}")
    visit("usage-report-unit")
    page.get_by_role("link", name="Tra cứu số hiệu").click()
    visit("serial-lookup")
