"""Helpers for testing the portal's pages: HTML form assertions (`field_error`, `kept`, `post` with the CSRF
token), a request's history as shown (`timeline`), browser walks (`Visit`, `sign_in`, `first_sign_in`,
`expect_signed_out`, `reload_until`), and the steps of each role that more than one walk takes (the
administrator's `register_unit`, `issue_unit_account`, `hand_over`; the unit's `create_and_submit`,
`confirm_receipt`, `record_movement`, `report_takeover`; the officer's `record_batch`,
`review_and_approve`, `see_waiting_then_refill`; the auditor's `export_audit_entries`,
`verify_audit_chain`)."""

from __future__ import annotations

import csv
import html
import io
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from phoi_local.system import FORM_TYPE, PDF, Stack, csrf_of

# --- HTML forms (httpx) ---


def field_error(page: str, field: str) -> str:
    """The message shown beside `field`; asserts it is linked from the error summary and the field is
    marked invalid (a fieldset, which cannot carry aria-invalid, is marked through its inputs)."""
    beside = re.search(rf'id="{re.escape(field)}-error">(.*?)</p>', page, re.S)
    assert beside, f"no error beside {field}"
    assert f'href="#{field}"' in page, f"{field} is not linked from the error summary"
    marked = re.search(rf'<(?:input|select|textarea|fieldset)[^>]*id="{re.escape(field)}"[^>]*>', page)
    assert marked, f"no field {field}"
    is_fieldset = marked.group(0).startswith("<fieldset")
    assert is_fieldset or 'aria-invalid="true"' in marked.group(0), f"{field} is not marked invalid"
    return html.unescape(re.sub(r"<[^>]+>", "", beside.group(1))).replace("Lỗi:", "").strip()


def kept(page: str, field: str, value: str) -> bool:
    """Whether the input or textarea `field` still holds `value` (as the page escapes it)."""
    escaped = html.escape(value, quote=True)
    tag = re.search(rf'<(input|textarea)[^>]*id="{re.escape(field)}"[^>]*>([^<]*)', page)
    return tag is not None and (f'value="{escaped}"' in tag.group(0) or tag.group(2) == escaped)


def timeline(page: str) -> str:
    """The text of a request's history as its page shows it (`data-testid="timeline"`), tags removed."""
    found = re.search(r'<ol class="timeline" data-testid="timeline">(.*?)</ol>', page, re.S)
    assert found, "no timeline on the page"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))).strip()


def pdf_text(content: bytes) -> str:
    """The text of a PDF as a reader (or a search) extracts it: NFC, whitespace runs as one space."""
    import io
    import unicodedata

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", text))


def post(
    client: httpx.Client,
    form_path: str,
    data: dict[str, str],
    *,
    action: str | None = None,
    keep_version: bool = False,
    **kw: Any,
) -> httpx.Response:
    """Post `data` with the CSRF token of the form page at `form_path` (to `action` when given); with
    `keep_version`, also the form's hidden `version` (unless `data` names one)."""
    page = client.get(form_path).text
    hidden = dict(re.findall(r'<input type="hidden" name="(version)" value="([^"]*)"', page)) if keep_version else {}
    return client.post(action or form_path, data={"csrf_token": csrf_of(page), **hidden, **data}, **kw)


def post_with_version(
    client: httpx.Client, form_path: str, data: dict[str, str], action: str | None = None
) -> httpx.Response:
    """`post` that also sends the form's hidden `version`, as a browser would."""
    return post(client, form_path, data, action=action, keep_version=True)


# --- browser walks (Playwright) ---


class Visit:
    """Every page the walk reaches is checked for accessibility and photographed, in order."""

    def __init__(self, page: Page, a11y_check: Any, screenshot: Any, prefix: str = "") -> None:
        self.page, self.a11y_check, self.screenshot, self.prefix, self.n = page, a11y_check, screenshot, prefix, 0

    def __call__(self, name: str) -> None:
        self.n += 1
        label = f"{self.prefix}{self.n:02d}-{name}"
        self.page.wait_for_load_state("load")
        self.screenshot(self.page, label)
        self.a11y_check(self.page, label)


def _log_in(page: Page, username: str, password: str) -> None:
    page.get_by_role("link", name="Đăng nhập").click()
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#kc-login").click()


