"""Reads a Keycloak realm-export file into the small model the stand-in needs.

Only the parts the stand-in implements are read; everything else in the file is left to real
Keycloak. Built-in things a real Keycloak creates on import (the ``realm-management`` and
``account`` client roles, ``default-roles-<realm>``, ``offline_access``, ``uma_authorization``)
are synthesised here so tokens and admin answers look like Keycloak's.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_NS = uuid.UUID("6f1d3c2e-7b0a-4c59-9a52-4f3b7e0d9c11")


def stable_id(*parts: str) -> str:
    """A deterministic UUID for things Keycloak would give a random id (roles, clients)."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


REALM_MANAGEMENT = "realm-management"
ACCOUNT = "account"

_REALM_MANAGEMENT_ROLES = (
    "create-client",
    "impersonation",
    "manage-authorization",
    "manage-clients",
    "manage-events",
    "manage-identity-providers",
    "manage-realm",
    "manage-users",
    "query-clients",
    "query-groups",
    "query-realms",
    "query-users",
    "view-authorization",
    "view-clients",
    "view-events",
    "view-identity-providers",
    "view-realm",
    "view-users",
)
_REALM_MANAGEMENT_COMPOSITES: Mapping[str, tuple[str, ...]] = {
    "view-users": ("query-users", "query-groups"),
    "view-clients": ("query-clients",),
    "realm-admin": _REALM_MANAGEMENT_ROLES,
}
_ACCOUNT_ROLES = (
    "delete-account",
    "manage-account",
    "manage-account-links",
    "manage-consent",
    "view-applications",
    "view-consent",
    "view-groups",
    "view-profile",
)
_ACCOUNT_COMPOSITES: Mapping[str, tuple[str, ...]] = {
    "manage-account": ("manage-account-links",),
    "manage-consent": ("view-consent",),
}


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    description: str
    container_id: str
    client_role: bool
    #: realm role names this composite role includes
    realm_composites: tuple[str, ...] = ()
    #: clientId -> client role names this composite role includes
    client_composites: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def composite(self) -> bool:
        return bool(self.realm_composites or self.client_composites)

    def representation(self) -> dict[str, Any]:
        """Keycloak's RoleRepresentation."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "composite": self.composite,
            "clientRole": self.client_role,
            "containerId": self.container_id,
        }


@dataclass(frozen=True)
class ProtocolMapper:
    name: str
    mapper: str
    config: Mapping[str, str]

    def applies_to(self, token_kind: str) -> bool:
        key = {
            "access": "access.token.claim",
            "id": "id.token.claim",
            "userinfo": "userinfo.token.claim",
            "introspection": "introspection.token.claim",
        }[token_kind]
        default = "true" if token_kind == "introspection" else "false"  # noqa: S105
        return self.config.get(key, default).lower() == "true"


@dataclass(frozen=True)
class Client:
    id: str
    client_id: str
    name: str
    enabled: bool
    public: bool
    secret: str | None
    standard_flow: bool
    direct_access_grants: bool
    service_accounts: bool
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    web_origins: tuple[str, ...]
    pkce_method: str | None
    mappers: tuple[ProtocolMapper, ...]
    refresh_for_client_credentials: bool = False

    def audiences(self, token_kind: str) -> list[str]:
        return [
            m.config["included.custom.audience"]
            for m in self.mappers
            if m.mapper == "oidc-audience-mapper"
            and m.config.get("included.custom.audience")
            and m.applies_to(token_kind)
        ]

    def attribute_mappers(self, token_kind: str) -> list[ProtocolMapper]:
        return [m for m in self.mappers if m.mapper == "oidc-usermodel-attribute-mapper" and m.applies_to(token_kind)]

    def allowed_origins(self) -> list[str]:
        origins: list[str] = []
        for origin in self.web_origins:
            if origin == "+":
                for uri in self.redirect_uris:
                    m = re.match(r"^(https?://[^/]+)", uri)
                    if m and m.group(1) not in origins:
                        origins.append(m.group(1))
            elif origin not in origins:
                origins.append(origin)
        return origins


@dataclass(frozen=True)
class PasswordPolicyError:
    code: str
    message_en: str
    message_vi: str
    #: parameters of the message ``code`` in the login theme's bundles (``{0}``)
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class PasswordPolicy:
    """The subset of Keycloak's password policies the stand-in enforces."""

    min_length: int = 8
    max_length: int | None = None
    not_username: bool = False
    not_email: bool = False
    digits: int = 0
    upper: int = 0
    lower: int = 0
    special: int = 0

    @classmethod
    def parse(cls, text: str | None) -> PasswordPolicy:
        """Parse Keycloak's ``passwordPolicy`` string, e.g. ``length(12) and notUsername``."""
        if not text:
            return cls(min_length=0)
        values: dict[str, Any] = {"min_length": 0}
        for part in text.split(" and "):
            m = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:\(([^)]*)\))?\s*", part)
            if not m:
                continue
            name, arg = m.group(1), (m.group(2) or "").strip()
            number = int(arg) if arg.isdigit() else 1
            if name == "length":
                values["min_length"] = int(arg) if arg.isdigit() else 8
            elif name == "maxLength":
                values["max_length"] = int(arg) if arg.isdigit() else 64
            elif name == "notUsername":
                values["not_username"] = True
            elif name == "notEmail":
                values["not_email"] = True
            elif name == "digits":
                values["digits"] = number
            elif name == "upperCase":
                values["upper"] = number
            elif name == "lowerCase":
                values["lower"] = number
            elif name == "specialChars":
                values["special"] = number
        return cls(**values)

    def check(self, password: str, username: str, email: str | None) -> PasswordPolicyError | None:
        """The first violated rule (Keycloak's message key and texts), or ``None``."""
        if len(password) < self.min_length:
            return PasswordPolicyError(
                "invalidPasswordMinLengthMessage",
                f"Invalid password: minimum length {self.min_length}.",
                f"Mật khẩu không hợp lệ: cần tối thiểu {self.min_length} ký tự.",
                (str(self.min_length),),
            )
        if self.max_length is not None and len(password) > self.max_length:
            return PasswordPolicyError(
                "invalidPasswordMaxLengthMessage",
                f"Invalid password: maximum length {self.max_length}.",
                f"Mật khẩu không hợp lệ: tối đa {self.max_length} ký tự.",
                (str(self.max_length),),
            )
        if self.not_username and password.lower() == username.lower():
            return PasswordPolicyError(
                "invalidPasswordNotUsernameMessage",
                "Invalid password: must not be equal to the username.",
                "Mật khẩu không hợp lệ: không được trùng với tên đăng nhập.",
            )
        if self.not_email and email and password.lower() == email.lower():
            return PasswordPolicyError(
                "invalidPasswordNotEmailMessage",
                "Invalid password: must not be equal to the email.",
                "Mật khẩu không hợp lệ: không được trùng với địa chỉ email.",
            )
        digits = sum(c.isdigit() for c in password)
        upper, lower = sum(c.isupper() for c in password), sum(c.islower() for c in password)
        special = sum(not c.isalnum() for c in password)
        counts = (
            (self.digits, digits, "Digits", "numerical digits", "chữ số"),
            (self.upper, upper, "UpperCaseChars", "upper case characters", "chữ hoa"),
            (self.lower, lower, "LowerCaseChars", "lower case characters", "chữ thường"),
            (self.special, special, "SpecialChars", "special characters", "ký tự đặc biệt"),
        )
        for need, have, key, en, vi in counts:
            if have < need:
                return PasswordPolicyError(
                    f"invalidPasswordMin{key}Message",
                    f"Invalid password: must contain at least {need} {en}.",
                    f"Mật khẩu không hợp lệ: cần ít nhất {need} {vi}.",
                    (str(need),),
                )
        return None


