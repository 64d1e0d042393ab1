"""Browser tests: Debian's Chromium driven by Playwright's sync API, with axe-core and screenshots.

Loaded as a pytest plugin by the root conftest.py. Fixtures:
- `browser` (session): Chromium from /usr/bin/chromium (installed with apt-get when missing; Playwright
  never downloads a browser here);
- `browser_page`: a fresh context and page per test (vi-VN, Asia/Ho_Chi_Minh, 1280x900); the test fails
  at teardown if any page logged a console error or threw, unless the test expects it with
  `@pytest.mark.expect_console_errors("regex", ...)` or `page_errors.expect("regex")`;
- `a11y_check(page, name)`: runs the vendored axe-core, fails on serious or critical violations;
- `screenshot(page, name)`: a full-page PNG under .local/screenshots/<test>/<name>.png.

Browser tests are plain `def` tests (the sync API cannot run inside an asyncio loop); async fixtures and
asyncio.run() still work beside them (see _make_room_for_asyncio). Tests that use `browser` get the
`browser` marker, so `pytest -m browser` selects them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import shutil
import subprocess
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, WebError

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking switches Chromium keeps calling home (updates, field trials, safe browsing).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
LOCALE = "vi-VN"
TIMEZONE = "Asia/Ho_Chi_Minh"
VIEWPORT = {"width": 1280, "height": 900}
FAILING_IMPACTS = ("serious", "critical")
OPTIONAL_ENV = "PHOI_BROWSER_OPTIONAL"  # set to 1: skip browser tests where Chromium cannot be installed


class BrowserUnavailable(Exception):
    """Chromium is missing and could not be installed; the message says what to do."""


def ensure_chromium(path: Path = CHROMIUM) -> Path:
    """Debian's chromium package, installed with apt-get if missing (never a download from elsewhere)."""
    if os.access(path, os.X_OK):
        return path
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise BrowserUnavailable(f"{path} is missing and apt-get is not available: install Debian's chromium package")
    if os.geteuid() != 0:
        raise BrowserUnavailable(f"{path} is missing; install it as root: apt-get install -y chromium")
    install = [apt_get, "-o", "DPkg::Lock::Timeout=600", "install", "-y", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        # Usually an empty or stale package list (fresh containers ship none).
        subprocess.run([apt_get, "-o", "DPkg::Lock::Timeout=600", "update"], capture_output=True, env=env, check=False)
        result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if not os.access(path, os.X_OK):
        raise BrowserUnavailable(f"apt-get install -y chromium did not provide {path}: {result.stderr.strip()[-1500:]}")
    return path


# The event loops of running sync Playwright instances (see _make_room_for_asyncio).
_PLAYWRIGHT_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


@contextlib.contextmanager
def _playwright_loop_set_aside() -> Iterator[None]:
    loop = asyncio._get_running_loop()
    if loop is None or loop not in _PLAYWRIGHT_LOOPS:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


def _make_room_for_asyncio() -> None:
    """Let asyncio runners (pytest-asyncio's, asyncio.run()) work while a sync Playwright is alive.

    Playwright's sync API keeps its event loop marked as this thread's running loop between calls (its
    own code relies on that), so pytest-asyncio would refuse every async fixture and test that follows
    ("cannot be called from a running event loop"). A runner sets that loop aside while it runs and
    puts it back after: nothing of Playwright runs meanwhile, its dispatcher is suspended.
    """
    runner = asyncio.Runner
    if getattr(runner.run, "phoi_patched", False):
        return
    original_run, original_close = runner.run, runner.close

    def run(self: asyncio.Runner, coro: Any, *, context: Any = None) -> Any:
        with _playwright_loop_set_aside():
            return original_run(self, coro, context=context)

    def close(self: asyncio.Runner) -> None:
        with _playwright_loop_set_aside():
            original_close(self)

    original_asyncio_run = asyncio.run

    def asyncio_run(main: Any, *, debug: bool | None = None) -> Any:
        with _playwright_loop_set_aside():
            return original_asyncio_run(main, debug=debug)

    run.phoi_patched = True  # type: ignore[attr-defined]
    runner.run, runner.close = run, close  # type: ignore[method-assign]
    asyncio.run = asyncio.runners.run = asyncio_run


@contextlib.contextmanager
def playwright_session() -> Iterator[Playwright]:
    """Playwright's sync API, living alongside pytest-asyncio in the same thread."""
    from playwright.sync_api import sync_playwright

    _make_room_for_asyncio()
    playwright = sync_playwright().start()
    loop = asyncio._get_running_loop()
    if loop is not None:
        _PLAYWRIGHT_LOOPS.add(loop)
    try:
        yield playwright
    finally:
        playwright.stop()


def launch_chromium(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    return playwright.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS))


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    settings: dict[str, Any] = {"locale": LOCALE, "timezone_id": TIMEZONE, "viewport": VIEWPORT, **options}
    return browser.new_context(**settings)


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions of every page in a context."""

    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._on_console)
        context.on("weberror", self._on_error)

    def expect(self, pattern: str) -> None:
        """Errors matching `pattern` (a regex, searched) are part of what the test checks."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]

    def check(self) -> None:
        unexpected = self.unexpected()
        if unexpected:
            listing = "\n".join(f"  - {m}" for m in unexpected)
            pytest.fail(f"the browser reported {len(unexpected)} error(s):\n{listing}", pytrace=False)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            url, line = message.location.get("url"), message.location.get("lineNumber")
            where = f" at {url}:{line}" if url else ""
            self.messages.append(f"console error{where}: {message.text}")

    def _on_error(self, error: WebError) -> None:
        page = error.page.url if error.page else "?"
        self.messages.append(f"uncaught {error.error.name} on {page}: {error.error.message}")


