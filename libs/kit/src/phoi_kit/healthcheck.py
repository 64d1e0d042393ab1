"""`python -m phoi_kit.healthcheck phoi_<service>.settings:Settings`: the image's HEALTHCHECK command.

Asks the service in the same container for GET /healthz on the address its settings give (a wildcard
host is asked on loopback) and exits 0 when it answers 200, 1 otherwise. Kubernetes uses its own probes;
this is for Docker, Podman and the like.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import httpx

from phoi_kit.settings import ServiceSettings

WILDCARDS = {"", "0.0.0.0", "::"}  # noqa: S104 - names the wildcard, binds nothing


def health_url(settings: ServiceSettings) -> str:
    host = "127.0.0.1" if settings.host in WILDCARDS else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/healthz"


def load_settings(spec: str) -> ServiceSettings:
    module, _, name = spec.partition(":")
    settings = getattr(importlib.import_module(module), name or "Settings")()
    if not isinstance(settings, ServiceSettings):
        raise TypeError(f"{spec} is not a service's settings class")
    return settings


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m phoi_kit.healthcheck phoi_<service>.settings:Settings", file=sys.stderr)
        return 2
    url = health_url(load_settings(argv[0]))
    try:
        status = httpx.get(url, timeout=3).status_code
    except httpx.HTTPError as error:
        print(f"{url}: {error!r}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{url}: HTTP {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
