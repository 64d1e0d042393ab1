"""The whole story across roles, in a real browser, in Vietnamese; each person in a browser of their own.

The administrator registers a unit, issues its account and prints the slip; the unit signs in, changes its
temporary password and submits a request; the officer records a print batch and approves fewer blanks than
asked, and the unit sees its serial ranges; a second request is bigger than the central stock, waits for it
(the unit sees it waiting) and is allocated when the officer records another batch; the unit confirms
receipt and records a used and a spoiled blank; the administrator hands the account over, which signs the
first holder out, and the new holder finds the same requests and carries on; the new holder reports a
suspected takeover (locked, signed out) and the administrator resolves it with a new temporary password;
the auditor finds every step in the audit log, exports it and verifies the chain. Every page is checked
with axe-core and saved as a screenshot; no page may log a console error.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from phoi_local.browser import PageErrors, new_context
from phoi_local.pages import (
    Visit,
    confirm_receipt,
    create_and_submit,
    expect_signed_out,
    export_audit_entries,
    first_sign_in,
    hand_over,
    issue_unit_account,
    record_batch,
    record_movement,
    register_unit,
    reload_until,
    report_takeover,
    review_and_approve,
    see_waiting_then_refill,
    verify_audit_chain,
)
from phoi_local.system import FORM_TYPE, Stack
from playwright.sync_api import Browser, BrowserContext, Page, expect

# One continuous story through every role: longer than the suite's 300 s per test on a loaded machine.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

ADMIN_PASSWORD = "Quan-Tri-2026!"
OFFICER_PASSWORD = "Can-Bo-2026!"
AUDITOR_PASSWORD = "Kiem-Toan-2026!"
UNIT_PASSWORD = "Don-Vi-2026!"
NEW_HOLDER_PASSWORD = "Nguoi-Moi-2026!"
RESTORED_PASSWORD = "Mo-Lai-2026!"

ALLOCATED = "Đã cấp số hiệu, chờ xác nhận nhận phôi"
WAITING = "Đã duyệt, chờ phôi nhập kho"
RECEIVED = "Đã nhận"

# The entries about the unit, one type per step of the story; the last is the last to be recorded.
UNIT_STEPS = (
    "unit.created.v1",  # the administrator registers the unit
    "account.created.v1",  # and issues its account
    "auth.login_succeeded.v1",
    "auth.password_updated.v1",  # the holder changes the temporary password
    "request.created.v1",
    "request.submitted.v1",
    "request.approved.v1",
    "allocation.waiting_for_stock.v1",  # the second request waits
    "allocation.completed.v1",
    "request.receipt_confirmed.v1",
    "stock.received_by_unit.v1",
    "stock.movement_recorded.v2",
    "account.handed_over.v1",
    "incident.reported.v1",
    "account.locked.v1",  # a suspected takeover locks the account at once
    "account.password_reset.v1",  # resolving the incident: a new temporary password, and unlocked
    "account.unlocked.v1",
)
# The incident's entries (its resolution is the administrator's act, filed under QLCL, not the unit).
INCIDENT_STEPS = ("incident.reported.v1", "incident.resolved.v1")
OFFICER_STEPS = ("request.approved.v1", "print_batch.received.v1")

Person = Callable[[str], tuple[Page, Visit]]


@pytest.fixture
def person(browser: Browser, page_errors: PageErrors, a11y_check: Any, screenshot: Any) -> Iterator[Person]:
    """Opens a browser of one's own (a context: its cookies, its session) for each person in the story;
    their pages are visited under their name. Console errors of any of them fail the test."""
    contexts: list[BrowserContext] = []

    def open_for(name: str) -> tuple[Page, Visit]:
        context = new_context(browser)
        page_errors.watch(context)
        contexts.append(context)
        page = context.new_page()
        return page, Visit(page, a11y_check, screenshot, prefix=f"{name}-")

    yield open_for
    for context in contexts:
        context.close()
    page_errors.check()


def test_the_whole_story_across_roles(stack: Stack, person: Person, tmp_path: Path) -> None:
    admin, admin_visit, _ = staff(person, stack, "1-admin", "qlcl_admin", "Lê Thị Quản", ADMIN_PASSWORD)
    code = f"S{secrets.token_hex(3).upper()}"
    register_unit(admin, admin_visit, code)
    unit_user, first_password = issue_unit_account(admin, admin_visit, code)

    holder, holder_visit = person("2-unit")
    first_sign_in(holder, stack, unit_user, first_password, UNIT_PASSWORD, visit=holder_visit, change="update-password")
    expect(holder.get_by_test_id("who")).to_contain_text("Nguyễn Thị Hoa")
    holder_visit("dashboard")
    first = create_and_submit(holder, holder_visit, 40, "Dự kiến 38 học sinh tốt nghiệp")

    officer, officer_visit, officer_user = staff(
        person, stack, "3-officer", "qlcl_officer", "Trần Văn Bình", OFFICER_PASSWORD
    )
    record_batch(officer, officer_visit, stack, 50, "01/12/2026")
    ranges = approve_fewer(officer, officer_visit, first)
    see_request(holder, holder_visit, stack, first, ALLOCATED, "request-allocated")
    expect(holder.get_by_test_id("lines")).to_contain_text(ranges)  # the serials QLCL allocated, as the unit sees them
    second = wait_for_stock(officer, officer_visit, holder, holder_visit, stack)
    labels = receive_and_record(holder, holder_visit, stack, first, ranges)

    second_password = hand_over(admin, admin_visit)
    expect_signed_out(holder, stack, within=5)
    new_holder, new_visit = person("4-new-holder")
    first_sign_in(new_holder, stack, unit_user, second_password, NEW_HOLDER_PASSWORD)
    expect(new_holder.get_by_test_id("who")).to_contain_text("Vũ Minh Tuấn")
    new_visit("dashboard")
    carry_on(new_holder, new_visit, stack, first, second, labels)

    report_takeover(new_holder, new_visit, "Sổ ghi mật khẩu của người giữ trước bị thất lạc.")
    restored = resolve_with_a_new_password(admin, admin_visit, code, unit_user)
    first_sign_in(new_holder, stack, unit_user, restored, RESTORED_PASSWORD)
    expect(new_holder.get_by_test_id("who")).to_contain_text("Vũ Minh Tuấn")
    new_visit("dashboard-restored")

    auditor, auditor_visit, _ = staff(person, stack, "5-auditor", "auditor", "Đỗ Thu Hà", AUDITOR_PASSWORD)
    audit_the_story(auditor, auditor_visit, code, officer_user, tmp_path)


def staff(person: Person, stack: Stack, name: str, role: str, holder: str, password: str) -> tuple[Page, Visit, str]:
    """`holder`, a QLCL staff member with a new account of `role`, signed in (temporary password changed)
    in a browser of their own, on the dashboard: their page, its visits and their username."""
    page, visit = person(name)
    username, temporary = stack.new_individual_account(role, holder)
    first_sign_in(page, stack, username, temporary, password)
    expect(page.get_by_test_id("who")).to_contain_text(holder)
    visit("dashboard")
    return page, visit, username


def approve_fewer(page: Page, visit: Visit, request_id: str) -> str:
    """The officer approves 30 of the 40 blanks asked and sees them allocated; returns the ranges shown."""
    review_and_approve(page, visit, request_id, approve="30", reason="Duyệt theo số học sinh dự kiến tốt nghiệp")
    allocated = page.get_by_test_id("allocated")
    page.evaluate("() => { window.phoiSamePage = true; }")
    # While the inventory allocates, the page looks again by itself (portal.js) and shows the serials in place.
    expect(allocated).to_contain_text("(30)", timeout=30_000)
    assert page.evaluate("() => window.phoiSamePage === true"), "the page was reloaded, not updated in place"
    visit("review-allocated")
    return allocated.inner_text()


def wait_for_stock(officer: Page, officer_visit: Visit, holder: Page, holder_visit: Visit, stack: Stack) -> str:
    """A second request asks for more than the vault holds: approved, it waits (both see the shortfall)
    until the officer records another batch, then both see it allocated. Returns its id."""
    shortfall = 25
    holder.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Tổng quan").click()
    second = create_and_submit(holder, holder_visit, stack.central_free() + shortfall, "Bổ sung cho kỳ thi lại")
    review_and_approve(officer, officer_visit, second, approve=None, reason="")
    expect(officer.get_by_test_id("shortfall")).to_contain_text(str(shortfall), timeout=30_000)
    officer_visit("review-waiting")
    see_request(holder, holder_visit, stack, second, WAITING, "request-waiting")
    expect(holder.get_by_test_id("shortfall")).to_contain_text(str(shortfall))
    see_waiting_then_refill(officer, officer_visit, stack, second, shortfall)
    see_request(holder, holder_visit, stack, second, ALLOCATED, "second-allocated")
    return second


def see_request(page: Page, visit: Visit, stack: Stack, request_id: str, status: str, name: str) -> None:
    """The unit opens its request and finds it in `status` (the events may take a moment to arrive)."""
    page.goto(f"{stack.portal}/requests/{request_id}")
    reload_until(page, page.get_by_test_id("status").filter(has_text=status), within=30)
    visit(name)


def receive_and_record(page: Page, visit: Visit, stack: Stack, request_id: str, ranges: str) -> list[str]:
    """The unit confirms receipt of the first request's blanks and records the first as used for a diploma
    and the second as spoiled; 28 of 30 are left. Returns the labels of those two serials."""
    labels = [f"PT{first_serial(ranges) + i:07d}" for i in range(2)]
    page.goto(f"{stack.portal}/requests/{request_id}")
    confirm_receipt(page, visit)
    visit("request-received")
    record_movement(page, visit, "use", labels[0], register_entry="1", document="Sổ gốc 01/2026", name="movement")
    record_movement(page, visit, "spoil", labels[1], document="BB-HỎNG-01")
    expect(page.get_by_test_id("stock").locator("tr[data-state=at_unit]")).to_contain_text("28")
    visit("stock")
    return labels


def carry_on(page: Page, visit: Visit, stack: Stack, first: str, second: str, labels: list[str]) -> None:
    """The new holder finds the requests of the holder before (one received, one waiting for receipt),
    confirms receipt of the second and records its first blank as used."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Đề nghị cấp phôi").click()
    requests = page.get_by_test_id("requests")
    expect(requests.locator("tr", has=page.locator(f'a[href="/requests/{first}"]'))).to_contain_text(RECEIVED)
    expect(requests.locator("tr", has=page.locator(f'a[href="/requests/{second}"]'))).to_contain_text(ALLOCATED)
    visit("requests")
    page.locator(f'a[href="/requests/{second}"]').click()
    ranges = page.get_by_test_id("lines").inner_text()
    confirm_receipt(page, visit)
    serial = f"PT{first_serial(ranges):07d}"
    record_movement(page, visit, "use", serial, register_entry="2", document="Sổ gốc 01/2026", name="movement")
    page.goto(f"{stack.portal}/serials")
    page.get_by_label("Loại phôi").select_option(FORM_TYPE)
    page.get_by_label("Số hiệu").fill(labels[0])
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.get_by_test_id("serial-result")).to_contain_text("Đã sử dụng")  # recorded by the holder before
    visit("serial")


