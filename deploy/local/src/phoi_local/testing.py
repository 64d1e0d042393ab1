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
import time
import uuid
from collections.abc import Callable, Iterator
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
    kc = KeycloakContainer().with_realm_import_file(str(realm)).start()
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
def test_pki() -> Any:
    """A fresh test CA (root, intermediate, time-stamping authority) in memory: ``phoi_local.pki.TestPki``."""
    from phoi_local.pki import TestPki

    return TestPki()


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

    def kill(self) -> None:
        """`kill -9`: no shutdown, no flush, no goodbye to the broker or the database (the fault tests)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def start_service(
    name: str,
    *,
    pg_server: DatabaseServer,
    broker: BrokerHandle,
    keycloak_url: str,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> ServiceProcess:
    """Create and migrate a fresh database for service `name`, then launch it on `port` (default: a free
    one; pass ports when services must know each other's addresses before they start).
    Call `wait_healthy()` on the result (after launching the others, so they boot in parallel)."""
    from phoi_kit.db import asyncpg_url
    from phoi_kit.migrations import upgrade

    prefix = name.upper() + "_"
    db_url = pg_server.create_database(f"{name}_{uuid.uuid4().hex[:8]}")
    module = importlib.import_module(f"phoi_{name}.migrate")
    upgrade(module.MIGRATIONS, db_url)
    port = port or free_port()
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


@pytest.fixture(scope="session")
def keycloak(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A `KeycloakTarget`: the stand-in (default), a real Keycloak at KEYCLOAK_URL, or a container."""
    from phoi_local.keycloak.process import StandinProcess
    from phoi_local.keycloak.testing import KeycloakTarget

    if BACKEND == "containers":
        container = request.getfixturevalue("containers")["keycloak"]
        yield KeycloakTarget.from_env({"KEYCLOAK_URL": container.get_url()})
        return
    if target := KeycloakTarget.from_env():
        yield target
        return
    standin = StandinProcess().start()
    try:
        yield KeycloakTarget.for_standin(standin)
    finally:
        standin.close()


@dataclass
class IssuedToken:
    access_token: str
    user_id: str
    username: str
    password: str
    unit_code: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture(scope="session")
def token_for(keycloak: Any) -> Any:
    """Factory: a fresh user with `role` (and `unit_code` for a unit account), signed in through
    `phoi-cli`'s password grant. Returns an `IssuedToken` whose `.headers` authorise a request."""
    return token_issuer(keycloak)


def token_issuer(keycloak: Any) -> Callable[..., IssuedToken]:
    """`token_for` outside pytest (the benchmarks): the same factory for a `KeycloakTarget`."""
    from phoi_local.keycloak.testing import create_test_user

    admin = keycloak.admin()
    openid = keycloak.openid()

    def _issue(role: str, unit_code: str | None = None) -> IssuedToken:
        user = create_test_user(admin, role=role, unit_code=unit_code)
        token = openid.token(user.username, user.password)
        return IssuedToken(token["access_token"], user.id, user.username, user.password, unit_code)

    return _issue


_TOKEN_TTL = 240.0  # the realm's access tokens live 300 s


@pytest.fixture(scope="session")
def tokens(token_for: Any) -> Callable[..., dict[str, str]]:
    """``tokens(role, unit_code=None)``: Authorization headers, one user per (role, unit) for the whole
    session, re-issued before the token expires."""
    cache: dict[tuple[str, str | None], tuple[float, dict[str, str]]] = {}

    def headers(role: str, unit_code: str | None = None) -> dict[str, str]:
        key = (role, unit_code)
        hit = cache.get(key)
        if hit is None or time.monotonic() - hit[0] > _TOKEN_TTL:
            hit = (time.monotonic(), token_for(role, unit_code).headers)
            cache[key] = hit
        return hit[1]

    return headers


@dataclass
class RunningService:
    """A service app running in the test's event loop: on its own fresh, migrated database (`service_app`),
    or on the session's one, inside the test's rolled-back transaction (`api_app`)."""

    app: Any
    client: Any  # httpx.AsyncClient bound to the app
    database_url: str
    settings: Any
    topic_prefix: str
    # `api_app` only: the connection whose transaction every session joins, for a test that wants to undo
    # one call at a time (`begin_nested()` around it)
    connection: Any = None

    @property
    def runtime(self) -> Any:
        return self.app.state.kit


def _settings(name: str, db_url: str, *, kafka_bootstrap: str, keycloak_url: str, prefix: str, **overrides: Any) -> Any:
    """The service's real settings, pointed at the test's database, broker and Keycloak."""
    from phoi_kit.db import asyncpg_url

    settings_cls = importlib.import_module(f"phoi_{name}.settings").Settings
    return settings_cls(
        database_url=asyncpg_url(db_url),
        kafka_bootstrap=kafka_bootstrap,
        keycloak_url=keycloak_url,
        consumer_group_id=f"test-{name}-{uuid.uuid4().hex[:8]}",
        topic_prefix=prefix,
        consumer_session_timeout_ms=3000,
        consumer_heartbeat_interval_ms=500,
        log_json=True,
        **overrides,
    )


@pytest.fixture
def service_app(pg_server: DatabaseServer, broker: BrokerHandle, keycloak: Any) -> Any:
    """Factory (async context manager): `async with service_app("inventory") as svc: ...`.

    Creates and migrates a fresh database, builds the service's app with its real settings pointed at
    that database, the session's broker and Keycloak, runs its lifespan (relay, consumer, listeners)
    and yields a `RunningService` with an httpx client. `**overrides` set further settings fields.

    Each call gets private topics (a random `topic_prefix`) unless `topic_prefix=` is given: pass the
    same prefix to several services to wire them together on the bus.

    `background=False`: no bus, relay or consumer (nor the service jobs that honour `run_background`),
    for tests that need real commits on a database of their own (concurrency, distinct server times)
    but not the bus: the consumer's group join and leave cost a second or two per test.

    For tests that only need request → response against the database, `api_app` costs far less per test."""
    import contextlib

    from phoi_kit.migrations import upgrade

    @contextlib.asynccontextmanager
    async def _run(name: str, **overrides: Any) -> Any:
        import asyncio

        import httpx
        from phoi_contracts import topics
        from phoi_kit.kafka import ensure_topics, with_dead_letters

        background: bool = overrides.pop("background", True)
        db_url = pg_server.create_database(f"{name}_{uuid.uuid4().hex[:8]}")
        prefix = overrides.pop("topic_prefix", None) or f"t{uuid.uuid4().hex[:8]}."
        if background:
            await ensure_topics(broker.bootstrap, [prefix + t for t in with_dead_letters(topics.ALL)])
        migrations = importlib.import_module(f"phoi_{name}.migrate").MIGRATIONS
        await asyncio.to_thread(upgrade, migrations, db_url)
        bootstrap = broker.bootstrap if background else NO_BROKER
        settings = _settings(
            name, db_url, kafka_bootstrap=bootstrap, keycloak_url=keycloak.base_url, prefix=prefix, **overrides
        )
        app = importlib.import_module(f"phoi_{name}.main").create_app(settings)
        app.state.kit.spec.run_background = background  # read when the lifespan starts
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=f"http://{name}.test") as client,
        ):
            yield RunningService(app, client, db_url, settings, prefix)

    return _run