def sign_in(page: Page, stack: Stack, username: str, password: str) -> None:
    """From the portal's start page through Keycloak's sign-in form."""
    page.goto(stack.portal + "/")
    _log_in(page, username, password)


def first_sign_in(
    page: Page,
    stack: Stack,
    username: str,
    temporary: str,
    new: str,
    *,
    visit: Callable[[str], None] | None = None,
    start: str | None = None,
    change: str | None = None,
) -> None:
    """Article 8.2: a temporary password must be changed before anything else; ends on the dashboard.
    With `visit`, the start page is visited as `start` and the password form as `change` when named."""
    page.goto(stack.portal + "/")
    if visit and start:
        visit(start)
    _log_in(page, username, temporary)
    expect(page.locator("#password-new")).to_be_visible()
    if visit and change:
        visit(change)
    page.locator("#password-new").fill(new)
    page.locator("#password-confirm").fill(new)
    page.locator("#kc-submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan")


def reload_until(page: Page, locator: Locator, *, within: float) -> None:
    """Reload `page` until `locator` is visible, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while not locator.is_visible():
        assert time.monotonic() < deadline, "did not appear in time"
        page.wait_for_timeout(300)  # the browser's own pacing between reloads of a real page
        page.reload()


def expect_signed_out(page: Page, stack: Stack, *, within: float) -> None:
    """The other browser's next page is the sign-in page, at the latest `within` seconds from now."""
    deadline = time.monotonic() + within
    while True:
        page.goto(stack.portal + "/dashboard")
        if not re.search(r"/dashboard$", page.url):
            return
        assert time.monotonic() < deadline, "the other session was still signed in after the deadline"
        page.wait_for_timeout(200)  # the browser's own pacing between polls of a real page, not a sync sleep


# --- the administrator's steps ---


