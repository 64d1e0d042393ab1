"""`make run`: the whole system on this machine, with demo data.

Order: PostgreSQL (data kept in .local/ between runs) → databases and migrations → broker and topics
→ outbox replay when the broker came up empty but the databases did not → Keycloak stand-in, the
services and the portal under honcho (one coloured, prefixed log stream; Ctrl-C stops everything) →
demo data → a banner with where to log in.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from datetime import timedelta

import httpx
from honcho.manager import Manager

from phoi_local.broker import Broker
from phoi_local.postgres import PostgresServer
from phoi_local.stack import SERVICES, StackConfig, migrate_all, prepare_topics, replay_outboxes


def _say(text: str) -> None:
    print(f"[phoi] {text}", flush=True)


def start_infrastructure(config: StackConfig) -> tuple[PostgresServer | None, Broker | None]:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    postgres: PostgresServer | None = None
    if not any(os.environ.get(f"{s.env_prefix}DATABASE_URL") for s in SERVICES):
        postgres = PostgresServer(config.state_dir / "pgdata", config.pg_port, host=config.host)
        _say(f"starting PostgreSQL on {config.host}:{config.pg_port} (data in {postgres.data_dir})")
        postgres.start()
        for service in SERVICES:
            if service.has_database:
                postgres.create_database(service.database)
    _say("applying database migrations")
    migrate_all(config)
    broker: Broker | None = None
    if not os.environ.get("KAFKA_BOOTSTRAP"):
        broker = Broker(config.broker_port, host=config.host, log_path=config.state_dir / "broker.log")
        _say(f"starting the Kafka-protocol broker (Tansu, stand-in for Apache Kafka) on {broker.bootstrap}")
        broker.start()
    asyncio.run(prepare_topics(config.kafka_bootstrap))
    if broker is not None:
        # Memory storage starts empty: re-publish what the databases remember.
        replayed = asyncio.run(replay_outboxes(config, timedelta(days=30)))
        if replayed:
            _say(f"broker started empty; replaying retained events: {replayed}")
    return postgres, broker


def add_processes(manager: Manager, config: StackConfig) -> list[tuple[str, str]]:
    python = sys.executable
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ready_urls: list[tuple[str, str]] = []
    if not os.environ.get("KEYCLOAK_URL"):
        manager.add_process(
            "keycloak",
            f"{python} -m phoi_local.keycloak --host {config.host} --port {config.keycloak_port} "
            f"--realm-file {config.realm_file} --seed {config.seed_file} "
            f"--state-dir {config.state_dir / 'keycloak'}",
            env=base_env,
        )
        ready_urls.append(("keycloak", f"{config.keycloak_url}/realms/phoi/.well-known/openid-configuration"))
    for service in SERVICES:
        if not service.installed():
            _say(f"{service.name}: not built yet, skipped")
            continue
        manager.add_process(
            service.name, f"{python} -m {service.package}", env={**base_env, **config.service_env(service)}
        )
        ready_urls.append((service.name, f"{config.service_url(service)}/readyz"))
    return ready_urls


def wait_ready(urls: list[tuple[str, str]], timeout: float = 120.0) -> list[str]:
    """Names of the processes that did not become ready in time."""
    deadline = time.monotonic() + timeout
    waiting = dict(urls)
    with httpx.Client(timeout=2.0) as client:
        while waiting and time.monotonic() < deadline:
            for name, url in list(waiting.items()):
                try:
                    if client.get(url).status_code == 200:
                        del waiting[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
    return list(waiting)


def banner(config: StackConfig, not_ready: list[str]) -> str:
    from phoi_local.seed import demo_password, demo_users

    password = demo_password()
    lines = ["", "=" * 72, "  Phôi — the system is running on this machine", "=" * 72]
    portal = SERVICES[-1]
    if portal.installed():
        lines.append(f"  Portal (log in here):   http://{config.host}:{config.port(portal)}/")
    else:
        token_url = f"{config.keycloak_url}/realms/phoi/protocol/openid-connect/token"
        lines.append("  Portal: not built yet. Sign in for an API token:")
        lines.append(
            f"    curl -d grant_type=password -d client_id=phoi-cli -d username=<login> -d password=<pw> {token_url}"
        )
    for service in SERVICES[:-1]:
        lines.append(f"  {service.name:<10} API:        {config.service_url(service)}/docs")
    lines.append(f"  Keycloak stand-in:      {config.keycloak_url}/realms/phoi")
    lines.append(f"  Broker (Tansu):         {config.kafka_bootstrap}")
    lines.append(f"  Demo logins (password: {password}):")
    for user in demo_users(config.seed_file):
        unit = f" — unit {user['unit_code']}" if user.get("unit_code") else ""
        lines.append(f"    {user['username']:<18} {user['role']}{unit}")
    if not_ready:
        lines.append(f"  NOT READY after the deadline: {', '.join(not_ready)} — see their logs above")
    lines += ["  Ctrl-C stops everything.", "=" * 72, ""]
    return "\n".join(lines)


def run() -> int:
    config = StackConfig()
    postgres, broker = start_infrastructure(config)
    manager = Manager()
    urls = add_processes(manager, config)

    def announce() -> None:
        not_ready = wait_ready(urls)
        if not not_ready:
            from phoi_local.seed import seed_demo_data

            try:
                created = seed_demo_data(config)
                _say(f"demo data loaded: {created}")
            except Exception as exc:  # the system still runs; say why the demo data is missing
                _say(f"demo data not loaded: {exc!r}")
        print(banner(config, not_ready), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        manager.loop()
    finally:
        _say("stopping the broker and PostgreSQL")
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()
    return manager.returncode or 0