@pytest.fixture(scope="session")
def migrated_database(pg_server: DatabaseServer) -> Callable[[str], str]:
    """``migrated_database(name)``: one database per service for the whole session, created and migrated
    on first use (its URL). Only `api_app` uses it, whose tests roll back everything they write, so it
    stays as the migrations left it."""
    import threading

    from phoi_kit.migrations import upgrade

    urls: dict[str, str] = {}
    lock = threading.Lock()

    def _get(name: str) -> str:
        with lock:
            if name not in urls:
                url = pg_server.create_database(f"{name}_shared_{uuid.uuid4().hex[:8]}")
                upgrade(importlib.import_module(f"phoi_{name}.migrate").MIGRATIONS, url)
                urls[name] = url
            return urls[name]

    return _get


async def _outbox_rows(connection: Any) -> int:
    from sqlalchemy import text

    return int((await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one())


# Where the rolled-back tier's services look for a broker: nothing listens there, so anything that
# tried to use the bus would fail loudly instead of passing by accident.
NO_BROKER = "127.0.0.1:9"


def join_transaction(database: Any, connection: Any) -> None:
    """Make every session `database` hands out (requests, the kit's own: access denials, revocations,
    gauges) join `connection`'s open transaction: a unit of work's commit releases a SAVEPOINT, its
    rollback returns to it, and nothing is committed until the connection's transaction is."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    database.sessionmaker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    database.snapshot_reads = False


@pytest.fixture
def api_app(migrated_database: Callable[[str], str], keycloak: Any) -> Any:
    """Factory (async context manager), the faster middle tier: `async with api_app("requests") as svc`.

    The service's real app, token validation and Keycloak, on the session's one migrated database of the
    service; the test runs inside one transaction that is rolled back at its end, so tests never see
    each other's rows. Every session of the app's `Database` joins that transaction (`join_transaction`):
    what one request commits, the next request and the test's own queries see. Background work is off
    (`ServiceSpec.run_background`: no relay or consumer, nor the service jobs that honour it) and there is
    no broker: outbox rows are written, never sent; `ServiceEnv.handle` plays a consumed event.

    Use it for request → response behaviour (validation, access rules, listings, versions, what a call
    wrote). Stay on `service_app` when a test needs the bus, commits seen by another connection (LISTEN/
    NOTIFY, a second engine, raw asyncpg), concurrent requests (they would share one connection), or a
    transaction setting of its own (isolation level), or distinct server-side times (PostgreSQL's now()
    is one instant per transaction: column defaults tie). Sequences are not rolled back: never assume ids."""
    import contextlib

    @contextlib.asynccontextmanager
    async def _run(name: str, **overrides: Any) -> Any:
        import asyncio

        import httpx
        from phoi_kit.db import asyncpg_url
        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlalchemy.pool import NullPool

        db_url = await asyncio.to_thread(migrated_database, name)
        prefix = overrides.pop("topic_prefix", None) or f"t{uuid.uuid4().hex[:8]}."
        settings = _settings(
            name, db_url, kafka_bootstrap=NO_BROKER, keycloak_url=keycloak.base_url, prefix=prefix, **overrides
        )
        app = importlib.import_module(f"phoi_{name}.main").create_app(settings)
        runtime = app.state.kit
        runtime.spec.run_background = False  # read when the lifespan starts: no relay, consumer or jobs
        engine = create_async_engine(asyncpg_url(db_url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                outer = await connection.begin()
                before = await _outbox_rows(connection)
                join_transaction(runtime.database, connection)
                try:
                    transport = httpx.ASGITransport(app=app)
                    async with (
                        app.router.lifespan_context(app),
                        httpx.AsyncClient(transport=transport, base_url=f"http://{name}.test") as client,
                    ):
                        yield RunningService(app, client, db_url, settings, prefix, connection)
                finally:
                    await outer.rollback()
            async with engine.connect() as probe:
                leaked = await _outbox_rows(probe) - before
            # Every change a service makes writes an outbox row: one that outlived the rollback was
            # committed by a connection of its own, and would show in the next test.
            assert not leaked, f"{leaked} outbox rows were committed outside the test's transaction: use service_app"
        finally:
            await engine.dispose()

    return _run
