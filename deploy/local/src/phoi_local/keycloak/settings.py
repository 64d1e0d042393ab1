"""Settings of the Keycloak stand-in (development and tests only, never production)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve()
#: ``deploy/`` in a source checkout (the package is installed editable from ``deploy/local/src``).
DEPLOY_DIR = _HERE.parents[4]
REPO_ROOT = _HERE.parents[5]
DEFAULT_REALM_FILE = DEPLOY_DIR / "keycloak" / "realm-phoi.json"
DEFAULT_SEED_FILE = DEPLOY_DIR / "local" / "demo-seed.json"
DEFAULT_STATE_DIR = REPO_ROOT / ".local" / "keycloak-standin"
#: Keycloak themes (production mounts the same folders under /opt/keycloak/themes).
DEFAULT_THEMES_DIR = DEPLOY_DIR / "keycloak" / "themes"
#: Login theme when the realm file names none (real Keycloak would use its own default).
DEFAULT_LOGIN_THEME = "phoi"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: Password of every demo user from the seed file unless ``PHOI_DEMO_PASSWORD`` says otherwise.
DEFAULT_DEMO_PASSWORD = "demo-Phoi-2024!"  # noqa: S105 - documented demo value

#: Environment variables that override a client's secret from the realm file.
CLIENT_SECRET_ENV: Mapping[str, str] = {
    "portal": "PHOI_PORTAL_CLIENT_SECRET",
    "identity-service": "PHOI_IDENTITY_CLIENT_SECRET",
}


@dataclass(frozen=True)
class StandinSettings:
    """Everything :func:`phoi_local.keycloak.create_app` needs.

    ``public_url`` fixes the externally visible base URL (and so the token issuer
    ``{public_url}/realms/phoi``); when ``None`` it is taken from each request's Host, as
    Keycloak does without a configured hostname.
    """

    realm_file: Path = DEFAULT_REALM_FILE
    seed_file: Path | None = DEFAULT_SEED_FILE
    state_dir: Path = DEFAULT_STATE_DIR
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    public_url: str | None = None
    demo_password: str = DEFAULT_DEMO_PASSWORD
    client_secrets: Mapping[str, str] = field(default_factory=dict)
    #: How long a rotated-out signing key stays in the JWKS; ``None``: twice the access token lifespan.
    key_grace_seconds: int | None = None
    #: Most recent events kept in the state file (older ones are also dropped after the realm's
    #: ``eventsExpiration``).
    max_events: int = 5000
    #: Where the realm's ``loginTheme`` is looked up (``<themes_dir>/<name>/login``).
    themes_dir: Path = DEFAULT_THEMES_DIR
    #: The portal's address for the "cannot access" link; ``None``: the theme property
    #: ``phoiPortalUrl`` (``${env.PHOI_PORTAL_URL:http://127.0.0.1:8000}``), as in Keycloak.
    portal_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, /, **overrides: Any) -> StandinSettings:
        """Defaults, then environment variables, then explicit ``overrides`` (``None`` values ignored)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("KEYCLOAK_STANDIN_HOST"):
            values["host"] = env["KEYCLOAK_STANDIN_HOST"]
        if env.get("KEYCLOAK_STANDIN_PORT"):
            values["port"] = int(env["KEYCLOAK_STANDIN_PORT"])
        if env.get("KEYCLOAK_STANDIN_STATE_DIR"):
            values["state_dir"] = Path(env["KEYCLOAK_STANDIN_STATE_DIR"])
        if env.get("KEYCLOAK_STANDIN_PUBLIC_URL"):
            values["public_url"] = env["KEYCLOAK_STANDIN_PUBLIC_URL"]
        if env.get("PHOI_DEMO_PASSWORD"):
            values["demo_password"] = env["PHOI_DEMO_PASSWORD"]
        secrets = {cid: env[var] for cid, var in CLIENT_SECRET_ENV.items() if env.get(var)}
        values["client_secrets"] = secrets
        settings = cls(**values)
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "client_secrets" in clean:
            clean["client_secrets"] = {**secrets, **clean["client_secrets"]}
        return replace(settings, **clean)


def issuer_url(base_url: str, realm: str = "phoi") -> str:
    """``http://host:port`` (or with a trailing slash) -> ``http://host:port/realms/phoi``."""
    return f"{base_url.rstrip('/')}/realms/{realm}"


def discovery_url(base_url: str, realm: str = "phoi") -> str:
    """The OpenID Connect discovery document of the realm."""
    return f"{issuer_url(base_url, realm)}/.well-known/openid-configuration"


def jwks_url(base_url: str, realm: str = "phoi") -> str:
    """The realm's JWKS (``protocol/openid-connect/certs``)."""
    return f"{issuer_url(base_url, realm)}/protocol/openid-connect/certs"


def token_url(base_url: str, realm: str = "phoi") -> str:
    """The realm's token endpoint."""
    return f"{issuer_url(base_url, realm)}/protocol/openid-connect/token"