def first_serial(ranges: str) -> int:
    """The first serial of ranges as the pages show them ("PT0000031 – PT0000060 (30)")."""
    found = re.search(r"PT(\d{7})", ranges)
    assert found, ranges
    return int(found.group(1))


def resolve_with_a_new_password(page: Page, visit: Visit, code: str, username: str) -> str:
    """The administrator finds the unit's incident, resolves it with a new temporary password (which
    unlocks the account) and returns that password, shown once."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Sự cố", exact=True).click()
    row = page.get_by_test_id("incidents").locator("tr", has_text=code)
    expect(row).to_contain_text("Tài khoản đã bị khóa")
    visit("incidents")
    row.get_by_role("link").first.click()
    expect(page.locator(".summary").first).to_contain_text(username)
    visit("incident")
    page.get_by_label("Cấp mật khẩu tạm thời mới và mở khóa").check()
    page.get_by_label("Kết quả xác minh và những việc đã làm").fill("Đã xác minh với nhà trường; cấp mật khẩu mới.")
    page.get_by_role("button", name="Xử lý xong sự cố").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã cấp mật khẩu tạm thời mới")
    password = page.get_by_test_id("temporary-password").inner_text()
    visit("new-password")
    return password


def audit_the_story(page: Page, visit: Visit, code: str, officer: str, tmp_path: Path) -> None:
    """Every step is in the log and in its CSV export: the unit's (filtered by unit), its incident's
    (followed from the report to its subject) and the officer's (filtered by who); then the whole chain
    is verified."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Nhật ký kiểm toán").click()
    page.get_by_label("Đơn vị liên quan").fill(code)
    page.get_by_role("button", name="Lọc").click()
    rows = find_steps(page, visit, UNIT_STEPS, "unit", tmp_path)
    assert {row["unit_code"] for row in rows} == {code}

    page.locator('tr[data-type="incident.reported.v1"] .audit-subject a').click()
    find_steps(page, visit, INCIDENT_STEPS, "incident", tmp_path)

    page.get_by_label("Đối tượng").fill("")
    page.get_by_label("Người thực hiện").fill(officer)
    page.get_by_role("button", name="Lọc").click()
    rows = find_steps(page, visit, OFFICER_STEPS, "officer", tmp_path)
    assert [row["type"] for row in rows].count("print_batch.received.v1") == 2  # the batch, and the refill
    assert {row["actor_username"] for row in rows} == {officer}
    verify_audit_chain(page, visit)


def find_steps(page: Page, visit: Visit, steps: tuple[str, ...], name: str, tmp_path: Path) -> list[dict[str, str]]:
    """The filtered log lists an entry of every type in `steps` (the audit service records events as they
    arrive: the last may still be on its way), and so does its export; returns the export's rows."""
    reload_until(page, page.locator(f'tr[data-type="{steps[-1]}"]').first, within=30)
    for step in steps:
        expect(page.locator(f'tr[data-type="{step}"]').first).to_be_visible()
    visit(f"audit-log-{name}")
    rows = export_audit_entries(page, visit, tmp_path / f"{name}.csv")
    assert set(steps) <= {row["type"] for row in rows}
    return rows
