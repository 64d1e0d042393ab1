"""The pinned front-end assets: integrity check, stamps, safe extraction, generated font CSS.

A stand-in `npm` (a small script that "packs" a tarball built here and logs each call) replaces the
registry: what is under test is what phoi_portal.assets does with the tarball npm hands back.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sys
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from phoi_portal import assets
from phoi_portal.assets import AssetError
from phoi_portal.printing import document as printing
from playwright.sync_api import Page, Route

FONT_CSS = """/* demo-vietnamese-400-normal */
@font-face {
  font-family: 'Demo Sans';
  font-style: normal;
  font-display: swap;
  font-weight: 400;
  src: url(./files/demo-vietnamese-400-normal.woff2) format('woff2'), url(./files/demo.woff) format('woff');
  unicode-range: U+0102-0103,U+1EA0-1EF9,U+20AB;
}
"""
SUBSET_CSS = """@font-face {
  font-family: 'Demo Sans';
  font-style: normal;
  font-weight: 400;
  src: url(./files/demo-vietnamese-400-normal.woff2) format('woff2');
}
"""


def make_tarball(path: Path, members: dict[str, bytes]) -> str:
    """Write a gzipped tarball like npm's and return its integrity in npm's form."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    path.write_bytes(buffer.getvalue())
    return "sha512-" + base64.b64encode(hashlib.sha512(buffer.getvalue()).digest()).decode()


class FakeNpm:
    """An `npm` executable that answers `npm pack` with a prepared tarball and counts its calls."""

    def __init__(self, root: Path, tarball: Path) -> None:
        self.calls = root / "npm-calls.log"
        self.path = root / "npm"
        self.path.write_text(
            f"#!{sys.executable}\n"
            "import json, shutil, sys\n"
            "args = sys.argv[1:]\n"
            f"open({str(self.calls)!r}, 'a').write(' '.join(args) + '\\n')\n"
            "destination = args[args.index('--pack-destination') + 1]\n"
            f"shutil.copy({str(tarball)!r}, destination)\n"
            f"print('npm notice something'); print(json.dumps([{{'filename': {tarball.name!r}}}]))\n"
        )
        self.path.chmod(0o755)

    @property
    def call_count(self) -> int:
        return len(self.calls.read_text().splitlines()) if self.calls.exists() else 0


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, FakeNpm, Path]:
    """A lock with one demo package (a script and a font), its tarball and an npm that serves it."""
    tarball = tmp_path / "demo-1.0.0.tgz"
    integrity = make_tarball(
        tarball,
        {
            "package/package.json": b'{"name": "demo", "version": "1.0.0"}',
            "package/dist/demo.min.js": b"window.demo = 1;",
            "package/files/demo-vietnamese-400-normal.woff2": b"wOF2 demo",
            "package/400.css": FONT_CSS.encode(),
            "package/vietnamese-400.css": SUBSET_CSS.encode(),
        },
    )
    lock = tmp_path / "assets.lock.json"
    entry = {
        "name": "demo",
        "version": "1.0.0",
        "integrity": integrity,
        "files": {
            "dist/demo.min.js": "demo/demo.min.js",
            "files/demo-vietnamese-400-normal.woff2": "fonts/demo-vietnamese-400-normal.woff2",
        },
        "font_css": "fonts.css",
    }
    lock.write_text(json.dumps({"packages": [entry]}))
    return lock, FakeNpm(tmp_path, tarball), tmp_path / "vendor"


def test_installs_verified_files_and_the_font_css(package: tuple[Path, FakeNpm, Path]) -> None:
    lock, npm, vendor = package

    [outcome] = assets.install(lock, vendor, str(npm.path))

    assert outcome.installed
    assert (vendor / "demo/demo.min.js").read_bytes() == b"window.demo = 1;"
    assert (vendor / "fonts/demo-vietnamese-400-normal.woff2").read_bytes() == b"wOF2 demo"
    assert not (vendor / "package.json").exists()  # only the listed files are extracted
    css = (vendor / "fonts.css").read_text()
    assert "font-family: 'Demo Sans';" in css
    assert "font-display: swap;" in css
    assert "src: url(fonts/demo-vietnamese-400-normal.woff2) format('woff2');" in css
    assert "unicode-range: U+0102-0103,U+1EA0-1EF9,U+20AB;" in css  # from 400.css, the subset file has none
    assert npm.call_count == 1
    assert "pack demo@1.0.0 --pack-destination" in npm.calls.read_text()


def test_a_tampered_integrity_is_refused(package: tuple[Path, FakeNpm, Path]) -> None:
    lock, npm, vendor = package
    data = json.loads(lock.read_text())
    digest = base64.b64decode(data["packages"][0]["integrity"].removeprefix("sha512-"))
    data["packages"][0]["integrity"] = "sha512-" + base64.b64encode(bytes([digest[0] ^ 1]) + digest[1:]).decode()
    lock.write_text(json.dumps(data))

    with pytest.raises(AssetError, match=r"demo@1\.0\.0: integrity mismatch, refusing the tarball"):
        assets.install(lock, vendor, str(npm.path))

    assert not (vendor / "demo/demo.min.js").exists()
    assert assets.main(["--lock", str(lock), "--vendor", str(vendor), "--npm", str(npm.path)]) == 1


def test_a_present_stamped_set_is_left_alone(package: tuple[Path, FakeNpm, Path], tmp_path: Path) -> None:
    lock, npm, vendor = package
    assets.install(lock, vendor, str(npm.path))

    # Any npm call would fail: the binary does not exist.
    [outcome] = assets.install(lock, vendor, str(tmp_path / "no-such-npm"))

    assert not outcome.installed
    assert npm.call_count == 1


