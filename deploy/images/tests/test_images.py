"""The images, built and started for real on a machine with no Docker engine and no registry (`make image-test`).

buildah builds deploy/images/Dockerfile on a Debian base made by debootstrap (base-image.sh), then one
image migrates a database of the test PostgreSQL and serves until /readyz answers, as Kubernetes would run
it. Slow (minutes): not part of `make test`; `.ci/run` calls it after. Prints a JSON summary (image sizes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from phoi_kit.db import asyncpg_url
from phoi_local.procutil import free_port, stop_process, wait_until
from phoi_local.testing import BrokerHandle, DatabaseServer

ROOT = Path(__file__).resolve().parents[3]
IMAGES = ROOT / "deploy" / "images"
SERVICES = ("identity", "requests", "inventory", "audit", "portal")
BASE = os.environ.get("PHOI_IMAGE_BASE", "localhost/phoi-base:bookworm-python3")
VERSION = "test"
SERVED = "audit"  # the service that migrates and serves from its image
TOOLS = {"buildah": "buildah", "debootstrap": "debootstrap"}  # command -> Debian package
# Where a run may write outside /tmp: what buildah itself sets up for every `buildah run`.
RUNTIME_FILES = {"etc/hosts", "etc/resolv.conf", "etc/hostname", "run", "dev", "proc", "sys", "tmp"}

pytestmark = pytest.mark.slow


def run(*command: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def ensure_tools() -> None:
    """Install buildah and debootstrap from Debian's packages where they are missing."""
    missing = [package for command, package in TOOLS.items() if shutil.which(command) is None]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "--non-interactive"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


@pytest.fixture(scope="module")
def summary() -> Iterator[dict[str, Any]]:
    report: dict[str, Any] = {"base": BASE, "seconds": {}, "images": {}}
    started = time.monotonic()
    yield report
    report["seconds"]["total"] = round(time.monotonic() - started, 1)
    print("\nimage test summary: " + json.dumps(report, indent=2))


