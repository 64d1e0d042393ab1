"""Pinned front-end assets: fetch, verify and extract the packages listed in assets.lock.json.

Run as `python -m phoi_portal.assets` (make install does). For each package of the lock, the files are
left alone when a stamp says they came from the pinned tarball and they still hash the same; otherwise
`npm pack` fetches the tarball from npm's configured registry (the repository names none), its sha512 is
checked against the pinned integrity, and only the listed files are extracted. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
LOCK_PATH = PACKAGE_DIR.parents[1] / "assets.lock.json"
VENDOR_DIR = PACKAGE_DIR / "static" / "vendor"
STAMP_DIR = ".stamps"
NPM_ENV = "PHOI_NPM"  # another npm binary, e.g. for tests
NPM_MISSING = "npm was not found; install Node.js/npm: apt-get install npm"


class AssetError(Exception):
    """An asset cannot be installed; the message says why and what to do."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    files: Mapping[str, str]  # path inside the package -> path under the vendor folder
    font_css: str | None = None  # generated @font-face stylesheet, path under the vendor folder

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    def outputs(self) -> list[str]:
        return [*self.files.values(), *([self.font_css] if self.font_css else [])]


@dataclass
class Outcome:
    package: Package
    installed: bool  # False: the stamped files were already there
    files: dict[str, str] = field(default_factory=dict)


def load_lock(path: Path = LOCK_PATH) -> list[Package]:
    data = json.loads(path.read_text(encoding="utf-8"))
    packages = []
    for entry in data["packages"]:
        package = Package(
            name=entry["name"],
            version=entry["version"],
            integrity=entry["integrity"],
            files=dict(entry["files"]),
            font_css=entry.get("font_css"),
        )
        for target in package.outputs():
            if not _safe_relative(target, what=f"{package.spec}: target").name:
                raise AssetError(f"{package.spec}: target {target!r} names no file")
        packages.append(package)
    return packages


def install(
    lock: Path = LOCK_PATH, vendor: Path = VENDOR_DIR, npm: str | None = None, log: bool = False
) -> list[Outcome]:
    """Make the vendor folder match the lock; npm is only called for packages that are missing or stale."""
    outcomes = []
    for package in load_lock(lock):
        outcome = _ensure(package, vendor, npm)
        if log:
            state = "installed" if outcome.installed else "up to date"
            print(f"{package.spec}: {state}", file=sys.stderr)
        outcomes.append(outcome)
    return outcomes


def _ensure(package: Package, vendor: Path, npm: str | None) -> Outcome:
    stamp_path = _stamp_path(vendor, package)
    stamp = _read_stamp(stamp_path)
    if stamp is not None and _stamp_matches(stamp, package, vendor):
        return Outcome(package, installed=False, files=dict(stamp["files"]))
    if stamp is not None:
        _remove_outputs(vendor, stamp.get("files", {}))
    with tempfile.TemporaryDirectory(prefix="phoi-assets-") as tmp:
        tarball = npm_pack(package.spec, Path(tmp), npm)
        verify_integrity(tarball, package.integrity, package.spec)
        extract_files(tarball, package.files, vendor)
        if package.font_css:
            write_font_css(tarball, package, vendor)
    hashes = {target: _sha256(vendor / target) for target in package.outputs()}
    stamp_path.parent.mkdir(parents=True, exist_ok=True)
    body = {"name": package.name, "version": package.version, "integrity": package.integrity, "files": hashes}
    _atomic_write(stamp_path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())
    return Outcome(package, installed=True, files=hashes)


def _stamp_path(vendor: Path, package: Package) -> Path:
    return vendor / STAMP_DIR / (re.sub(r"[^A-Za-z0-9._-]", "_", package.name) + ".json")


