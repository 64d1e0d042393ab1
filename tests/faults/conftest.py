"""The fault tests' own parts, shared by the folder and by nothing else: a broker and a Keycloak stand-in that
the tests stop, and one system on them (the four services as processes, as `make run` starts them). A fault
never reaches the rest of the suite; within the folder every test leaves the system at rest and checked, and
the requests of each test stay in it, so each test's checks also prove the earlier results undisturbed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from phoi_local.broker import Broker
from phoi_local.faults import FaultStack, fault_stack
from phoi_local.keycloak.process import StandinProcess
from phoi_local.keycloak.testing import KeycloakTarget
from phoi_local.procutil import free_port
from phoi_local.testing import BrokerHandle, token_issuer

UNIT = "SGD-FAULTS"


@pytest.fixture(scope="package")
def fault_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    local = Broker(free_port(), log_path=tmp_path_factory.mktemp("broker") / "tansu.log")
    local.start()
    yield BrokerHandle(local.bootstrap, local)
    local.stop()


@pytest.fixture(scope="package")
def fault_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandinProcess]:
    """Its state (realm, users, keys) lives in its state directory, so it survives a restart."""
    process = StandinProcess(state_dir=tmp_path_factory.mktemp("keycloak")).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def fault_system(
    pg_server: Any, fault_broker: BrokerHandle, fault_standin: StandinProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    keycloak = KeycloakTarget.for_standin(fault_standin)
    logs = tmp_path_factory.mktemp("logs")
    with fault_stack(pg_server, fault_broker, keycloak, token_issuer(keycloak), logs, UNIT) as faults:
        faults.stack.print_batch(5000)
        yield faults


@pytest.fixture
def faults(fault_system: FaultStack) -> FaultStack:
    fault_system.fresh_tokens()  # the folder outlives a token (5 minutes)
    return fault_system
