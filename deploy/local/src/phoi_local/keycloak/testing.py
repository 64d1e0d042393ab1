"""Helpers for tests that run the same body against the stand-in or a real Keycloak.

target = KeycloakTarget.for_standin(standin_process)     # or KeycloakTarget.from_env()
target.openid()        # KeycloakOpenID for phoi-cli (password grant)
target.portal()        # KeycloakOpenID for portal (confidential)
target.admin()         # KeycloakAdmin via identity-service's service account
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection

from .settings import CLIENT_SECRET_ENV, DEFAULT_REALM_FILE, issuer_url

AUDIENCE = "phoi-api"
CLI_CLIENT = "phoi-cli"
PORTAL_CLIENT = "portal"
IDENTITY_CLIENT = "identity-service"


@cache
def _realm_file_secrets(path: Path) -> dict[str, str]:
    rep = json.loads(path.read_text(encoding="utf-8"))
    return {str(c["clientId"]): str(c["secret"]) for c in rep.get("clients", []) if c.get("secret")}


def client_secret(client_id: str, env: Mapping[str, str] | None = None, realm_file: Path = DEFAULT_REALM_FILE) -> str:
    """The secret a client uses: the env override (``PHOI_*_CLIENT_SECRET``) or the realm file's demo value."""
    env = os.environ if env is None else env
    var = CLIENT_SECRET_ENV.get(client_id)
    if var and env.get(var):
        return env[var]
    return _realm_file_secrets(realm_file)[client_id]


class _HasServerUrl(Protocol):
    @property
    def server_url(self) -> str: ...


@dataclass(frozen=True)
class KeycloakTarget:
    """Where the tests talk to: ``kind`` is ``"standin"`` or ``"keycloak"``."""

    kind: str
    server_url: str
    realm: str = "phoi"
    portal_secret: str = ""
    identity_secret: str = ""
    # The stand-in's state directory (its signing keys, for tests that mint tokens of their own); None for
    # a real Keycloak
    state_dir: Path | None = None

    @classmethod
    def for_standin(cls, standin: _HasServerUrl, env: Mapping[str, str] | None = None) -> KeycloakTarget:
        return cls(
            kind="standin",
            server_url=standin.server_url,
            portal_secret=client_secret(PORTAL_CLIENT, env),
            identity_secret=client_secret(IDENTITY_CLIENT, env),
            state_dir=getattr(standin, "state_dir", None),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeycloakTarget | None:
        """A real Keycloak at ``KEYCLOAK_URL`` (realm ``KEYCLOAK_REALM``, default ``phoi``), or ``None``."""
        env = os.environ if env is None else env
        url = env.get("KEYCLOAK_URL")
        if not url:
            return None
        return cls(
            kind="keycloak",
            server_url=url.rstrip("/") + "/",
            realm=env.get("KEYCLOAK_REALM", "phoi"),
            portal_secret=client_secret(PORTAL_CLIENT, env),
            identity_secret=client_secret(IDENTITY_CLIENT, env),
        )

    @property
    def is_standin(self) -> bool:
        return self.kind == "standin"

    @property
    def base_url(self) -> str:
        return self.server_url.rstrip("/")

    @property
    def issuer(self) -> str:
        return issuer_url(self.base_url, self.realm)

    def openid(self, client_id: str = CLI_CLIENT, secret: str | None = None) -> Any:
        """A python-keycloak ``KeycloakOpenID`` (``phoi-cli`` by default)."""
        return KeycloakOpenID(
            server_url=self.server_url, realm_name=self.realm, client_id=client_id, client_secret_key=secret
        )

    def portal(self) -> Any:
        return self.openid(PORTAL_CLIENT, self.portal_secret)

    def identity(self) -> Any:
        return self.openid(IDENTITY_CLIENT, self.identity_secret)

    def admin(self, secret: str | None = None) -> Any:
        """``KeycloakAdmin`` authenticated like the identity service (client credentials)."""
        connection = KeycloakOpenIDConnection(
            server_url=self.server_url,
            realm_name=self.realm,
            user_realm_name=self.realm,
            client_id=IDENTITY_CLIENT,
            client_secret_key=secret or self.identity_secret,
        )
        return KeycloakAdmin(connection=connection)


def new_password() -> str:
    """A random password that satisfies the realm's policy."""
    return f"Pw-{secrets.token_hex(8)}!"


@dataclass
class TestUser:
    """A user made by :func:`create_test_user`."""

    __test__ = False  # not a pytest test class

    id: str
    username: str
    password: str
    unit_code: str | None = None
    roles: list[str] = field(default_factory=list)


def create_test_user(
    admin: Any,
    *,
    role: str | None = "qlcl_officer",
    unit_code: str | None = None,
    temporary: bool = False,
    enabled: bool = True,
    with_email: bool = True,
    prefix: str = "t-",
) -> TestUser:
    """Create a user with a random name and password through ``KeycloakAdmin`` (as the identity
    service would), optionally with a temporary password (required action ``UPDATE_PASSWORD``)."""
    username = f"{prefix}{secrets.token_hex(5)}"
    password = new_password()
    payload: dict[str, Any] = {
        "username": username,
        "enabled": enabled,
        "firstName": "Thử",
        "lastName": "Người Dùng",
        "credentials": [{"type": "password", "value": password, "temporary": temporary}],
    }
    if temporary:
        payload["requiredActions"] = ["UPDATE_PASSWORD"]
    if with_email:
        payload["email"] = f"{username}@phoi.example"
        payload["emailVerified"] = True
    if unit_code:
        payload["attributes"] = {"unit_code": [unit_code]}
    user_id = str(admin.create_user(payload))
    roles: list[str] = []
    if role:
        admin.assign_realm_roles(user_id, [admin.get_realm_role(role)])
        roles.append(role)
    return TestUser(user_id, username, password, unit_code, roles)


def error_body(exc: Exception) -> dict[str, Any]:
    """The JSON body of a failed python-keycloak call (``KeycloakError.response_body``)."""
    body = getattr(exc, "response_body", None)
    raw = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    parsed: dict[str, Any] = json.loads(raw)
    return parsed


# -- a browser-free browser for the login pages -----------------------------------------------
@dataclass
class Form:
    id: str | None
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(id=a.get("id"), action=a.get("action", ""))
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "image"):
                return
            self._current.fields[a["name"]] = a.get("value", "on" if kind == "checkbox" else "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def read_form(html: str, form_id: str) -> Form:
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if form.id == form_id:
            return form
    raise AssertionError(f"no form {form_id!r} in page:\n{html[:2000]}")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def follow_within(client: httpx.Client, response: httpx.Response, stop_prefix: str) -> httpx.Response:
    """Follow redirects that stay on the identity provider; stop at one towards ``stop_prefix``."""
    for _ in range(10):
        if not response.is_redirect:
            return response
        location = response.headers["location"]
        if location.startswith(stop_prefix):
            return response
        response = client.get(str(response.url.join(location)))
    raise AssertionError("too many redirects")
