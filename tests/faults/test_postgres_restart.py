"""PostgreSQL crashes (immediate shutdown) and comes back while units submit and QLCL approves. The services
answer 503 while it is gone — never a 500 — reconnect by themselves, and nothing that was acknowledged is lost:
every request the API accepted is where it belongs, every serial accounted for, every event audited once.

On a PostgreSQL server of the module's own (durable: a crash loses nothing committed), so the rest of the
suite never sees it go.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from phoi_local.faults import OUTAGE_SECONDS, Clock, FaultStack, fault_stack, ready, say
from phoi_local.postgres import PostgresServer
from phoi_local.procutil import free_port, wait_until

pytestmark = [pytest.mark.slow]

UNIT = "SGD-PG"
QUANTITY = 10


@pytest.fixture(scope="module")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("pg") / "data", free_port(), durable=True)
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def faults(
    database_server: PostgresServer,
    fault_broker: Any,
    keycloak: Any,
    token_for: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultStack]:
    logs = tmp_path_factory.mktemp("logs")
    with fault_stack(database_server, fault_broker, keycloak, token_for, logs, UNIT) as stack:
        stack.stack.print_batch(2000)
        yield stack


@dataclass
class Load:
    """A unit submitting and QLCL approving, one request after another, until told to stop."""

    faults: FaultStack
    stop: threading.Event = field(default_factory=threading.Event)
    done: list[str] = field(default_factory=list)  # approved, answer received
    unsure: list[str] = field(default_factory=list)  # the approval's answer was lost: approved or not
    failures: list[str] = field(default_factory=list)  # what the failed calls answered

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                request = self.faults.stack.submit_request(self.faults.unit, QUANTITY)
            except (AssertionError, httpx.HTTPError) as exc:
                self.failures.append(answer_of(exc))
                self.stop.wait(0.2)  # paces the load while the database is away; waits for nothing
                continue
            self.faults.expect_submitted(request["id"])
            try:
                self.faults.approve(request, QUANTITY)
                self.done.append(request["id"])
            except (AssertionError, httpx.HTTPError) as exc:
                self.failures.append(answer_of(exc))
                self.unsure.append(request["id"])


def answer_of(exc: BaseException) -> str:
    """`503 <code>` for a problem answer (the failed assertion carries the body), else the connection error's name."""
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    try:
        problem = json.loads(str(exc).split("\n", 1)[0])
        return f"{problem['status']} {problem['code']}"
    except (ValueError, KeyError, TypeError):
        return str(exc)[:200]


def test_services_ride_out_a_postgres_crash_and_lose_nothing(
    faults: FaultStack, database_server: PostgresServer
) -> None:
    load = Load(faults)
    thread = threading.Thread(target=load.run, daemon=True)
    thread.start()
    wait_until(lambda: len(load.done) >= 2, timeout=120, what="work under way", interval=0.05)

    database_server.crash()
    say(f"PostgreSQL crashed (immediate shutdown) under load, down for {OUTAGE_SECONDS:.0f}s")
    down = Clock()
    # Down for the outage, and at least until the load has met it.
    wait_until(lambda: bool(load.failures) and down() >= OUTAGE_SECONDS, timeout=120, what="an outage", interval=0.05)
    database_server.start()
    outage, back = down(), Clock()
    before = len(load.done)
    wait_until(lambda: len(load.done) >= before + 2, timeout=120, what="work accepted again", interval=0.1)
    resumed = back()
    load.stop.set()
    thread.join(timeout=60)

    say(
        f"PostgreSQL down {outage:.1f}s; work accepted again {resumed:.1f}s after it returned; the failed calls "
        f"answered: {sorted(set(load.failures))}"
    )
    assert all(
        answer.startswith(("503", "ConnectError", "ReadError", "RemoteProtocolError")) for answer in load.failures
    ), load.failures
    for request_id in load.unsure:  # the answer was lost, not necessarily the approval: whichever it was, whole
        status = faults.status(request_id)
        assert status in {"submitted", "approved", "allocated"}, status
        if status != "submitted":
            faults.expect_allocated(request_id, QUANTITY)
    settled = faults.check()
    wait_until(lambda: all(ready(s.url) for s in faults.stack.services.values()), timeout=60, what="ready")
    say(f"{len(load.done)} requests approved in all; at rest and checked {settled:.1f}s later")
