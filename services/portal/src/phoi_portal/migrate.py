"""`python -m phoi_portal.migrate [revision]`: what the Kubernetes migration Job runs."""

from pathlib import Path

from phoi_kit.cli import migrate

from phoi_portal.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

if __name__ == "__main__":
    migrate(MIGRATIONS, Settings())