@dataclass(frozen=True)
class BruteForce:
    enabled: bool = False
    permanent: bool = False
    failure_factor: int = 30
    wait_increment: int = 60
    max_wait: int = 900
    min_quick_wait: int = 60
    quick_check_ms: int = 1000
    max_delta: int = 43200


@dataclass(frozen=True)
class ServiceAccount:
    client_id: str
    username: str
    realm_roles: tuple[str, ...]
    client_roles: Mapping[str, tuple[str, ...]]

    @property
    def user_id(self) -> str:
        return stable_id("service-account", self.client_id)


@dataclass(frozen=True)
class Realm:
    id: str
    name: str
    display_name: str
    access_token_lifespan: int
    sso_idle: int
    sso_max: int
    access_code_lifespan: int
    login_lifespan: int
    user_action_lifespan: int
    password_policy: PasswordPolicy
    brute_force: BruteForce
    events_enabled: bool
    events_expiration: int | None
    enabled_event_types: frozenset[str]
    login_with_email: bool
    edit_username_allowed: bool
    duplicate_emails_allowed: bool
    supported_locales: tuple[str, ...]
    default_locale: str
    clients: Mapping[str, Client]
    realm_roles: Mapping[str, Role]
    client_roles: Mapping[str, Mapping[str, Role]]
    default_role: str
    service_accounts: Mapping[str, ServiceAccount]
    #: attributes the realm's user profile declares (Keycloak drops others); ``None``: keep all
    managed_attributes: frozenset[str] | None = None
    #: ``loginTheme``: the theme whose texts and stylesheet the login pages use
    login_theme: str | None = None

    def client_by_uuid(self, client_uuid: str) -> Client | None:
        return next((c for c in self.clients.values() if c.id == client_uuid), None)

    def event_enabled(self, event_type: str) -> bool:
        if not self.events_enabled:
            return False
        return not self.enabled_event_types or event_type in self.enabled_event_types

    def effective_roles(
        self, realm_roles: Iterable[str], client_roles: Mapping[str, Iterable[str]]
    ) -> tuple[list[str], dict[str, list[str]]]:
        """Expand composite roles: (realm role names, clientId -> client role names)."""
        realm_out: set[str] = set()
        client_out: dict[str, set[str]] = {}
        pending: list[tuple[str | None, str]] = [(None, r) for r in realm_roles]
        for cid, names in client_roles.items():
            pending.extend((cid, n) for n in names)
        while pending:
            container, name = pending.pop()
            if container is None:
                if name in realm_out:
                    continue
                realm_out.add(name)
                role = self.realm_roles.get(name)
            else:
                bucket = client_out.setdefault(container, set())
                if name in bucket:
                    continue
                bucket.add(name)
                role = self.client_roles.get(container, {}).get(name)
            if role is not None:
                pending.extend((None, r) for r in role.realm_composites)
                for cid, names in role.client_composites.items():
                    pending.extend((cid, n) for n in names)
        return sorted(realm_out), {k: sorted(v) for k, v in sorted(client_out.items()) if v}


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _client(rep: Mapping[str, Any], secret_overrides: Mapping[str, str]) -> Client:
    client_id = str(rep["clientId"])
    attributes: Mapping[str, Any] = rep.get("attributes") or {}
    redirect_uris = tuple(str(u) for u in rep.get("redirectUris") or ())
    post_logout_raw = str(attributes.get("post.logout.redirect.uris") or "")
    post_logout: list[str] = []
    for item in post_logout_raw.split("##"):
        if item == "+":
            post_logout.extend(redirect_uris)
        elif item:
            post_logout.append(item)
    mappers = tuple(
        ProtocolMapper(
            name=str(m.get("name", "")),
            mapper=str(m.get("protocolMapper", "")),
            config={str(k): str(v) for k, v in (m.get("config") or {}).items()},
        )
        for m in rep.get("protocolMappers") or ()
    )
    public = _bool(rep.get("publicClient"), False)
    secret = None if public else secret_overrides.get(client_id, rep.get("secret"))
    return Client(
        id=str(rep.get("id") or stable_id("client", client_id)),
        client_id=client_id,
        name=str(rep.get("name") or client_id),
        enabled=_bool(rep.get("enabled"), True),
        public=public,
        secret=str(secret) if secret is not None else None,
        standard_flow=_bool(rep.get("standardFlowEnabled"), True),
        direct_access_grants=_bool(rep.get("directAccessGrantsEnabled"), False),
        service_accounts=_bool(rep.get("serviceAccountsEnabled"), False),
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=tuple(post_logout),
        web_origins=tuple(str(o) for o in rep.get("webOrigins") or ()),
        pkce_method=str(attributes["pkce.code.challenge.method"])
        if attributes.get("pkce.code.challenge.method")
        else None,
        mappers=mappers,
        refresh_for_client_credentials=_bool(attributes.get("use.refresh.tokens.for.client.credentials.grant"), False),
    )


