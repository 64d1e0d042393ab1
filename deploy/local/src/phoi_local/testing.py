"""Pytest fixtures: the same pieces as the launcher, started once per test session.

Backends:
- default: embedded PostgreSQL, the Tansu broker and the Keycloak stand-in, on loopback;
- overrides: `DATABASE_URL` (a server we may create databases on), `KAFKA_BOOTSTRAP`, `KEYCLOAK_URL`;
- `PHOI_TEST_BACKEND=containers`: PostgreSQL, Apache Kafka (KRaft) and Keycloak via testcontainers,
  for running the unchanged suite against the real production parts where a Docker engine exists.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from phoi_local.broker import Broker
from phoi_local.postgres import PostgresServer
from phoi_local.procutil import free_port

REPO_ROOT = Path(__file__).resolve().parents[4]
BACKEND = os.environ.get("PHOI_TEST_BACKEND", "local")


class DatabaseServer(Protocol):
    def url(self, database: str = "postgres") -> str: ...
    def create_database(self, name: str) -> str: ...


@dataclass
class ExternalPostgres:
    """A server named by DATABASE_URL (or started by testcontainers) on which we may create databases."""

    base_url: str

    def url(self, database: str = "postgres") -> str:
        head, _, _ = self.base_url.rpartition("/")
        return f"{head}/{database}"

    def create_database(self, name: str) -> str:
        import asyncio

        import asyncpg

        from phoi_kit.db import libpq_url

        async def _create() -> None:
            conn = await asyncpg.connect(libpq_url(self.base_url))
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(_create())
        return self.url(name)


def _docker_available() -> str | None:
    """None when a Docker engine answers, else the reason it does not."""
    try:
        import docker

        docker.from_env().ping()
        return None
    except Exception as exc:
        return f"PHOI_TEST_BACKEND=containers needs a Docker engine, and none answers ({type(exc).__name__})"


@pytest.fixture(scope="session")
def containers() -> Iterator[dict[str, Any]]:
    reason = _docker_available()
    if reason:
        pytest.skip(reason)
    from testcontainers.kafka import KafkaContainer
    from testcontainers.keycloak import KeycloakContainer
    from testcontainers.postgres import PostgresContainer

    started: dict[str, Any] = {}
    pg = PostgresContainer("postgres:17", driver=None).start()
    started["postgres"] = pg
    kafka = KafkaContainer().with_kraft().start()
    started["kafka"] = kafka
    realm = REPO_ROOT / "deploy" / "keycloak" / "realm-phoi.json"
    kc = KeycloakContainer().with_volume_mapping(str(realm.parent), "/opt/keycloak/data/import")
    kc = kc.with_command("start-dev --import-realm").start()
    started["keycloak"] = kc
    yield started
    for c in started.values():
        c.stop()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[DatabaseServer]:
    if BACKEND == "containers":
        pg = request.getfixturevalue("containers")["postgres"]
        yield ExternalPostgres(pg.get_connection_url())
        return
    if url := os.environ.get("DATABASE_URL"):
        yield ExternalPostgres(url)
        return
    server = PostgresServer(tmp_path_factory.mktemp("pg") / "data", free_port(), durable=False)
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def make_database(pg_server: DatabaseServer) -> Any:
    """Factory: a new, empty database; returns its URL."""

    def _make(prefix: str = "t") -> str:
        return pg_server.create_database(f"{prefix}_{uuid.uuid4().hex[:12]}")

    return _make


@dataclass
class BrokerHandle:
    bootstrap: str
    local: Broker | None

    def stop(self) -> None:
        if self.local is None:
            pytest.skip("cannot stop an external broker")
        self.local.stop()

    def start(self) -> None:
        assert self.local is not None
        self.local.start()


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    if BACKEND == "containers":
        yield BrokerHandle(request.getfixturevalue("containers")["kafka"].get_bootstrap_server(), None)
        return
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP"):
        yield BrokerHandle(bootstrap, None)
        return
    local = Broker(free_port(), log_path=tmp_path_factory.mktemp("broker") / "tansu.log")
    local.start()
    yield BrokerHandle(local.bootstrap, local)
    local.stop()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    """A broker of the test's own, which the test may stop and restart."""
    local = Broker(free_port(), log_path=tmp_path / "tansu.log")
    local.start()
    yield BrokerHandle(local.bootstrap, local)
    local.stop()


@pytest.fixture
def unique() -> Any:
    """Factory of unique names for topics and consumer groups, so tests never share them."""

    def _unique(prefix: str) -> str:
        return f"{prefix}.{uuid.uuid4().hex[:10]}"

    return _unique