def test_a_changed_file_is_fetched_again(package: tuple[Path, FakeNpm, Path]) -> None:
    lock, npm, vendor = package
    assets.install(lock, vendor, str(npm.path))
    (vendor / "demo/demo.min.js").write_text("alert('changed')")

    [outcome] = assets.install(lock, vendor, str(npm.path))

    assert outcome.installed
    assert npm.call_count == 2
    assert (vendor / "demo/demo.min.js").read_bytes() == b"window.demo = 1;"


def test_a_missing_npm_says_how_to_install_it(package: tuple[Path, FakeNpm, Path], tmp_path: Path) -> None:
    lock, _, vendor = package

    with pytest.raises(AssetError, match=re.escape("install Node.js/npm: apt-get install npm")):
        assets.install(lock, vendor, str(tmp_path / "no-such-npm"))


@pytest.mark.parametrize("member", ["package/../../evil.js", "/etc/evil.js", "package/dist/../../../evil.js"])
def test_extraction_refuses_paths_outside_the_package(tmp_path: Path, member: str) -> None:
    tarball = tmp_path / "evil.tgz"
    make_tarball(tarball, {"package/dist/ok.js": b"ok", member: b"evil"})
    vendor = tmp_path / "sandbox" / "vendor"

    with pytest.raises(AssetError, match="unsafe path"):
        assets.extract_files(tarball, {"dist/ok.js": "ok.js"}, vendor)

    assert not list(tmp_path.rglob("evil.js"))
    assert not (vendor / "ok.js").exists()


def test_a_lock_target_outside_the_vendor_folder_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "demo.tgz"
    make_tarball(tarball, {"package/dist/ok.js": b"ok"})

    with pytest.raises(AssetError, match="unsafe path"):
        assets.extract_files(tarball, {"dist/ok.js": "../escaped.js"}, tmp_path / "vendor")

    assert not (tmp_path / "escaped.js").exists()


def test_links_are_not_extracted(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo("package/dist/ok.js")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    tarball = tmp_path / "link.tgz"
    tarball.write_bytes(buffer.getvalue())

    with pytest.raises(AssetError, match="not a regular file"):
        assets.extract_files(tarball, {"dist/ok.js": "ok.js"}, tmp_path / "vendor")


def test_the_repository_lock_pins_every_asset_the_portal_serves() -> None:
    packages = {p.name: p for p in assets.load_lock()}

    # Each earns its place: the font on every page, Tinos in every printed record (embedded in the PDF,
    # never loaded by a page), axe-core in the browser tests. No page needs more.
    assert set(packages) == {"@fontsource/be-vietnam-pro", "@expo-google-fonts/tinos", "axe-core"}
    pdf_fonts = {Path(target).name for target in packages["@expo-google-fonts/tinos"].files.values()}
    assert pdf_fonts == {"Tinos-Regular.ttf", "Tinos-Bold.ttf", "Tinos-Italic.ttf", "LICENSE"}
    assert {f.name for f in printing.FONT_DIR.iterdir()} >= pdf_fonts - {"LICENSE"}
    templates = Path(assets.__file__).parent / "templates"
    used = {m for t in templates.rglob("*.html") for m in re.findall(r'/static/vendor/([^"]+)', t.read_text())}
    assert used == {"fonts.css"}, "pages load only the generated font stylesheet from vendor/"
    assert all(re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", p.integrity) for p in packages.values())
    fonts = [f for f in packages["@fontsource/be-vietnam-pro"].files if f.endswith(".woff2")]
    assert sorted(fonts) == sorted(
        f"files/be-vietnam-pro-{subset}-{weight}-normal.woff2"
        for subset in ("vietnamese", "latin-ext", "latin")
        for weight in (400, 600, 700)
    )
    assert "://" not in assets.LOCK_PATH.read_text()  # npm's own configuration names the registry


def test_the_vendored_font_renders_vietnamese(browser_page: Page) -> None:
    assets.install()  # a no-op after make install
    page_html = (
        '<!doctype html><html lang="vi"><head><link rel="stylesheet" href="/vendor/fonts.css"></head>'
        "<body style=\"font-family: 'Be Vietnam Pro'\"><b>Đăng ký phôi bằng tốt nghiệp</b> Trường học</body></html>"
    )

    def serve(route: Route) -> None:
        path = urlsplit(route.request.url).path
        if path == "/":
            route.fulfill(body=page_html, content_type="text/html; charset=utf-8")
        else:
            route.fulfill(path=assets.VENDOR_DIR / path.removeprefix("/vendor/"))

    browser_page.route("http://portal.test/**", serve)
    browser_page.goto("http://portal.test/")
    loaded = browser_page.evaluate(
        """async () => {
          await document.fonts.ready;
          const loaded = [...document.fonts].filter((f) => f.status === "loaded");
          return loaded.map((f) => f.weight + " " + f.unicodeRange.split(",")[0]);
        }"""
    )

    # Regular and bold text, each drawing on the Vietnamese and Latin subsets (and latin-ext, which overlaps
    # Vietnamese letters such as ă, đ, ơ); the weight not used on the page (600) is never fetched.
    vietnamese, latin = "U+102-103", "U+0-FF"  # as the browser normalises them
    for weight in ("400", "700"):
        assert f"{weight} {vietnamese}" in loaded
        assert f"{weight} {latin}" in loaded
    assert not [face for face in loaded if face.startswith("600")]