def _builtin_client_roles(realm_id: str) -> dict[str, dict[str, Role]]:
    out: dict[str, dict[str, Role]] = {}
    for cid, names, composites in (
        (REALM_MANAGEMENT, (*_REALM_MANAGEMENT_ROLES, "realm-admin"), _REALM_MANAGEMENT_COMPOSITES),
        (ACCOUNT, _ACCOUNT_ROLES, _ACCOUNT_COMPOSITES),
    ):
        container = stable_id("client", cid)
        out[cid] = {
            n: Role(
                id=stable_id("role", realm_id, cid, n),
                name=n,
                description=f"${{role_{n.replace('-', '_')}}}",
                container_id=container,
                client_role=True,
                client_composites={cid: composites[n]} if n in composites else {},
            )
            for n in names
        }
    return out


def _managed_attributes(rep: Mapping[str, Any]) -> frozenset[str] | None:
    components = (rep.get("components") or {}).get("org.keycloak.userprofile.UserProfileProvider") or []
    for component in components:
        raw = ((component.get("config") or {}).get("kc.user.profile.config") or [None])[0]
        if not raw:
            continue
        config = json.loads(raw)
        if config.get("unmanagedAttributePolicy"):
            return None
        builtin = {"username", "email", "firstName", "lastName"}
        return frozenset(str(a["name"]) for a in config.get("attributes", []) if a.get("name") not in builtin)
    return None


