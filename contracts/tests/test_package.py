"""Package metadata."""

import tomllib
from pathlib import Path

import phoi_contracts

CONTRACTS_DIR = Path(__file__).resolve().parents[1]


def test_version_matches_pyproject() -> None:
    project = tomllib.loads((CONTRACTS_DIR / "pyproject.toml").read_text("utf-8"))["project"]
    assert phoi_contracts.__version__ == project["version"]
