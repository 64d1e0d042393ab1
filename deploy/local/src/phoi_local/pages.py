"""Helpers for testing the portal's pages: HTML form assertions (`field_error`, `kept`, `post` with the
CSRF token) and browser walks (`Visit`, `sign_in`, `first_sign_in`, `expect_signed_out`, `reload_until`)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from phoi_local.system import Stack, csrf_of

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