def parse_realm(rep: Mapping[str, Any], secret_overrides: Mapping[str, str] | None = None) -> Realm:
    """Build the stand-in's realm model from a realm representation (a parsed realm-export file)."""
    secret_overrides = secret_overrides or {}
    name = str(rep["realm"])
    realm_id = str(rep.get("id") or name)
    default_role = f"default-roles-{name}"

    realm_roles: dict[str, Role] = {}
    for r in (rep.get("roles") or {}).get("realm") or ():
        composites = r.get("composites") or {}
        realm_roles[str(r["name"])] = Role(
            id=str(r.get("id") or stable_id("role", realm_id, str(r["name"]))),
            name=str(r["name"]),
            description=str(r.get("description") or ""),
            container_id=realm_id,
            client_role=False,
            realm_composites=tuple(composites.get("realm") or ()),
            client_composites={k: tuple(v) for k, v in (composites.get("client") or {}).items()},
        )
    for builtin, desc in (
        ("offline_access", "${role_offline-access}"),
        ("uma_authorization", "${role_uma_authorization}"),
    ):
        if builtin not in realm_roles:
            realm_roles[builtin] = Role(stable_id("role", realm_id, builtin), builtin, desc, realm_id, False)
    default_rep = rep.get("defaultRole") or {}
    if default_role not in realm_roles:
        composites = default_rep.get("composites") or {}
        realm_roles[default_role] = Role(
            id=str(default_rep.get("id") or stable_id("role", realm_id, default_role)),
            name=default_role,
            description="${role_default-roles}",
            container_id=realm_id,
            client_role=False,
            realm_composites=tuple(composites.get("realm") or ("offline_access", "uma_authorization")),
            client_composites={
                k: tuple(v)
                for k, v in (composites.get("client") or {ACCOUNT: ["view-profile", "manage-account"]}).items()
            },
        )

    client_roles = _builtin_client_roles(realm_id)
    clients = {c.client_id: c for c in (_client(c, secret_overrides) for c in rep.get("clients") or ())}
    for cid, roles in ((rep.get("roles") or {}).get("client") or {}).items():
        container = clients[cid].id if cid in clients else stable_id("client", cid)
        bucket = client_roles.setdefault(cid, {})
        for r in roles:
            bucket[str(r["name"])] = Role(
                id=str(r.get("id") or stable_id("role", realm_id, cid, str(r["name"]))),
                name=str(r["name"]),
                description=str(r.get("description") or ""),
                container_id=container,
                client_role=True,
            )

    service_accounts: dict[str, ServiceAccount] = {}
    for u in rep.get("users") or ():
        sa_client = u.get("serviceAccountClientId")
        if not sa_client:
            continue  # the stand-in takes people from the seed file, not from the realm file
        service_accounts[str(sa_client)] = ServiceAccount(
            client_id=str(sa_client),
            username=str(u.get("username") or f"service-account-{sa_client}"),
            realm_roles=tuple(u.get("realmRoles") or (default_role,)),
            client_roles={k: tuple(v) for k, v in (u.get("clientRoles") or {}).items()},
        )
    for c in clients.values():
        if c.service_accounts and c.client_id not in service_accounts:
            service_accounts[c.client_id] = ServiceAccount(
                c.client_id, f"service-account-{c.client_id}", (default_role,), {}
            )

    expiration = rep.get("eventsExpiration")
    return Realm(
        managed_attributes=_managed_attributes(rep),
        id=realm_id,
        name=name,
        display_name=str(rep.get("displayName") or name),
        access_token_lifespan=int(rep.get("accessTokenLifespan", 300)),
        sso_idle=int(rep.get("ssoSessionIdleTimeout", 1800)),
        sso_max=int(rep.get("ssoSessionMaxLifespan", 36000)),
        access_code_lifespan=int(rep.get("accessCodeLifespan", 60)),
        login_lifespan=int(rep.get("accessCodeLifespanLogin", 1800)),
        user_action_lifespan=int(rep.get("accessCodeLifespanUserAction", 300)),
        password_policy=PasswordPolicy.parse(rep.get("passwordPolicy")),
        brute_force=BruteForce(
            enabled=_bool(rep.get("bruteForceProtected"), False),
            permanent=_bool(rep.get("permanentLockout"), False),
            failure_factor=int(rep.get("failureFactor", 30)),
            wait_increment=int(rep.get("waitIncrementSeconds", 60)),
            max_wait=int(rep.get("maxFailureWaitSeconds", 900)),
            min_quick_wait=int(rep.get("minimumQuickLoginWaitSeconds", 60)),
            quick_check_ms=int(rep.get("quickLoginCheckMilliSeconds", 1000)),
            max_delta=int(rep.get("maxDeltaTimeSeconds", 43200)),
        ),
        events_enabled=_bool(rep.get("eventsEnabled"), False),
        events_expiration=int(expiration) if expiration else None,
        enabled_event_types=frozenset(rep.get("enabledEventTypes") or ()),
        login_with_email=_bool(rep.get("loginWithEmailAllowed"), True),
        edit_username_allowed=_bool(rep.get("editUsernameAllowed"), False),
        duplicate_emails_allowed=_bool(rep.get("duplicateEmailsAllowed"), False),
        supported_locales=tuple(rep.get("supportedLocales") or ("en",)),
        default_locale=str(rep.get("defaultLocale") or "en"),
        clients=clients,
        realm_roles=realm_roles,
        client_roles=client_roles,
        default_role=default_role,
        service_accounts=service_accounts,
        login_theme=rep.get("loginTheme") or None,
    )


