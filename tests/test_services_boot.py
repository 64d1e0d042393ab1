"""Each domain service runs as its own process on a migrated database, wired to the broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from phoi_local.testing import ServiceProcess, start_service

SERVICES = ["identity", "requests", "inventory", "audit"]


@pytest.fixture(scope="module")
def services(
    pg_server: Any, broker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            # Keycloak is not needed to boot; authenticated calls are covered with the stand-in elsewhere.
            started[name] = start_service(
                name, pg_server=pg_server, broker=broker, keycloak_url="http://127.0.0.1:9", log_dir=Path(logs)
            )
        for service in started.values():
            service.wait_healthy()
        yield started
    finally:
        for service in started.values():
            service.stop()


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_alive_ready_and_measured(services: dict[str, ServiceProcess], name: str) -> None:
    url = services[name].url
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    httpx.get(f"{url}/api/v1/me")
    metrics = httpx.get(f"{url}/metrics").text
    assert f'http_requests_total{{method="GET",route="/api/v1/me",service="{name}",status="401"}}' in metrics
    spec = httpx.get(f"{url}/openapi.json").json()
    assert "/api/v1/me" in spec["paths"]


@pytest.mark.parametrize("name", SERVICES)
def test_api_refuses_requests_without_a_token_as_problem_json(services: dict[str, ServiceProcess], name: str) -> None:
    response = httpx.get(f"{services[name].url}/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == "missing_token"
    assert body["status"] == 401


def test_unknown_route_is_a_problem_not_html(services: dict[str, ServiceProcess]) -> None:
    response = httpx.get(f"{services['inventory'].url}/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
