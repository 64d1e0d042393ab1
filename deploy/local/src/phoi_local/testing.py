"""Pytest fixtures: the same pieces as the launcher, started once per test session.

Backends:
- default: embedded PostgreSQL, the Tansu broker and the Keycloak stand-in, on loopback;
- overrides: `DATABASE_URL` (a server we may create databases on), `KAFKA_BOOTSTRAP`, `KEYCLOAK_URL`;
- `PHOI_TEST_BACKEND=containers`: PostgreSQL, Apache Kafka (KRaft) and Keycloak via testcontainers,
  for running the unchanged suite against the real production parts where a Docker engine exists.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from phoi_local.broker import Broker
from phoi_local.postgres import PostgresServer
from phoi_local.procutil import free_port, stop_process, wait_until

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


class ServiceProcess:
    """A service running as its own process (`python -m phoi_<name>`), as in production."""

    def __init__(self, name: str, env: dict[str, str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"phoi_{self.name}"],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        import httpx

        def healthy() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(healthy, timeout=timeout, what=f"{self.name} service", interval=0.1, process=self.process)
        except Exception as exc:
            raise RuntimeError(f"{exc}\n--- {self.name} log ---\n{self.log_path.read_text()[-4000:]}") from exc

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def start_service(
    name: str,
    *,
    pg_server: DatabaseServer,
    broker: BrokerHandle,
    keycloak_url: str,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """Create and migrate a fresh database for service `name`, then launch it on a free port.
    Call `wait_healthy()` on the result (after launching the others, so they boot in parallel)."""
    from phoi_kit.db import asyncpg_url
    from phoi_kit.migrations import upgrade

    prefix = name.upper() + "_"
    db_url = pg_server.create_database(f"{name}_{uuid.uuid4().hex[:8]}")
    module = importlib.import_module(f"phoi_{name}.migrate")
    upgrade(module.MIGRATIONS, db_url)
    port = free_port()
    env = {
        f"{prefix}DATABASE_URL": asyncpg_url(db_url),
        f"{prefix}PORT": str(port),
        "KAFKA_BOOTSTRAP": broker.bootstrap,
        "KEYCLOAK_URL": keycloak_url,
        "LOG_JSON": "true",
        f"{prefix}CONSUMER_SESSION_TIMEOUT_MS": "3000",
        f"{prefix}CONSUMER_HEARTBEAT_INTERVAL_MS": "500",
        **(extra_env or {}),
    }
    service = ServiceProcess(name, env, port, log_dir / f"{name}.log")
    service.launch()
    return service
