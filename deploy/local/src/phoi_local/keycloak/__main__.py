"""``python -m phoi_local.keycloak``: run the Keycloak stand-in (development and tests only)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import uvicorn

from .app import create_app
from .settings import StandinSettings


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m phoi_local.keycloak",
        description="Keycloak stand-in for development and tests. NOT for production.",
    )
    parser.add_argument("--host", help="listen address (env KEYCLOAK_STANDIN_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (env KEYCLOAK_STANDIN_PORT, default 8080)")
    parser.add_argument("--realm-file", type=Path, help="realm-export JSON (default deploy/keycloak/realm-phoi.json)")
    parser.add_argument("--seed", help="demo seed JSON, or 'none' (default deploy/local/demo-seed.json)")
    parser.add_argument("--state-dir", type=Path, help="state directory (env KEYCLOAK_STANDIN_STATE_DIR)")
    parser.add_argument(
        "--public-url",
        help="externally visible base URL, fixes the issuer (env KEYCLOAK_STANDIN_PUBLIC_URL); "
        "default: taken from each request's Host header",
    )
    parser.add_argument("--key-grace-seconds", type=int, help="how long a rotated-out key stays in the JWKS")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    overrides: dict[str, object] = {
        "host": args.host,
        "port": args.port,
        "realm_file": args.realm_file,
        "state_dir": args.state_dir,
        "public_url": args.public_url,
        "key_grace_seconds": args.key_grace_seconds,
    }
    if args.seed is not None and args.seed.lower() != "none":
        overrides["seed_file"] = Path(args.seed)
    settings = StandinSettings.from_env(**overrides)
    if args.seed is not None and args.seed.lower() == "none":
        settings = replace(settings, seed_file=None)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
