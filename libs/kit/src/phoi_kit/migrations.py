"""Alembic wiring shared by every service.

- `run_env(metadata)` is the whole body of a service's `migrations/env.py`.
- `create_kit_schema()` is called from a service's first revision: the kit's tables and triggers;
  `create_access_refusals()` from the revision that added the refused-call counts.
- `locate(__file__)` (in `phoi_<service>.migrate`) finds the service's alembic scripts.
- `upgrade(migrations_dir, url)` applies a service's migrations; `python -m phoi_<service>.migrate`
  wraps it (that is what the Kubernetes migration Job runs: migrations never run at app start).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from phoi_kit.auth import REVOCATIONS_TRIGGER_SQL
from phoi_kit.db import FIRST_KIT_TABLES, NAMING_CONVENTION, add_access_refusals_table, add_kit_tables, asyncpg_url
from phoi_kit.outbox import OUTBOX_TRIGGER_SQL

URL_OPTION = "sqlalchemy.url"


def install_kit_schema(bind: Connection, *, tables: tuple[str, ...] | None = None) -> None:
    """The kit's tables (all of them, or the ones named) and NOTIFY triggers, on a synchronous connection."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    add_kit_tables(metadata)
    metadata.create_all(bind, tables=None if tables is None else [metadata.tables[name] for name in tables])
    for statement in (*OUTBOX_TRIGGER_SQL, *REVOCATIONS_TRIGGER_SQL):
        bind.exec_driver_sql(statement)


def create_kit_schema() -> None:
    """Call from a service's first Alembic revision: the kit's tables as they were then."""
    install_kit_schema(op.get_bind(), tables=FIRST_KIT_TABLES)


def create_access_refusals() -> None:
    """Call from the revision that adds the refused-call counts (`phoi_kit.refusals`) to a service."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    add_access_refusals_table(metadata).create(op.get_bind())


def drop_access_refusals() -> None:
    op.drop_table("access_refusals")


def drop_kit_schema() -> None:
    for name in ("token_revocations", "processed_events", "outbox"):
        op.drop_table(name)
    op.execute("DROP FUNCTION IF EXISTS phoi_outbox_notify() CASCADE")
    op.execute("DROP FUNCTION IF EXISTS phoi_revocations_notify() CASCADE")


def _run(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run, metadata)
    await engine.dispose()


def run_env(metadata: MetaData, *, env_var: str) -> None:
    url = context.config.get_main_option(URL_OPTION) or os.environ.get(env_var)
    if not url:
        raise SystemExit(f"Set {env_var} (or -x / sqlalchemy.url) to the service's database URL.")
    if context.is_offline_mode():
        context.configure(url=asyncpg_url(url), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(url, metadata))


def locate(migrate_module: str) -> Path:
    """A service's alembic scripts: inside the installed package, where the wheel (the image) carries them,
    else `services/<service>/migrations` beside `src/` in the source tree (the editable install)."""
    package = Path(migrate_module).resolve().parent
    packaged = package / "migrations"
    return packaged if (packaged / "env.py").is_file() else package.parents[1] / "migrations"


def alembic_config(migrations_dir: Path, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    if url:
        config.set_main_option(URL_OPTION, url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; call it from a thread inside an event loop)."""
    command.upgrade(alembic_config(migrations_dir, url), revision)
