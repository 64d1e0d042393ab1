"""An auditor's walk in the portal, in a real browser, in Vietnamese.

A unit makes a request through its portal form and submits it, QLCL approves it (API) and inventory
allocates its serials; once the audit service has recorded those steps, a new auditor account signs in
(changing its temporary password), opens the request and follows its "Nhật ký kiểm toán" link to the
story in the audit log, opens an entry with its hash and the previous entry's hash, exports the entries
as CSV (the download holds them), runs the chain verification and sees it intact, and finds the audit
trail of one of the request's serials. Every page is checked with axe-core and saved as a screenshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from phoi_local.pages import Visit, export_audit_entries, first_sign_in, verify_audit_chain
from phoi_local.procutil import wait_until
from phoi_local.system import FORM_TYPE, Stack, portal_client, portal_request
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_PASSWORD = "Kiem-Toan-2026!"
STORY = ("request.created.v1", "request.submitted.v1", "request.approved.v1", "allocation.completed.v1")


def test_an_auditor_follows_a_request_through_the_audit_log(
    stack: Stack, browser_page: Page, a11y_check: Any, screenshot: Any, tmp_path: Path
) -> None:
    page = browser_page
    visit = Visit(page, a11y_check, screenshot)
    request_id, first_serial = a_request_with_its_story(stack)
    username, temporary = stack.new_individual_account("auditor")
    sign_in_for_the_first_time(page, visit, stack, username, temporary)
    follow_the_request_to_its_story(page, visit, stack, request_id)
    open_an_entry(page, visit, stack)
    export_the_story(page, visit, stack, username, request_id, tmp_path)
    verify_audit_chain(page, visit)
    find_a_serials_trail(page, visit, request_id, first_serial)


def a_request_with_its_story(stack: Stack) -> tuple[str, int]:
    """Made through the unit's own portal form; returns its id and its first serial, once every step of
    its story is in the audit log."""
    stack.print_batch(30)
    unit, unit_user, temporary = stack.new_unit_account()
    client = portal_client(stack, unit_user, temporary, new_password="Phoi-Moi-2026!")
    try:
        request_id = portal_request(client, 12, submit=True)
    finally:
        client.close()
    stack.approve(stack.request_of(unit), [12])
    allocated = stack.wait_status(unit, "allocated")

    def story_recorded() -> bool:
        entries = stack.api("audit", "GET", "/api/v1/entries", stack.admin, params={"subject": request_id})
        return set(STORY) <= {e["type"] for e in entries.json()["items"]}

    wait_until(story_recorded, timeout=30, what="the request's story in the audit log", interval=0.2)
    return request_id, allocated["lines"][0]["allocated_ranges"][0]["first"]


def sign_in_for_the_first_time(page: Page, visit: Visit, stack: Stack, username: str, temporary: str) -> None:
    first_sign_in(page, stack, username, temporary, NEW_PASSWORD)
    visit("auditor-dashboard")
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Nhật ký kiểm toán").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhật ký kiểm toán")
    visit("audit-log")


def follow_the_request_to_its_story(page: Page, visit: Visit, stack: Stack, request_id: str) -> None:
    page.goto(f"{stack.portal}/requests/{request_id}")
    visit("request-detail")
    page.get_by_test_id("audit-trail").click()
    expect(page.locator("#subject")).to_have_value(request_id)
    entries = page.get_by_test_id("entries")
    for step in ("Tạo đề nghị", "Gửi đề nghị", "Duyệt đề nghị", "Số hiệu được cấp"):
        expect(entries).to_contain_text(step)
    visit("audit-log-request")
    # A day range backwards is refused beside the field, what was typed kept.
    page.locator("#start").fill("02/01/2026")
    page.locator("#end").fill("01/01/2026")
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Ngày kết thúc không được trước ngày bắt đầu.")
    expect(page.locator("#start")).to_have_value("02/01/2026")
    visit("audit-log-bad-range")
    page.locator("#start").fill("")
    page.locator("#end").fill("")
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_test_id("entries")).to_contain_text("Duyệt đề nghị")


def open_an_entry(page: Page, visit: Visit, stack: Stack) -> None:
    row = page.locator('tr[data-type="request.approved.v1"]')
    sequence = int(row.get_by_role("link").first.inner_text())
    row.get_by_role("link").first.click()
    entry = stack.api("audit", "GET", f"/api/v1/entries/{sequence}", stack.admin).json()
    previous = stack.api("audit", "GET", f"/api/v1/entries/{sequence - 1}", stack.admin).json()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Mục {sequence}")
    expect(page.get_by_test_id("hash")).to_have_text(entry["hash"])
    expect(page.get_by_test_id("prev-hash")).to_contain_text(previous["hash"])
    expect(page.get_by_test_id("payload")).to_contain_text("Duyệt theo số học sinh thực tế")  # the comment
    visit("audit-entry")
    page.get_by_test_id("entry").get_by_role("link").first.click()  # the subject: back to the story


def export_the_story(page: Page, visit: Visit, stack: Stack, username: str, request_id: str, tmp_path: Path) -> None:
    rows = export_audit_entries(page, visit, tmp_path / "nhat-ky.csv")
    assert set(STORY) <= {row["type"] for row in rows}
    assert {row["subject"] for row in rows} == {request_id}

    def audited() -> bool:
        found = stack.api("audit", "GET", "/api/v1/entries", stack.admin, params={"type": "data.exported.v1"})
        return any(
            e["actor"]["username"] == username and e["payload"]["filters"].get("subject") == request_id
            for e in found.json()["items"]
        )

    wait_until(audited, timeout=30, what="the export recorded in the audit log", interval=0.2)


def find_a_serials_trail(page: Page, visit: Visit, request_id: str, first_serial: int) -> None:
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Tra cứu số hiệu").click()
    page.get_by_label("Loại phôi").select_option(FORM_TYPE)
    page.get_by_label("Số hiệu").fill(str(first_serial))
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.get_by_test_id("serial-result")).to_be_visible()
    visit("serial-with-trail")
    page.get_by_test_id("audit-trail").get_by_role("link").first.click()
    expect(page.locator("#subject")).to_have_value(request_id)
    expect(page.get_by_test_id("entries")).to_contain_text("Số hiệu được cấp")
