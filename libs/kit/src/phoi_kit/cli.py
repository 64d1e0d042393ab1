"""Entry points every service exposes: `python -m phoi_<service>` serves, `.migrate` migrates."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from phoi_kit.migrations import upgrade
from phoi_kit.settings import ServiceSettings


def serve(factory: str, settings: ServiceSettings) -> None:
    """Run the service's app factory (``"phoi_x.main:create_app"``) under uvicorn."""
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,  # the kit configures logging (JSON lines)
        access_log=False,  # requests are counted in metrics; errors are logged by the kit
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def migrate(migrations_dir: Path, settings: ServiceSettings) -> None:
    parser = argparse.ArgumentParser(description=f"Apply the {settings.service_name} database migrations.")
    parser.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args()
    upgrade(migrations_dir, settings.database_url, args.revision)
    print(f"{settings.service_name}: database at revision {args.revision}")
