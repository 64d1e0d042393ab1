"""The one-machine stack: what runs, on which port, with which database — and how to prepare it.

Every port and URL can be overridden from the environment; the defaults are fixed so bookmarks and
the README stay true: portal 8000, identity 8001, requests 8002, inventory 8003, audit 8004,
Keycloak stand-in 8080, broker 9092, PostgreSQL 55432.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from phoi_contracts import topics
from phoi_kit.db import Database, asyncpg_url
from phoi_kit.kafka import ensure_topics, with_dead_letters
from phoi_kit.migrations import upgrade
from phoi_kit.outbox import count_published, replay

REPO_ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class ServiceDef:
    name: str
    default_port: int
    has_database: bool = True

    @property
    def package(self) -> str:
        return f"phoi_{self.name}"

    @property
    def env_prefix(self) -> str:
        return self.name.upper() + "_"

    @property
    def database(self) -> str:
        return f"phoi_{self.name}"

    def installed(self) -> bool:
        return importlib.util.find_spec(f"{self.package}.main") is not None

    def migrations_dir(self) -> Path:
        module = importlib.import_module(f"{self.package}.migrate")
        path: Path = module.MIGRATIONS
        return path


SERVICES = (
    ServiceDef("identity", 8001),
    ServiceDef("requests", 8002),
    ServiceDef("inventory", 8003),
    ServiceDef("audit", 8004),
    ServiceDef("portal", 8000),
)
DATABASE_SERVICES = tuple(s for s in SERVICES if s.has_database)


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class StackConfig:
    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("PHOI_LOCAL_DIR", REPO_ROOT / ".local")))
    host: str = "127.0.0.1"
    pg_port: int = field(default_factory=lambda: _port("PHOI_PG_PORT", 55432))
    broker_port: int = field(default_factory=lambda: _port("PHOI_BROKER_PORT", 9092))
    keycloak_port: int = field(default_factory=lambda: _port("KEYCLOAK_STANDIN_PORT", 8080))
    realm_file: Path = REPO_ROOT / "deploy" / "keycloak" / "realm-phoi.json"
    seed_file: Path = REPO_ROOT / "deploy" / "local" / "demo-seed.json"

    def port(self, service: ServiceDef) -> int:
        return _port(f"{service.env_prefix}PORT", service.default_port)

    def database_url(self, service: ServiceDef) -> str:
        override = os.environ.get(f"{service.env_prefix}DATABASE_URL")
        return override or f"postgresql://postgres@{self.host}:{self.pg_port}/{service.database}"

    @property
    def kafka_bootstrap(self) -> str:
        return os.environ.get("KAFKA_BOOTSTRAP") or f"{self.host}:{self.broker_port}"

    @property
    def keycloak_url(self) -> str:
        return os.environ.get("KEYCLOAK_URL") or f"http://{self.host}:{self.keycloak_port}"

    def service_url(self, service: ServiceDef) -> str:
        return f"http://{self.host}:{self.port(service)}"

    def service_env(self, service: ServiceDef) -> dict[str, str]:
        env = {
            "KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "KEYCLOAK_URL": self.keycloak_url,
            "LOG_JSON": os.environ.get("LOG_JSON", "false"),
            f"{service.env_prefix}PORT": str(self.port(service)),
            f"{service.env_prefix}HOST": self.host,
        }
        if service.has_database:
            env[f"{service.env_prefix}DATABASE_URL"] = asyncpg_url(self.database_url(service))
        for other in SERVICES:  # the portal (and services) find each other by these
            env[f"PHOI_{other.name.upper()}_URL"] = self.service_url(other)
        return env


def migrate_all(config: StackConfig) -> None:
    for service in DATABASE_SERVICES:
        if service.installed():
            upgrade(service.migrations_dir(), config.database_url(service))


async def prepare_topics(bootstrap: str) -> None:
    await ensure_topics(bootstrap, with_dead_letters(topics.ALL))


async def replay_outboxes(config: StackConfig, retention: timedelta = timedelta(days=30)) -> dict[str, int]:
    """After the broker lost its log (memory storage restarts empty; a lost cluster in production),
    mark every retained outbox row pending again so the relays re-publish it, in order."""
    urls = {s.name: config.database_url(s) for s in DATABASE_SERVICES if s.installed()}
    return await replay_databases(urls, retention)


async def replay_databases(urls: Mapping[str, str], retention: timedelta = timedelta(days=30)) -> dict[str, int]:
    """`replay_outboxes` for the databases `urls` ({service: URL}): rows re-marked per service."""
    since = datetime.now(UTC) - retention
    replayed: dict[str, int] = {}
    for name, url in urls.items():
        database = Database(url, pool_size=1)
        try:
            if await count_published(database):
                replayed[name] = await replay(database, since)
        finally:
            await database.dispose()
    return replayed
