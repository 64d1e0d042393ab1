"""Stand-in only: state survives restarts, demo seed and env overrides, key rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from keycloak.exceptions import KeycloakAuthenticationError
from phoi_local.keycloak import DEFAULT_DEMO_PASSWORD, DEFAULT_SEED_FILE
from phoi_local.keycloak.process import StandinProcess
from phoi_local.keycloak.testing import KeycloakTarget, create_test_user, error_body


def _kid(token: str) -> str:
    raw = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["kid"])


def test_demo_users_from_the_seed(standin_target: KeycloakTarget) -> None:
    seed = json.loads(DEFAULT_SEED_FILE.read_text(encoding="utf-8"))
    password = os.environ.get("PHOI_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
    oid = standin_target.openid()
    for entry in seed["users"]:
        tokens = oid.token(entry["username"], password)
        claims = oid.decode_token(tokens["access_token"])
        assert entry["role"] in claims["realm_access"]["roles"]
        assert claims.get("unit_code") == entry["unit_code"]
        assert claims["email"] == entry["email"]
        oid.logout(tokens["refresh_token"])


def test_restart_keeps_accounts_sessions_events_and_keys(tmp_path: Path) -> None:
    state_dir = tmp_path / "kc"
    with StandinProcess(state_dir=state_dir) as kc:
        target = KeycloakTarget.for_standin(kc)
        admin = target.admin()
        user = create_test_user(admin, role="unit_account", unit_code="SGD-HCM")
        oid = target.openid()
        tokens = oid.token(user.username, user.password)

        kc.restart()

        # the admin client's token (issued before the restart) still works: same signing key
        assert admin.get_user(user.id)["attributes"]["unit_code"] == ["SGD-HCM"]
        assert oid.decode_token(tokens["access_token"])["sub"] == user.id
        assert target.portal().introspect(tokens["access_token"])["active"] is True
        refreshed = oid.refresh_token(tokens["refresh_token"])  # the session survived
        assert refreshed["access_token"]
        assert oid.token(user.username, user.password)["access_token"]
        assert "LOGIN" in {e["type"] for e in admin.get_events({"user": user.id})}
        assert len(admin.get_users({"username": "qlcl.admin", "exact": True})) == 1  # seeded once

    state_file = state_dir / "state.json"
    text = state_file.read_text(encoding="utf-8")
    assert user.password not in text
    assert DEFAULT_DEMO_PASSWORD not in text
    assert '"algorithm":"scrypt"' in text
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / "keys.json").stat().st_mode) == 0o600


def test_env_overrides_demo_password_and_client_secrets(tmp_path: Path) -> None:
    env = {
        "PHOI_DEMO_PASSWORD": "another-Demo-Password-1",
        "PHOI_PORTAL_CLIENT_SECRET": "portal-secret-from-env",
        "PHOI_IDENTITY_CLIENT_SECRET": "identity-secret-from-env",
    }
    with StandinProcess(state_dir=tmp_path / "kc", env=env) as kc:
        target = KeycloakTarget.for_standin(kc, env=env)
        assert target.identity_secret == "identity-secret-from-env"
        oid = target.openid()
        assert oid.token("qlcl.officer", "another-Demo-Password-1")["access_token"]
        with pytest.raises(KeycloakAuthenticationError):
            oid.token("qlcl.officer", DEFAULT_DEMO_PASSWORD)
        assert target.identity().token(grant_type="client_credentials")["access_token"]
        with pytest.raises(KeycloakAuthenticationError) as default_secret:
            target.openid("identity-service", "dev-only-identity-service-secret-change-me").token(
                grant_type="client_credentials"
            )
        assert error_body(default_secret.value)["error"] == "invalid_client"
        assert target.admin().get_users({"username": "sgd-hn", "exact": True})


def test_seed_none_starts_without_demo_users(tmp_path: Path) -> None:
    with StandinProcess(state_dir=tmp_path / "kc", seed_file=None) as kc:
        assert KeycloakTarget.for_standin(kc).admin().get_users() == []


def test_key_rotation_keeps_old_tokens_verifiable(tmp_path: Path) -> None:
    with StandinProcess(state_dir=tmp_path / "kc") as kc:
        target = KeycloakTarget.for_standin(kc)
        oid = target.openid()
        password = os.environ.get("PHOI_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
        old = oid.token("qlcl.officer", password)
        old_kid = _kid(old["access_token"])

        new_kid = kc.rotate_keys(grace_seconds=600)

        assert new_kid != old_kid
        assert {old_kid, new_kid} <= {k["kid"] for k in oid.certs()["keys"]}
        new = oid.token("qlcl.officer", password)
        assert _kid(new["access_token"]) == new_kid
        # python-keycloak (jwcrypto) and joserfc (what Authlib uses) both verify both tokens
        assert oid.decode_token(old["access_token"])["preferred_username"] == "qlcl.officer"
        assert oid.decode_token(new["access_token"])["preferred_username"] == "qlcl.officer"
        keyset = KeySet.import_key_set(httpx.get(f"{target.issuer}/protocol/openid-connect/certs").json())
        for token in (old["access_token"], new["access_token"]):
            assert jwt.decode(token, keyset, algorithms=["RS256"]).claims["iss"] == target.issuer
        assert oid.userinfo(old["access_token"])["preferred_username"] == "qlcl.officer"
        assert oid.refresh_token(old["refresh_token"])["access_token"]

        kc.restart()  # both keys are persisted
        assert {old_kid, new_kid} <= {k["kid"] for k in oid.certs()["keys"]}

        refused = httpx.post(f"{kc.base_url}/standin/keys/rotate", headers={"X-Standin-Hook-Secret": "guess"})
        assert refused.status_code == 403


def test_realm_endpoint_and_unknown_realm(standin_target: KeycloakTarget) -> None:
    realm = httpx.get(standin_target.issuer).json()
    assert realm["realm"] == "phoi"
    assert realm["token-service"] == f"{standin_target.issuer}/protocol/openid-connect"
    other = httpx.get(f"{standin_target.base_url}/realms/master/.well-known/openid-configuration")
    assert other.status_code == 404


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "phoi_local.keycloak", "--help"], capture_output=True, text=True, check=True
    )
    assert "NOT for production" in out.stdout
