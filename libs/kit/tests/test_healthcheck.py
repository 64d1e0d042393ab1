"""The images' HEALTHCHECK command: 0 when the service answers /healthz with 200, 1 otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from phoi_kit.healthcheck import health_url, main
from phoi_kit.settings import ServiceSettings
from phoi_local.procutil import free_port

SETTINGS = "phoi_kit.settings:ServiceSettings"


class Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass  # quiet tests


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Answer]]:
    """A stand-in service on a free port; the settings (PHOI_PORT) point the command at it."""
    handler = type("Handler", (Answer,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    monkeypatch.setenv("PHOI_PORT", str(httpd.server_address[1]))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler
    httpd.shutdown()
    httpd.server_close()


def test_a_wildcard_host_is_asked_on_loopback() -> None:
    wildcard = "0.0.0.0"  # noqa: S104 - the setting under test, nothing binds
    assert health_url(ServiceSettings(host=wildcard, port=8001)) == "http://127.0.0.1:8001/healthz"
    assert health_url(ServiceSettings(host="::1", port=8001)) == "http://[::1]:8001/healthz"


def test_healthy_when_the_service_answers_200(server: type[Answer]) -> None:
    assert main([SETTINGS]) == 0


def test_unhealthy_when_the_service_answers_otherwise(server: type[Answer]) -> None:
    server.status = 503
    assert main([SETTINGS]) == 1


def test_unhealthy_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOI_PORT", str(free_port()))
    assert main([SETTINGS]) == 1


def test_a_class_that_is_not_a_service_settings_is_refused() -> None:
    with pytest.raises(TypeError):
        main(["collections:OrderedDict"])
