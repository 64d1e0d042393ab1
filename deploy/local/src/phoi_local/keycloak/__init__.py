"""Keycloak STAND-IN for development machines and tests -- NOT for production.

No Keycloak distribution can be installed on the development and CI machines, so this package
serves the realm of ``deploy/keycloak/realm-phoi.json`` with Keycloak's URL layout and wire
format, well enough that the services (Authlib JWT/JWKS validation, the portal's OIDC login) and
the identity service's python-keycloak calls run unchanged against it:

* OpenID Connect under ``/realms/phoi``: discovery, JWKS, realm public key, ``auth`` (login page
  in Vietnamese and English, authorization code + PKCE S256), ``token`` (authorization code,
  refresh, password for ``phoi-cli``, client credentials), ``userinfo``, ``token/introspect``,
  ``revoke``, ``logout`` (front-channel and refresh-token POST), the ``UPDATE_PASSWORD``
  required action, brute-force lockout;
* the part of ``/admin/realms/phoi`` the identity service uses (users, passwords, realm role
  mappings, sessions, logout, login events, brute-force status).

State (users, scrypt password hashes, sessions, events, signing keys) is kept in a state
directory. Production runs real Keycloak with the same realm file (``kc.sh import``) and every
service is pointed at it with ``KEYCLOAK_URL``; see ``README.md`` next to this file.

Entry points: ``python -m phoi_local.keycloak`` (CLI), :func:`create_app` (ASGI factory),
:class:`phoi_local.keycloak.process.StandinProcess` (subprocess helper for tests and the launcher).
"""

from .app import BANNER, create_app
from .core import Standin
from .settings import (
    CLIENT_SECRET_ENV,
    DEFAULT_DEMO_PASSWORD,
    DEFAULT_REALM_FILE,
    DEFAULT_SEED_FILE,
    StandinSettings,
    discovery_url,
    issuer_url,
    jwks_url,
    token_url,
)

__all__ = [
    "BANNER",
    "CLIENT_SECRET_ENV",
    "DEFAULT_DEMO_PASSWORD",
    "DEFAULT_REALM_FILE",
    "DEFAULT_SEED_FILE",
    "Standin",
    "StandinSettings",
    "create_app",
    "discovery_url",
    "issuer_url",
    "jwks_url",
    "token_url",
]
