"""`locate`: a service finds its alembic scripts in the source tree and inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

from phoi_kit.migrations import locate


def test_the_source_tree_keeps_them_beside_src(tmp_path: Path) -> None:
    package = tmp_path / "services" / "x" / "src" / "phoi_x"
    package.mkdir(parents=True)
    assert locate(str(package / "migrate.py")) == tmp_path / "services" / "x" / "migrations"


def test_an_installed_package_carries_them_inside(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "phoi_x"
    (package / "migrations").mkdir(parents=True)
    (package / "migrations" / "env.py").write_text("", encoding="utf-8")
    assert locate(str(package / "migrate.py")) == package / "migrations"


def test_every_service_finds_its_own() -> None:
    import importlib

    for service in ("identity", "requests", "inventory", "audit", "portal"):
        migrations = importlib.import_module(f"phoi_{service}.migrate").MIGRATIONS
        assert (migrations / "env.py").is_file(), service
        assert (migrations / "versions").is_dir(), service
