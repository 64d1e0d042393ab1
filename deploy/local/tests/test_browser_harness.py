"""The browser-test harness itself: Chromium via Playwright, axe-core, console errors, screenshots.

Pages come from a tiny static server that sends a strict Content-Security-Policy like the portal's, so
the checks are proven to work where inline scripts are forbidden.
"""

from __future__ import annotations

import asyncio
import functools
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from phoi_local.browser import PageErrors, Violation
from phoi_local.procutil import free_port
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

HEAD = '<meta charset="utf-8"><link rel="icon" href="/favicon.ico"><link rel="stylesheet" href="/site.css">'
PAGES = {
    "clean.html": f"""<!doctype html><html lang="vi"><head>{HEAD}<title>Đăng ký phôi</title></head>
<body><main><h1>Đăng ký phôi bằng tốt nghiệp</h1>
<form><label for="ten">Họ và tên</label> <input id="ten" name="ten"> <button type="submit">Gửi</button></form>
<div class="tall">Nội dung dài</div></main></body></html>""",
    "bad.html": f"""<!doctype html><html lang="vi"><head>{HEAD}<title>Trang lỗi</title></head>
<body><main><h1>Trang lỗi</h1><p class="faint">Chữ quá nhạt</p><input name="ma"></main></body></html>""",
    "console.html": f"""<!doctype html><html lang="vi"><head>{HEAD}<title>Lỗi</title>
<script src="/broken.js"></script></head><body><main><h1>Lỗi</h1></main></body></html>""",
    "site.css": "body { font-family: sans-serif; color: #1a1a1a; background: #fff; }\n"
    ".faint { color: #d9d9d9; }\n.tall { height: 2000px; }\n",
    "broken.js": "console.error('hỏng rồi: không tải được dữ liệu');\nthrow new Error('boom');\n",
}


class StrictHandler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    for name, content in PAGES.items():
        (root / name).write_text(content, encoding="utf-8")
    (root / "favicon.ico").write_bytes(b"\x00\x00\x01\x00\x00\x00")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(StrictHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


A11yCheck = Callable[..., list[Violation]]


def test_axe_reports_serious_violations_readably(browser_page: Page, site: str, a11y_check: A11yCheck) -> None:
    browser_page.goto(f"{site}/bad.html")

    with pytest.raises(pytest.fail.Exception) as failure:
        a11y_check(browser_page, "trang lỗi")

    report = str(failure.value)
    assert "on 'trang lỗi'" in report
    assert "[serious] color-contrast" in report
    assert "[critical] label" in report
    assert "      input — Fix any of the following: Element does not have an implicit (wrapped) <label>;" in report


def test_axe_passes_a_clean_page(browser_page: Page, site: str, a11y_check: A11yCheck) -> None:
    browser_page.goto(f"{site}/clean.html")

    violations = a11y_check(browser_page, "trang sạch")

    assert not [v for v in violations if v.impact in ("serious", "critical")]


@pytest.mark.expect_console_errors("hỏng rồi", "boom")
def test_console_and_page_errors_are_collected(browser_page: Page, site: str, page_errors: PageErrors) -> None:
    browser_page.goto(f"{site}/console.html")
    browser_page.wait_for_load_state("load")

    assert any("console error" in m and "hỏng rồi: không tải được dữ liệu" in m for m in page_errors.messages)
    assert any(m.startswith("uncaught Error") and "boom" in m for m in page_errors.messages)
    assert page_errors.unexpected() == []  # both expected by the marker, so teardown lets the test pass


def test_an_unexpected_browser_error_fails_the_test_at_teardown(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser: b\n    expect_console_errors: e\n")
    (tmp_path / "test_pages.py").write_text(
        "import pytest\n\n"
        "def test_logs(browser_page):\n"
        "    browser_page.set_content(\"<script>console.error('hỏng rồi')</script>\")\n\n"
        "def test_throws(browser_page):\n"
        "    browser_page.set_content(\"<script>throw new Error('boom')</script>\")\n\n"
        "@pytest.mark.expect_console_errors('hỏng')\n"
        "def test_expected(browser_page):\n"
        "    browser_page.set_content(\"<script>console.error('hỏng rồi')</script>\")\n\n"
        "def test_clean(browser_page):\n"
        "    browser_page.set_content('<p>ổn</p>')\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "pytest", "-p", "phoi_local.browser", "-p", "no:cacheprovider", "-q", "-rE"]
    result = subprocess.run(
        [*command, "test_pages.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )

    output = result.stdout
    assert result.returncode == 1, output
    assert "4 passed, 2 errors" in output, output  # errors at teardown of the two unexpected ones
    assert "ERROR test_pages.py::test_logs" in output, output
    assert "ERROR test_pages.py::test_throws" in output, output
    assert "  - console error: hỏng rồi" in output, output
    assert "  - uncaught Error on about:blank: boom" in output, output


def test_screenshots_are_written_full_page(
    browser_page: Page, site: str, screenshot: Callable[[Page, str], Path], request: pytest.FixtureRequest
) -> None:
    browser_page.goto(f"{site}/clean.html")

    path = screenshot(browser_page, "trang sạch")

    assert path.name == "trang_sạch.png"

    folder = request.config.rootpath / ".local" / "screenshots" / "test_screenshots_are_written_full_page"
    assert path.parent == folder
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1280
    assert height > 2000  # the whole page, not the 900 px viewport


def test_pages_have_the_vietnamese_locale_and_time_zone(browser_page: Page) -> None:
    settings = browser_page.evaluate(
        "() => [navigator.language, new Date().getTimezoneOffset(), innerWidth, innerHeight]"
    )

    assert settings == ["vi-VN", -7 * 60, 1280, 900]  # UTC+7 all year (ICU calls the zone Asia/Saigon)


def test_browser_tests_carry_the_marker(browser_page: Page, request: pytest.FixtureRequest) -> None:
    # Given by the plugin to the test itself (this module's pytestmark sits on the module).
    assert "browser" in [marker.name for marker in request.node.own_markers]


@pytest.fixture
async def async_resource() -> Any:
    await asyncio.sleep(0)
    yield "ready"
    await asyncio.sleep(0)


def test_async_fixtures_work_after_the_browser(browser_page: Page, async_resource: str) -> None:
    browser_page.set_content("<p>ổn</p>")
    assert async_resource == "ready"


def test_async_fixtures_work_before_the_browser(async_resource: str, browser_page: Page) -> None:
    browser_page.set_content("<p>ổn</p>")
    assert browser_page.inner_text("p") == "ổn"


async def test_async_tests_run_after_browser_tests() -> None:
    # Playwright's sync API left its loop marked as running in this thread; pytest-asyncio would refuse.
    await asyncio.sleep(0)


def test_the_browser_works_after_async_tests(browser_page: Page) -> None:
    # A fresh page subscribes to events, which needs Playwright's loop in place again.
    browser_page.set_content("<p>vẫn ổn</p>")
    assert asyncio.run(asyncio.sleep(0, result="asyncio.run too")) == "asyncio.run too"
    assert browser_page.inner_text("p") == "vẫn ổn"