def register_unit(page: Page, visit: Visit, code: str) -> None:
    """A new unit through the form: a mistake first (the summary lists it), then the unit."""
    page.get_by_role("link", name="Đơn vị", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đơn vị")
    visit("units")
    page.get_by_role("link", name="Thêm đơn vị").click()
    visit("unit-new")
    page.get_by_role("button", name="Thêm đơn vị").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Hãy nhập mã đơn vị")
    visit("unit-new-errors")
    page.get_by_label("Mã đơn vị").fill(code)
    page.get_by_label("Cơ sở giáo dục").check()
    page.get_by_label("Tên", exact=True).fill(f"Trường THPT Chu Văn An {code}")
    page.get_by_label("Tỉnh, thành phố (không bắt buộc)").fill("Hà Nội")
    page.get_by_label("Họ và tên (không bắt buộc)").fill("Phạm Văn Hiệu")
    page.get_by_label("Chức vụ (không bắt buộc)").fill("Hiệu trưởng")
    page.get_by_role("button", name="Thêm đơn vị").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Đã thêm đơn vị")
    expect(page.get_by_test_id("unit-status")).to_contain_text("Đang hoạt động")
    visit("unit")


def issue_unit_account(page: Page, visit: Visit, code: str) -> tuple[str, str]:
    """From the unit's page: (username, temporary password). The password is on the result page and its
    slip, once; the reprint leaves it out. Ends on the account's page."""
    page.get_by_role("link", name="Cấp tài khoản cho đơn vị").click()
    expect(page.get_by_label("Mã đơn vị (tài khoản đơn vị)")).to_have_value(code)
    visit("account-new")
    page.get_by_label("Họ và tên", exact=True).fill("Nguyễn Thị Hoa")
    page.get_by_label("Chức vụ (không bắt buộc)").fill("Văn thư")
    page.get_by_role("button", name="Cấp tài khoản").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã cấp tài khoản")
    password = page.get_by_test_id("temporary-password").inner_text()
    username = page.get_by_test_id("username").inner_text()
    expect(page.get_by_test_id("slip-password")).to_have_text(password)
    visit("account-issued")
    page.emulate_media(media="print")  # the slip as printed: A4, no menu, the password on it
    expect(page.get_by_role("navigation", name="Menu chính")).to_be_hidden()
    expect(page.get_by_test_id("temporary-password")).to_be_hidden()
    expect(page.get_by_test_id("slip")).to_contain_text("đổi mật khẩu ngay khi nhận")
    expect(page.get_by_test_id("slip-password")).to_have_text(password)
    visit("slip-printed")
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Đến trang tài khoản").click()
    expect(page.get_by_test_id("holder")).to_contain_text("Nguyễn Thị Hoa")
    assert_not_shown(page, password)
    visit("account")
    page.get_by_role("link", name="In lại phiếu bàn giao").click()
    expect(page.get_by_test_id("slip-no-password")).to_be_visible()
    assert_not_shown(page, password)
    visit("slip-reprint")
    page.get_by_role("link", name="Quay lại tài khoản").click()
    return username, password


def assert_no_error_summary(page: Page) -> None:
    """The page a submission led to has no error summary; if it has one, its text is the failure's message."""
    summary = page.get_by_test_id("error-summary")
    assert summary.count() == 0, summary.inner_text()


def assert_not_shown(page: Page, password: str) -> None:
    """A password shown once is not on this page, as typed or as the page would escape it."""
    content = page.content()
    assert password not in content
    assert html.escape(password) not in content


def hand_over(page: Page, visit: Visit) -> str:
    """Article 8.4, from the account's page: a new holder and a new temporary password, shown once (returned).
    The holder's first sign-in changes the account (identity reads it from Keycloak's log within a second or
    so): the page is read again once it says so, as the administrator would before handing over."""
    reload_until(page, page.get_by_test_id("account-status").filter(has_text="Đang hoạt động"), within=15)
    page.get_by_role("link", name="Bàn giao cho người giữ mới").click()
    visit("handover")
    page.get_by_label("Họ và tên người giữ mới").fill("Vũ Minh Tuấn")
    page.get_by_label("Email (không bắt buộc)").fill("khong-hop-le")
    page.get_by_role("button", name="Bàn giao tài khoản").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Hãy nhập địa chỉ email")
    expect(page.get_by_label("Họ và tên người giữ mới")).to_have_value("Vũ Minh Tuấn")
    visit("handover-errors")
    # an email belongs to one account: each journey's new holder has their own (they share the system)
    page.get_by_label("Email (không bắt buộc)").fill(f"tuan.vm.{secrets.token_hex(3)}@example.vn")
    page.get_by_label("Lý do (không bắt buộc)").fill("Người giữ trước chuyển công tác (công văn 12/THPT)")
    with page.expect_navigation():
        page.get_by_role("button", name="Bàn giao tài khoản").click()
    assert_no_error_summary(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã bàn giao tài khoản")
    password = page.get_by_test_id("temporary-password").inner_text()
    visit("handed-over")
    page.get_by_role("link", name="Đến trang tài khoản").click()
    expect(page.get_by_test_id("holders")).to_contain_text("Nguyễn Thị Hoa")
    expect(page.get_by_test_id("holders")).to_contain_text("Vũ Minh Tuấn")
    assert_not_shown(page, password)
    visit("account-after-handover")
    return password


# --- the unit's steps ---


def create_and_submit(page: Page, visit: Visit, quantity: int, justification: str) -> str:
    """A new request for `quantity` blanks with its signed letter, saved as a draft, then submitted;
    returns its id."""
    page.get_by_role("link", name="Tạo đề nghị mới").first.click()
    visit("request-new")
    page.get_by_label("Năm học").fill("2025-2026")
    page.get_by_label("Kỳ thi (không bắt buộc)").fill("Kỳ thi tốt nghiệp THPT năm 2026")
    page.locator("#line-0-form_type").select_option(FORM_TYPE)
    page.locator("#line-0-quantity").fill(str(quantity))
    page.locator("#line-0-justification").fill(justification)
    page.locator("#letter").set_input_files(
        {"name": "cong-van-de-nghi.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Lưu đề nghị").click()
    expect(page.get_by_test_id("notice")).to_contain_text("lưu nháp")
    expect(page.get_by_test_id("status")).to_contain_text("Bản nháp")
    expect(page.get_by_role("link", name="cong-van-de-nghi.pdf")).to_be_visible()
    visit("request-draft")
    page.get_by_role("button", name="Gửi Cục QLCL").click()
    expect(page.get_by_test_id("status")).to_contain_text("Đã gửi, chờ xét duyệt")
    visit("request-submitted")
    return urllib.parse.urlsplit(page.url).path.rsplit("/", 1)[-1]


def confirm_receipt(page: Page, visit: Visit) -> None:
    """From an allocated request's page: the unit confirms it received the blanks."""
    page.get_by_role("link", name="Xác nhận đã nhận phôi").click()
    visit("receipt")
    page.get_by_role("button", name="Xác nhận đã nhận phôi").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Đã xác nhận nhận phôi")
    expect(page.get_by_test_id("status")).to_contain_text("Đã nhận")


def record_movement(
    page: Page, visit: Visit, kind: str, serial: str, *, register_entry: str = "", document: str = "", name: str = ""
) -> None:
    """One blank (`serial`, its label) used, spoiled, lost…; the form is visited as `name` when given."""
    page.goto(urllib.parse.urljoin(page.url, "/movements/new"))
    if name:
        visit(name)
    page.locator(f"#kind-{kind}").check()
    page.get_by_label("Số hiệu đầu").fill(serial)
    if register_entry:
        page.locator("#register_entry_first").fill(register_entry)
    if document:
        page.locator("#document_ref").fill(document)
    page.get_by_role("button", name="Ghi nhận").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Đã ghi nhận: 1 phôi")


def report_takeover(page: Page, visit: Visit, description: str) -> None:
    """Article 8.5, from the account page: the holder suspects someone else uses the account; it is locked
    at once and this session ends."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Tài khoản", exact=True).click()
    page.get_by_role("link", name="Báo cáo sự cố truy cập").click()
    visit("incident")
    page.get_by_label("Tôi nghi ngờ người khác đang sử dụng tài khoản của tôi").check()
    page.get_by_label("Mô tả sự việc").fill(description)
    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bạn đã đăng xuất")
    visit("signed-out")


# --- the officer's steps ---


def record_batch(
    page: Page, visit: Visit, stack: Stack, quantity: int, received_on: str, *, waited_for: bool = False
) -> tuple[int, int]:
    """Through the portal's form: a mistake first (the message beside the field), then the batch of
    `quantity` new serials (returned: first, last). A batch a request `waited_for` goes to it at once, so
    it is not in the vault."""
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
    return first, last


def review_and_approve(page: Page, visit: Visit, request_id: str, *, approve: str | None, reason: str) -> None:
    """From the queue (oldest first): the request, its letter, the unit's stock and usage; then approve
    (`approve` blanks with its `reason`, a mistake first; everything asked when None)."""
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


def see_waiting_then_refill(page: Page, visit: Visit, stack: Stack, request_id: str, shortfall: int) -> None:
    """The request waits for `shortfall` blanks on the allocations page; a batch of that many is recorded
    and the request is allocated. Ends on its review page."""
    page.get_by_role("link", name="Cấp phát", exact=True).click()
    expect(page.locator(f'[data-testid=waiting] tr[data-request="{request_id}"]')).to_contain_text(str(shortfall))
    visit("allocations-waiting")
    record_batch(page, visit, stack, shortfall, "02/12/2026", waited_for=True)
    page.get_by_role("link", name="Cấp phát", exact=True).click()
    reload_until(page, page.locator(f'[data-testid=allocated] tr[data-request="{request_id}"]'), within=30)
    expect(page.locator(f'[data-testid=waiting] tr[data-request="{request_id}"]')).to_have_count(0)
    visit("allocations-done")
    page.locator(f'[data-testid=allocated] tr[data-request="{request_id}"] a').first.click()
    expect(page.get_by_test_id("status")).to_contain_text("Đã cấp số hiệu")
    visit("review-second-allocated")


# --- the auditor's steps ---


def verify_audit_chain(page: Page, visit: Visit) -> None:
    """From the menu: the whole chain verified, and shown intact."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Kiểm tra nhật ký").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiểm tra tính toàn vẹn của nhật ký")
    visit("verify")
    page.get_by_role("button", name="Kiểm tra toàn bộ nhật ký").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_contain_text("Nhật ký kiểm toán còn nguyên vẹn")
    expect(result).to_contain_text("Nguyên vẹn đến mục")
    visit("verify-intact")


def export_audit_entries(page: Page, visit: Visit, saved: Path) -> list[dict[str, str]]:
    """From the audit log: the entries as filtered, exported as CSV; the download is saved as `saved` and
    its rows returned."""
    with page.expect_download() as download:
        page.get_by_role("link", name="Xuất các mục này ra tệp CSV").click()
    expect(page.locator("[data-export-status]")).to_contain_text("Đã xuất xong")
    visit("audit-exported")
    download.value.save_as(saved)
    assert download.value.suggested_filename.startswith("nhat-ky-kiem-toan_")
    return list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
