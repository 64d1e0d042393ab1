"""Throwaway PostgreSQL and broker for a benchmark run (the same runners as the local stack)."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from phoi_local.broker import Broker
from phoi_local.keycloak.process import StandinProcess
from phoi_local.keycloak.testing import KeycloakTarget
from phoi_local.postgres import PostgresServer
from phoi_local.procutil import free_port
from phoi_local.system import Stack, running_system
from phoi_local.testing import token_issuer


@dataclass
class Infra:
    postgres: PostgresServer
    broker: Broker


@contextlib.contextmanager
def infrastructure() -> Iterator[Infra]:
    with tempfile.TemporaryDirectory(prefix="phoi-bench-") as tmp:
        postgres = PostgresServer(Path(tmp) / "pg", free_port(), durable=False)
        broker = Broker(free_port(), log_path=Path(tmp) / "broker.log")
        postgres.start()
        broker.start()
        try:
            yield Infra(postgres, broker)
        finally:
            broker.stop()
            postgres.destroy()


@contextlib.contextmanager
def whole_system() -> Iterator[tuple[Stack, Infra]]:
    """The system as `make run` starts it (every service and the portal as processes, the Keycloak stand-in)
    on throwaway infrastructure."""
    with (
        infrastructure() as infra,
        StandinProcess() as standin,
        tempfile.TemporaryDirectory(prefix="phoi-bench-logs-") as logs,
    ):
        keycloak = KeycloakTarget.for_standin(standin)
        with running_system(infra.postgres, infra.broker, keycloak, token_issuer(keycloak), Path(logs)) as stack:
            yield stack, infra


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3), "max": round(ordered[-1], 3)}


def latency_summary(samples_ms: list[float]) -> dict[str, float]:
    """Count, p50/p95/p99 and max of latencies in milliseconds (count alone below two samples)."""
    if len(samples_ms) < 2:
        return {"count": len(samples_ms)}
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "count": len(samples_ms),
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "max_ms": round(max(samples_ms), 2),
    }