def load_realm(path: Path, secret_overrides: Mapping[str, str] | None = None) -> Realm:
    """Load ``deploy/keycloak/realm-phoi.json`` (or another realm-export file)."""
    with path.open(encoding="utf-8") as fh:
        rep = json.load(fh)
    return parse_realm(rep, secret_overrides)


def _matches(allowed: Iterable[str], uri: str) -> bool:
    for valid in allowed:
        if valid.endswith("*"):
            prefix = valid[:-1]
            if uri.startswith(prefix):
                return True
            if prefix.endswith("/") and uri == prefix[:-1]:
                return True
        elif valid == uri:
            return True
    return False


def redirect_uri_allowed(uri: str, allowed: Iterable[str]) -> bool:
    """Keycloak's redirect-URI check: ``*`` only as a trailing wildcard, and any port accepted on
    ``http://localhost`` / ``http://127.0.0.1`` when those are registered without one (RFC 8252)."""
    allowed = list(allowed)
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or parts.fragment:
        return False
    try:
        port = parts.port
    except ValueError:
        return False
    host = parts.netloc.lower()
    bare = f"{parts.scheme}://{host}{parts.path}"
    if _matches(allowed, bare):
        return True
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1") and port is not None:
        return _matches(allowed, f"http://{parts.hostname}{parts.path}")
    return False
