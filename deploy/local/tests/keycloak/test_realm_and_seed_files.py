"""The realm file real Keycloak imports, the demo seed, and the stand-in's pure helpers."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from phoi_local.keycloak import DEFAULT_REALM_FILE, DEFAULT_SEED_FILE, StandinSettings
from phoi_local.keycloak.realm import PasswordPolicy, parse_realm, redirect_uri_allowed
from phoi_local.keycloak.testing import client_secret

ROLES = {"qlcl_admin", "qlcl_officer", "unit_account", "auditor"}


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_REALM_FILE.read_text(encoding="utf-8"))
    return data


def _client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(c for c in realm["clients"] if c["clientId"] == client_id)


def _mappers(client: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["protocolMapper"]: m for m in client.get("protocolMappers", [])}


def test_realm_basics(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "phoi"
    assert realm["enabled"] is True
    assert {r["name"] for r in realm["roles"]["realm"]} == ROLES
    assert realm["accessTokenLifespan"] == 300
    assert realm["ssoSessionIdleTimeout"] == 1800
    assert realm["bruteForceProtected"] is True
    assert realm["failureFactor"] > 0
    policy = realm["passwordPolicy"]
    assert "length(12)" in policy
    assert "notUsername" in policy
    assert realm["eventsEnabled"] is True
    assert {"LOGIN", "LOGIN_ERROR", "UPDATE_PASSWORD", "LOGOUT"} <= set(realm["enabledEventTypes"])
    assert realm["defaultLocale"] == "vi"


def test_clients(realm: dict[str, Any]) -> None:
    portal = _client(realm, "portal")
    assert portal["publicClient"] is False
    assert portal["standardFlowEnabled"] is True
    assert portal["directAccessGrantsEnabled"] is False
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    assert any(u.startswith("http://127.0.0.1") for u in portal["redirectUris"])
    assert any(u.startswith("http://localhost") for u in portal["redirectUris"])
    assert any(u.startswith("https://") for u in portal["redirectUris"])

    identity = _client(realm, "identity-service")
    assert identity["publicClient"] is False
    assert identity["serviceAccountsEnabled"] is True
    assert identity["standardFlowEnabled"] is False

    cli = _client(realm, "phoi-cli")
    assert cli["publicClient"] is True
    assert cli["directAccessGrantsEnabled"] is True
    assert cli["standardFlowEnabled"] is False

    for client in (portal, identity, cli):
        audience = _mappers(client)["oidc-audience-mapper"]["config"]
        assert audience["included.custom.audience"] == "phoi-api"
        assert audience["access.token.claim"] == "true"
    for client in (portal, cli):
        unit = _mappers(client)["oidc-usermodel-attribute-mapper"]["config"]
        assert unit["user.attribute"] == "unit_code"
        assert unit["claim.name"] == "unit_code"
        assert unit["access.token.claim"] == "true"


def test_secrets_are_dev_placeholders_and_no_demo_users(realm: dict[str, Any]) -> None:
    for client in realm["clients"]:
        if "secret" in client:
            assert client["secret"].startswith("dev-only-")
    for user in realm.get("users", []):
        assert user.get("serviceAccountClientId"), "the realm file carries no people"
        assert "credentials" not in user
    account = next(u for u in realm["users"] if u["serviceAccountClientId"] == "identity-service")
    assert {"manage-users", "view-users", "query-users", "view-events"} <= set(
        account["clientRoles"]["realm-management"]
    )


def test_user_profile_declares_unit_code_admin_editable_only(realm: dict[str, Any]) -> None:
    component = realm["components"]["org.keycloak.userprofile.UserProfileProvider"][0]
    profile = json.loads(component["config"]["kc.user.profile.config"][0])
    unit = next(a for a in profile["attributes"] if a["name"] == "unit_code")
    assert unit["permissions"]["edit"] == ["admin"]


def test_parse_realm_model(realm: dict[str, Any]) -> None:
    model = parse_realm(realm, {"portal": "override"})
    assert model.clients["portal"].secret == "override"
    assert model.clients["phoi-cli"].secret is None
    assert model.password_policy.min_length == 12
    assert model.brute_force.enabled
    assert model.managed_attributes == frozenset({"unit_code"})
    roles, clients = model.effective_roles(["default-roles-phoi", "unit_account"], {})
    assert {"unit_account", "offline_access", "uma_authorization"} <= set(roles)
    assert "view-profile" in clients["account"]
    _, sa_clients = model.effective_roles([], {"realm-management": ["view-users"]})
    assert set(sa_clients["realm-management"]) == {"view-users", "query-users", "query-groups"}


def test_password_policy() -> None:
    policy = PasswordPolicy.parse("length(12) and notUsername")
    assert policy.check("short", "user", None) is not None
    violation = policy.check("some.username", "Some.Username", None)
    assert violation is not None
    assert violation.code == "invalidPasswordNotUsernameMessage"
    assert "ký tự" in policy.check("short", "user", None).message_vi  # type: ignore[union-attr]
    assert policy.check("long-enough-Password", "user", None) is None


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("http://127.0.0.1:8000/auth/callback", True),
        ("http://127.0.0.1:54321/cb?x=1", True),
        ("http://localhost:8000/auth/callback", True),
        ("https://phoi.moet.gov.vn/auth/callback", True),
        ("http://127.0.0.1:8000@evil.example/cb", False),
        ("https://evil.example/cb", False),
        ("https://phoi.moet.gov.vn.evil.example/cb", False),
        ("http://phoi.moet.gov.vn/auth/callback", False),
        ("javascript:alert(1)", False),
        ("http://127.0.0.1:8000/cb#fragment", False),
    ],
)
def test_redirect_uri_rules(realm: dict[str, Any], uri: str, allowed: bool) -> None:
    assert redirect_uri_allowed(uri, _client(realm, "portal")["redirectUris"]) is allowed


def test_settings_from_env(tmp_path: Path) -> None:
    env = {
        "KEYCLOAK_STANDIN_PORT": "18080",
        "KEYCLOAK_STANDIN_STATE_DIR": str(tmp_path),
        "PHOI_DEMO_PASSWORD": "x-Demo-Password-1",
        "PHOI_PORTAL_CLIENT_SECRET": "p",
    }
    settings = StandinSettings.from_env(env, port=19090)
    assert settings.port == 19090
    assert settings.state_dir == tmp_path
    assert settings.demo_password == "x-Demo-Password-1"
    assert settings.client_secrets == {"portal": "p"}
    assert client_secret("portal", env) == "p"
    assert client_secret("identity-service", env) == "dev-only-identity-service-secret-change-me"


def test_demo_seed() -> None:
    seed = json.loads(DEFAULT_SEED_FILE.read_text(encoding="utf-8"))
    units = {u["code"]: u for u in seed["units"]}
    assert units["QLCL"]["kind"] == "issuer"
    departments = [u for u in seed["units"] if u["kind"] == "provincial_department"]
    assert {"SGD-HN", "SGD-HCM"} <= {u["code"] for u in departments}
    assert all(u["name"] and u["province"] for u in departments)
    assert units["SGD-HN"]["name"] == "Sở Giáo dục và Đào tạo Hà Nội"

    users = seed["users"]
    assert {u["role"] for u in users} == ROLES
    assert len({u["username"] for u in users}) == len(users)
    for user in users:
        assert user["role"] in ROLES
        assert user["first_name"]
        assert user["last_name"]
        assert "@" in user["email"]
        if user["role"] == "unit_account":
            assert user["unit_code"] in units
            assert user["unit_code"] != "QLCL"
        else:
            assert user["unit_code"] is None
    unit_accounts = {u["unit_code"] for u in users if u["role"] == "unit_account"}
    assert unit_accounts == {u["code"] for u in departments}  # one account per receiving unit

    form_types = {f["code"]: f for f in seed["form_types"]}
    assert set(form_types) == {"THCS", "THPT", "CNHTCT"}
    for form_type in form_types.values():
        assert form_type["name"]
        assert form_type["name_en"]
        assert re.fullmatch(r"[A-Z]{1,4}", form_type["serial_prefix"])
        assert form_type["serial_digits"] >= 6
    assert len({f["serial_prefix"] for f in form_types.values()}) == len(form_types)

    (batch,) = seed["print_batches"]
    form_type = form_types[batch["form_type"]]
    assert 1 <= batch["first_serial"] <= batch["last_serial"] < 10 ** form_type["serial_digits"]
    assert batch["printer"]
    assert batch["contract_ref"]
    date.fromisoformat(batch["received_on"])
