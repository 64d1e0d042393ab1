"""Throwaway PostgreSQL and broker for a benchmark run (the same runners as the local stack)."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from phoi_local.broker import Broker
from phoi_local.postgres import PostgresServer
from phoi_local.procutil import free_port


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


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3), "max": round(ordered[-1], 3)}