def _read_stamp(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stamp_matches(stamp: Mapping[str, Any], package: Package, vendor: Path) -> bool:
    files = stamp.get("files")
    if stamp.get("integrity") != package.integrity or stamp.get("version") != package.version:
        return False
    if not isinstance(files, dict) or set(files) != set(package.outputs()):
        return False
    return all((vendor / target).is_file() and _sha256(vendor / target) == digest for target, digest in files.items())


def _remove_outputs(vendor: Path, files: object) -> None:
    # Files of an older pin: gone before the new ones arrive, so nothing stale lingers.
    for target in files if isinstance(files, dict) else ():
        with contextlib.suppress(AssetError, OSError):
            (vendor / _safe_relative(str(target), what="stamp entry")).unlink(missing_ok=True)


def npm_pack(spec: str, destination: Path, npm: str | None = None) -> Path:
    """Fetch one package tarball with `npm pack`; npm's own configuration decides the registry."""
    program = npm or os.environ.get(NPM_ENV) or "npm"
    executable = shutil.which(program)
    if executable is None:
        raise AssetError(f"{NPM_MISSING} (looked for {program!r})")
    command = [executable, "pack", spec, "--pack-destination", str(destination), "--json", "--ignore-scripts"]
    result = subprocess.run(command, cwd=destination, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssetError(f"npm pack {spec} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    try:
        # npm may print notices before the JSON document.
        report = json.loads(result.stdout[result.stdout.index("[") :])
        tarball = destination / PurePosixPath(report[0]["filename"]).name
    except (ValueError, LookupError, TypeError) as exc:
        raise AssetError(f"npm pack {spec}: unexpected output {result.stdout[:500]!r}") from exc
    if not tarball.is_file():
        raise AssetError(f"npm pack {spec}: {tarball.name} was not written")
    return tarball


def verify_integrity(tarball: Path, integrity: str, spec: str) -> None:
    """Refuse a tarball whose sha512 is not the pinned one (npm's `sha512-<base64>` form)."""
    pinned = [token.split("-", 1)[1] for token in integrity.split() if token.startswith("sha512-")]
    if not pinned:
        raise AssetError(f"{spec}: the lock's integrity {integrity!r} has no sha512 entry")
    digest = hashlib.sha512()
    with tarball.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    actual = base64.b64encode(digest.digest()).decode()
    if actual not in pinned:
        raise AssetError(
            f"{spec}: integrity mismatch, refusing the tarball: pinned {integrity}, got sha512-{actual}. "
            "Either the lock is wrong or the registry served something else."
        )


def extract_files(tarball: Path, files: Mapping[str, str], vendor: Path) -> None:
    """Extract only the listed regular files; any unsafe path in the tarball or the lock is refused."""
    wanted = {
        _safe_relative(source, what="source"): _safe_relative(target, what="target") for source, target in files.items()
    }
    with _open_tar(tarball) as archive:
        found: dict[PurePosixPath, tarfile.TarInfo] = {}
        for member in archive.getmembers():
            path = _package_path(member.name)
            if path in wanted:
                if not member.isfile():
                    raise AssetError(f"{tarball.name}: {member.name} is not a regular file")
                found[path] = member
        missing = sorted(str(p) for p in wanted.keys() - found.keys())
        if missing:
            raise AssetError(f"{tarball.name}: not in the package: {', '.join(missing)}")
        for source, target in wanted.items():
            reader = archive.extractfile(found[source])
            assert reader is not None  # a regular file always has content
            destination = _inside(vendor, target)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(destination, reader.read())


def write_font_css(tarball: Path, package: Package, vendor: Path) -> None:
    """One @font-face per extracted woff2, with family, style, weight and unicode-range from the package's CSS."""
    assert package.font_css is not None
    faces = _package_font_faces(tarball)
    css_path = PurePosixPath(package.font_css)
    rules = [f"/* Generated by phoi_portal.assets from {package.spec}; do not edit. */"]
    for source, target in package.files.items():
        if not source.endswith(".woff2"):
            continue
        face = faces.get(PurePosixPath(source).name)
        if face is None or "unicode-range" not in face:
            raise AssetError(f"{package.spec}: no @font-face with a unicode-range for {source} in the package's CSS")
        url = os.path.relpath(target, start=css_path.parent)
        rules.append(
            "@font-face {\n"
            f"  font-family: {face['font-family']};\n"
            f"  font-style: {face['font-style']};\n"
            f"  font-weight: {face['font-weight']};\n"
            "  font-display: swap;\n"
            f"  src: url({url}) format('woff2');\n"
            f"  unicode-range: {face['unicode-range']};\n"
            "}"
        )
    destination = _inside(vendor, _safe_relative(package.font_css, what="font_css"))
    destination.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(destination, ("\n\n".join(rules) + "\n").encode())


_FONT_FACE = re.compile(r"@font-face\s*{(?P<body>[^}]*)}")
_DECLARATION = re.compile(r"(?P<name>[a-z-]+)\s*:\s*(?P<value>[^;]+);")
_WOFF2_URL = re.compile(r"url\(\s*['\"]?(?P<url>[^'\")]+\.woff2)['\"]?\s*\)")


def _package_font_faces(tarball: Path) -> dict[str, dict[str, str]]:
    """woff2 file name -> the declarations of the richest @font-face that uses it, from the package's CSS."""
    faces: dict[str, dict[str, str]] = {}
    with _open_tar(tarball) as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.endswith(".css")):
                continue
            reader = archive.extractfile(member)
            assert reader is not None
            for block in _FONT_FACE.finditer(reader.read().decode("utf-8")):
                declarations = {m["name"]: m["value"].strip() for m in _DECLARATION.finditer(block["body"])}
                for url in _WOFF2_URL.finditer(declarations.get("src", "")):
                    name = PurePosixPath(url["url"]).name
                    # The per-subset files omit unicode-range; the per-weight files have it.
                    if len(declarations) > len(faces.get(name, {})):
                        faces[name] = declarations
    return faces


@contextlib.contextmanager
def _open_tar(tarball: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(tarball, "r:*") as archive:
            for member in archive.getmembers():
                # A hostile tarball is refused whole, even when the bad entry is not one we want.
                _safe_relative(member.name, what=f"{tarball.name}: entry")
            yield archive
    except tarfile.TarError as exc:
        raise AssetError(f"{tarball.name}: not a readable tarball ({exc})") from exc


def _package_path(name: str) -> PurePosixPath:
    # npm tarballs put everything under one top folder ("package/"); the lock names paths below it.
    parts = PurePosixPath(name).parts
    return PurePosixPath(*parts[1:]) if len(parts) > 1 else PurePosixPath(name)


def _safe_relative(path: str, *, what: str) -> PurePosixPath:
    pure = PurePosixPath(path)
    if not path or "\\" in path or pure.is_absolute() or ".." in pure.parts:
        raise AssetError(f"{what} {path!r}: unsafe path")
    return pure


def _inside(root: Path, relative: PurePosixPath) -> Path:
    destination = (root / relative).resolve()
    if not destination.is_relative_to(root.resolve()):
        raise AssetError(f"{relative}: resolves outside {root}")
    return destination


def _atomic_write(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phoi_portal.assets", description=__doc__)
    parser.add_argument("--lock", type=Path, default=LOCK_PATH)
    parser.add_argument("--vendor", type=Path, default=VENDOR_DIR)
    parser.add_argument("--npm", default=None, help=f"npm executable (default: ${NPM_ENV} or npm)")
    args = parser.parse_args(argv)
    try:
        install(args.lock, args.vendor, args.npm, log=True)
    except AssetError as exc:
        print(f"phoi_portal.assets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