@pytest.fixture(scope="module")
def images(summary: dict[str, Any]) -> dict[str, str]:
    """Every service's image, built on the debootstrapped base; name by service."""
    ensure_tools()
    started = time.monotonic()
    subprocess.run([str(IMAGES / "base-image.sh"), BASE], check=True)
    summary["seconds"]["base"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    env = {**os.environ, "BASE": BASE, "VERSION": VERSION, "BUILDER": "buildah"}
    subprocess.run([str(IMAGES / "build.sh"), *SERVICES], check=True, env=env)
    summary["seconds"]["build"] = round(time.monotonic() - started, 1)
    return {service: f"localhost/phoi/{service}:{VERSION}" for service in SERVICES}


@pytest.fixture
def container() -> Iterator[Callable[[str], str]]:
    """Factory: a working container of an image (removed afterwards)."""
    made: list[str] = []

    def make(image: str) -> str:
        made.append(run("buildah", "from", "--pull-never", image).stdout.strip())
        return made[-1]

    yield make
    for name in made:
        subprocess.run(["buildah", "rm", name], check=False, capture_output=True)


def inside(name: str, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command in the container as its image says (user, working folder), on the host network."""
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    return run("buildah", "run", "--isolation", "chroot", *flags, name, "--", *command)


def image_config(image: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(run("buildah", "inspect", "--type", "image", image).stdout)
    return config


def test_every_image_is_slim_unprivileged_and_labelled(
    images: dict[str, str], container: Callable[[str], str], summary: dict[str, Any]
) -> None:
    for service, image in images.items():
        config = image_config(image)
        docker = config["Docker"]["config"]
        labels = docker["Labels"]
        assert docker["User"] == "10001:10001", service
        assert docker["Cmd"] == ["python", "-m", f"phoi_{service}"], service
        assert docker["Healthcheck"]["Test"][:4] == ["CMD", "python", "-m", "phoi_kit.healthcheck"], service
        assert labels["org.opencontainers.image.title"] == f"phoi/{service}"
        assert labels["org.opencontainers.image.base.name"] == BASE
        name = container(image)
        # The code imports, the alembic scripts are where migrate finds them, and nothing builds or installs.
        probe = (
            f"import shutil, phoi_{service}.main, phoi_{service}.migrate as m; "
            "print((m.MIGRATIONS / 'env.py').is_file(), [t for t in ('gcc', 'cc', 'pip', 'pip3') if shutil.which(t)])"
        )
        assert inside(name, "python", "-c", probe).stdout.split("\n")[0] == "True []", service
        if service == "portal":
            assert portal_files(name) == {"vendor": ["axe-core", "fonts", "fonts.css"], "templates": True}
            assert prints_records(name), "the portal image cannot print its records (PDF fonts or libraries)"
        size = sum(layer["size"] for layer in json.loads(config["Manifest"])["layers"])  # uncompressed
        summary["images"][f"phoi/{service}"] = {"bytes": size, "MB": round(size / 1e6, 1)}


def portal_files(name: str) -> dict[str, Any]:
    """What the portal serves from its package: the vendored assets (git-ignored) and the templates."""
    probe = (
        "import json, phoi_portal.main as m, phoi_portal.web.templating as t; "
        "print(json.dumps({'vendor': sorted(p.name for p in (m.STATIC / 'vendor').iterdir() if p.name[0] != '.'), "
        "'templates': any(t.TEMPLATES.rglob('*.html'))}))"
    )
    files: dict[str, Any] = json.loads(inside(name, "python", "-c", probe).stdout)
    return files


def prints_records(name: str) -> bool:
    """The portal renders every printed record in its image: fpdf2, segno and the embedded Tinos are there."""
    probe = (
        "from phoi_portal.printing.document import render; from phoi_portal.printing.specimens import specimens; "
        "print(all(render(r).startswith(b'%PDF') for r in specimens().values()))"
    )
    return inside(name, "python", "-c", probe).stdout.strip() == "True"


def readyz(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def server_uid(launcher: int, module: str) -> int:
    """The real uid of the `python -m <module>` process below `launcher` (buildah run and its chroot)."""
    pending = [launcher]
    while pending:
        pid = pending.pop()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if cmdline[1:3] == [b"-m", module.encode()]:  # /opt/venv/bin/python -m <module>
            status = Path(f"/proc/{pid}/status").read_text()
            return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        pending.extend(_children(pid))
    raise AssertionError(f"no process runs {module} below {launcher}")


def written_outside_tmp(name: str, since: float) -> list[str]:
    """Files of the container changed after `since`, but for /tmp and what buildah run itself sets up."""
    root = Path(run("buildah", "mount", name).stdout.strip())
    try:
        changed = []
        for path in root.rglob("*"):
            relative = path.relative_to(root).as_posix()
            if relative.split("/")[0] in RUNTIME_FILES or relative in RUNTIME_FILES:
                continue
            if not path.is_symlink() and path.stat().st_mtime > since:
                changed.append(relative)
        return changed
    finally:
        run("buildah", "umount", name)


def test_an_image_migrates_and_serves_until_ready(
    images: dict[str, str],
    container: Callable[[str], str],
    pg_server: DatabaseServer,
    broker: BrokerHandle,
    keycloak: Any,
    tmp_path: Path,
    summary: dict[str, Any],
) -> None:
    name = container(images[SERVED])
    started = time.time()
    prefix = SERVED.upper()
    db_url = asyncpg_url(pg_server.create_database(f"image_{SERVED}_{int(started)}"))
    # What the Kubernetes Job runs (deploy/k8s/base/migrations).
    migrated = inside(name, "python", "-m", f"phoi_{SERVED}.migrate", env={f"{prefix}_DATABASE_URL": db_url})
    assert "database at revision head" in migrated.stdout

    port = free_port()
    env = {
        f"{prefix}_DATABASE_URL": db_url,
        f"{prefix}_HOST": "127.0.0.1",
        f"{prefix}_PORT": str(port),
        "KAFKA_BOOTSTRAP": broker.bootstrap,
        "KEYCLOAK_URL": keycloak.server_url,
    }
    log_path = tmp_path / f"{SERVED}.log"
    flags = [f"--env={key}={value}" for key, value in env.items()]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["buildah", "run", "--isolation", "chroot", *flags, name, "--", "python", "-m", f"phoi_{SERVED}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: readyz(url), timeout=120, what=f"{SERVED} /readyz", interval=0.5, process=server)
        except Exception as exc:
            raise AssertionError(f"{exc}\n--- log ---\n{log_path.read_text()[-4000:]}") from exc
        summary["seconds"]["ready"] = round(time.time() - started, 1)
        assert server_uid(server.pid, f"phoi_{SERVED}") == 10001
        # The image's own health command, run beside the server as Docker would.
        health = [part for part in image_config(images[SERVED])["Docker"]["config"]["Healthcheck"]["Test"][1:]]
        assert inside(name, *health, env=env).returncode == 0
    finally:
        stop_process(server)
    # Read-only root file system: the migration and the server wrote nothing but to /tmp.
    assert written_outside_tmp(name, started) == []
    summary["served"] = {"service": SERVED, "uid": 10001, "readyz": 200}