@dataclass(frozen=True)
class Violation:
    id: str
    impact: str | None
    help: str
    help_url: str
    nodes: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"  - [{self.impact}] {self.id}: {self.help} ({self.help_url})"]
        lines += [f"      {node}" for node in self.nodes]
        return "\n".join(lines)


_AXE_RUN = """async (options) => {
  const results = await window.axe.run(document, options);
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => {
      const [first, ...reasons] = (n.failureSummary || "").split("\\n").map((s) => s.trim()).filter(Boolean);
      return n.target.join(" ") + " — " + [first, reasons.join("; ")].filter(Boolean).join(" ");
    }),
  }));
}"""


def axe_script() -> Path:
    """The vendored axe.min.js (installed by `python -m phoi_portal.assets`; installed here if missing)."""
    from phoi_portal import assets

    for outcome in assets.install():
        if outcome.package.name == "axe-core":
            target = next(t for s, t in outcome.package.files.items() if s.endswith("axe.min.js"))
            return assets.VENDOR_DIR / target
    raise RuntimeError("axe-core is not in services/portal/assets.lock.json")


def run_axe(page: Page, script: Path, options: dict[str, Any] | None = None) -> list[Violation]:
    """All axe violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, not a <script> tag: the portal's CSP forbids inline scripts.
        page.evaluate(f"() => {{\n{script.read_text(encoding='utf-8')}\n}}")
    found = page.evaluate(_AXE_RUN, options or {"resultTypes": ["violations"]})
    return [Violation(v["id"], v["impact"], v["help"], v["helpUrl"], tuple(v["nodes"])) for v in found]


def check_accessibility(page: Page, name: str, script: Path, options: dict[str, Any] | None = None) -> list[Violation]:
    """Fail on serious or critical axe violations; return all of them (minor ones included)."""
    __tracebackhide__ = True
    violations = run_axe(page, script, options)
    failing = [v for v in violations if v.impact in FAILING_IMPACTS]
    if failing:
        listing = "\n".join(v.describe() for v in failing)
        pytest.fail(f"accessibility: {len(failing)} serious/critical problem(s) on {name!r} ({page.url}):\n{listing}")
    return violations


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "page"  # Vietnamese letters are fine in file names


def pytest_collection_modifyitems(items: Sequence[pytest.Item]) -> None:
    for item in items:
        # Only this plugin's `browser`: a test folder may define its own fixture of that name.
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}).get("browser", ())
        if definitions and getattr(definitions[-1].func, "__module__", None) == __name__:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Path:
    try:
        return ensure_chromium()
    except BrowserUnavailable as exc:
        if os.environ.get(OPTIONAL_ENV) == "1":
            pytest.skip(f"no browser: {exc}")
        pytest.fail(f"no browser for the browser tests: {exc} (or set {OPTIONAL_ENV}=1 to skip them)")


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Browser]:
    with playwright_session() as playwright:
        browser = launch_chromium(playwright, chromium)
        yield browser
        browser.close()


@pytest.fixture
def page_errors(request: pytest.FixtureRequest) -> PageErrors:
    errors = PageErrors()
    for marker in request.node.iter_markers("expect_console_errors"):
        for pattern in marker.args:
            errors.expect(pattern)
    return errors


@pytest.fixture
def browser_page(browser: Browser, page_errors: PageErrors, request: pytest.FixtureRequest) -> Iterator[Page]:
    if inspect.iscoroutinefunction(getattr(request, "function", None)):
        pytest.fail("browser tests use Playwright's sync API: write them as plain `def` tests", pytrace=False)
    context = new_context(browser)
    page_errors.watch(context)
    try:
        yield context.new_page()
    finally:
        context.close()
    page_errors.check()


@pytest.fixture(scope="session")
def axe_core() -> Path:
    return axe_script()


@pytest.fixture
def a11y_check(axe_core: Path) -> Callable[..., list[Violation]]:
    def _check(page: Page, name: str, options: dict[str, Any] | None = None) -> list[Violation]:
        __tracebackhide__ = True
        return check_accessibility(page, name, axe_core, options)

    return _check


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    folder = request.config.rootpath / ".local" / "screenshots" / safe_name(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pictures of this test

    def _take(page: Page, name: str) -> Path:
        path = folder / f"{safe_name(name)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return _take
