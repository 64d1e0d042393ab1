"""`make run`'s launcher, end to end: everything comes up ready, a phoi-cli token works on every
service, Ctrl-C stops it all, and a restart keeps the data and replays retained events into the
(empty, memory-backed) broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from phoi_contracts import topics
from phoi_local.procutil import free_port, port_open, wait_until
from phoi_local.testkit import read_until

SERVICES = {"identity": 0, "requests": 0, "inventory": 0, "audit": 0}


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DATABASE_URL", "_URL")) and k != "KAFKA_BOOTSTRAP"}
    env.update(
        PHOI_LOCAL_DIR=str(tmp_path / "local"),
        PHOI_PG_PORT=str(free_port()),
        PHOI_BROKER_PORT=str(free_port()),
        KEYCLOAK_STANDIN_PORT=str(free_port()),
        PORTAL_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    for name in SERVICES:
        env[f"{name.upper()}_PORT"] = str(free_port())
    return env


class Launched:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "phoi_local", "run"],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_banner(self) -> None:
        wait_until(
            lambda: "the system is running" in self.output(),
            timeout=180,
            what="launcher banner",
            process=self.process,
            interval=0.2,
        )

    def interrupt(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        return self.process.wait(60)


@pytest.fixture
def launch(stack_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Launched]]:
    started: list[Launched] = []

    class _Launch(Launched):
        def __init__(self) -> None:
            super().__init__(stack_env, tmp_path / f"run-{len(started)}.log")
            started.append(self)

    yield _Launch
    for run in started:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)


def _url(env: dict[str, str], name: str) -> str:
    return f"http://127.0.0.1:{env[f'{name.upper()}_PORT']}"


def test_run_serves_every_service_and_stops_cleanly_and_restarts_with_replay(
    launch: Callable[[], Launched], stack_env: dict[str, str]
) -> None:
    first = launch()
    first.wait_banner()
    assert "NOT READY" not in first.output(), first.output()[-3000:]
    for name in SERVICES:
        ready = httpx.get(f"{_url(stack_env, name)}/readyz")
        assert ready.status_code == 200, (name, ready.text)

    # A demo user's phoi-cli password-grant token is accepted by every service.
    unit = _token(stack_env, "sgd-hn")
    for name in SERVICES:
        me = httpx.get(f"{_url(stack_env, name)}/api/v1/me", headers=unit)
        assert me.status_code == 200, (name, me.text)
        assert me.json()["unit_code"] == "SGD-HN"

    # The demo data went in through the APIs.
    assert "demo data loaded: {'units': 3, 'accounts': 5, 'form_types': 0, 'print_batches': 1}" in first.output()
    units = httpx.get(f"{_url(stack_env, 'identity')}/api/v1/units", headers=_token(stack_env, "qlcl.admin"))
    assert {u["code"] for u in units.json()["items"]} == {"QLCL", "SGD-HN", "SGD-HCM"}
    stock = httpx.get(
        f"{_url(stack_env, 'inventory')}/api/v1/stock",
        params={"unit_code": "QLCL", "form_type": "THPT"},
        headers=_token(stack_env, "qlcl.officer"),
    )
    assert stock.status_code == 200, stock.text
    central = [(line["state"], line["count"]) for line in stock.json()["items"]]
    assert central == [("central", 50000)], central

    assert first.interrupt() in (0, 130, -2, 1), first.output()[-2000:]
    assert "stopping the broker and PostgreSQL" in first.output()
    wait_until(
        lambda: not port_open("127.0.0.1", int(stack_env["PHOI_PG_PORT"])), timeout=30, what="PostgreSQL stopped"
    )
    assert not port_open("127.0.0.1", int(stack_env["PHOI_BROKER_PORT"]))

    second = launch()
    second.wait_banner()
    assert "replaying retained events" in second.output()
    assert "demo data loaded: {'units': 0, 'accounts': 0, 'form_types': 0, 'print_batches': 0}" in second.output()
    bootstrap = f"127.0.0.1:{stack_env['PHOI_BROKER_PORT']}"
    # The second run created nothing (all 409s), so unit events on the new broker are replayed ones.
    asyncio.run(read_until(bootstrap, topics.IDENTITY, lambda r: b'"unit.created.v1"' in r.value, timeout=30))
    second.interrupt()


def _token(env: dict[str, str], username: str) -> dict[str, str]:
    response = httpx.post(
        f"http://127.0.0.1:{env['KEYCLOAK_STANDIN_PORT']}/realms/phoi/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "phoi-cli",
            "username": username,
            "password": env.get("PHOI_DEMO_PASSWORD", "demo-Phoi-2024!"),
        },
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
