"""The admin REST calls the identity service makes through python-keycloak's ``KeycloakAdmin``;
runs against the stand-in and, when ``KEYCLOAK_URL`` is set, against a real Keycloak."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from keycloak.exceptions import KeycloakError, KeycloakGetError, KeycloakPostError, KeycloakPutError
from phoi_local.keycloak.testing import KeycloakTarget, TestUser, error_body, new_password

UserFactory = Callable[..., TestUser]
ROLES = {"qlcl_admin", "qlcl_officer", "unit_account", "auditor"}


@pytest.fixture
def fresh_username(admin: Any) -> Iterator[str]:
    """A username for a test that creates the user itself; deleted afterwards."""
    name = f"t-{secrets.token_hex(5)}"
    yield name
    user_id = admin.get_user_id(name)
    if user_id:
        admin.delete_user(user_id)


def _names(roles: list[dict[str, Any]]) -> set[str]:
    return {r["name"] for r in roles}


def test_realm_roles_exist(admin: Any) -> None:
    assert _names(admin.get_realm_roles()) >= ROLES
    role = admin.get_realm_role("unit_account")
    assert role["name"] == "unit_account"
    assert role["id"]
    with pytest.raises(KeycloakGetError) as exc_info:
        admin.get_realm_role("no-such-role")
    assert exc_info.value.response_code == 404


def test_create_unit_account_with_temporary_password(target: KeycloakTarget, admin: Any, fresh_username: str) -> None:
    password = new_password()
    user_id = admin.create_user(
        {
            "username": fresh_username.upper(),  # Keycloak lower-cases usernames
            "enabled": True,
            "email": f"{fresh_username}@phoi.example",
            "firstName": "Hà",
            "lastName": "Nguyễn Thị",
            "attributes": {"unit_code": ["SGD-HN"]},
            "requiredActions": ["UPDATE_PASSWORD"],
            "credentials": [{"type": "password", "value": password, "temporary": True}],
        }
    )
    assert admin.get_user_id(fresh_username) == user_id
    user = admin.get_user(user_id)
    assert user["username"] == fresh_username
    assert user["enabled"] is True
    assert user["firstName"] == "Hà"
    assert user["lastName"] == "Nguyễn Thị"
    assert user["email"] == f"{fresh_username}@phoi.example"
    assert user["attributes"]["unit_code"] == ["SGD-HN"]
    assert user["requiredActions"] == ["UPDATE_PASSWORD"]

    # the same username again is a conflict
    with pytest.raises(KeycloakPostError) as exc_info:
        admin.create_user({"username": fresh_username, "enabled": True})
    assert exc_info.value.response_code == 409

    # a temporary password does not give tokens
    with pytest.raises(KeycloakPostError) as refused:
        target.openid().token(fresh_username, password)
    assert error_body(refused.value)["error_description"] == "Account is not fully set up"


def test_list_and_search_users(admin: Any, make_user: UserFactory) -> None:
    a = make_user(role="unit_account", unit_code="SGD-HCM")
    b = make_user(role="auditor")
    exact = admin.get_users({"username": a.username, "exact": True})
    assert [u["id"] for u in exact] == [a.id]
    assert admin.get_users({"username": a.username[:-1], "exact": True}) == []
    found = admin.get_users({"search": b.username})
    assert b.id in [u["id"] for u in found]
    by_email = admin.get_users({"email": f"{a.username}@phoi.example", "exact": True})
    assert [u["id"] for u in by_email] == [a.id]
    by_attribute = admin.get_users({"q": "unit_code:SGD-HCM", "max": 1000})
    assert a.id in [u["id"] for u in by_attribute]
    assert b.id not in [u["id"] for u in by_attribute]
    page = admin.get_users({"first": 0, "max": 1})
    assert len(page) == 1
    everyone = admin.get_users()
    assert {a.id, b.id} <= {u["id"] for u in everyone}
    assert not any(u["username"].startswith("service-account-") for u in everyone)
    assert admin.get_user_id("no-such-user-anywhere") is None


def test_update_user(target: KeycloakTarget, admin: Any, make_user: UserFactory) -> None:
    user = make_user(role="unit_account", unit_code="SGD-HN")
    admin.update_user(
        user.id,
        {
            "firstName": "Lan",
            "lastName": "Đỗ Thị",
            "email": f"{user.username}.new@phoi.example",
            "attributes": {"unit_code": ["SGD-HCM"]},
        },
    )
    updated = admin.get_user(user.id)
    assert (updated["firstName"], updated["lastName"]) == ("Lan", "Đỗ Thị")
    assert updated["email"] == f"{user.username}.new@phoi.example"
    assert updated["attributes"]["unit_code"] == ["SGD-HCM"]
    oid = target.openid()
    assert oid.decode_token(oid.token(user.username, user.password)["access_token"])["unit_code"] == "SGD-HCM"

    # lock (disable) and unlock
    admin.update_user(user.id, {"enabled": False})
    assert admin.get_user(user.id)["enabled"] is False
    with pytest.raises(KeycloakPostError):
        oid.token(user.username, user.password)
    admin.update_user(user.id, {"enabled": True})
    assert oid.token(user.username, user.password)["access_token"]

    # required actions can be set and cleared
    admin.update_user(user.id, {"requiredActions": ["UPDATE_PASSWORD"]})
    assert admin.get_user(user.id)["requiredActions"] == ["UPDATE_PASSWORD"]
    admin.update_user(user.id, {"requiredActions": []})
    assert admin.get_user(user.id)["requiredActions"] == []


def test_set_user_password(target: KeycloakTarget, admin: Any, make_user: UserFactory) -> None:
    user = make_user()
    oid = target.openid()
    handed_over = new_password()
    admin.set_user_password(user.id, handed_over, temporary=True)  # account handover
    assert "UPDATE_PASSWORD" in admin.get_user(user.id)["requiredActions"]
    with pytest.raises(KeycloakPostError) as refused:
        oid.token(user.username, handed_over)
    assert error_body(refused.value)["error_description"] == "Account is not fully set up"

    permanent = new_password()
    admin.set_user_password(user.id, permanent, temporary=False)
    assert "UPDATE_PASSWORD" not in admin.get_user(user.id)["requiredActions"]
    assert oid.token(user.username, permanent)["access_token"]
    with pytest.raises(KeycloakError):
        oid.token(user.username, handed_over)


def test_password_policy_is_enforced(admin: Any, make_user: UserFactory) -> None:
    user = make_user()
    with pytest.raises(KeycloakPutError) as too_short:
        admin.set_user_password(user.id, "Short-1!", temporary=False)
    assert too_short.value.response_code == 400
    assert error_body(too_short.value)["error"] == "invalidPasswordMinLengthMessage"
    assert len(user.username) >= 12  # long enough, so only the "not the username" rule can refuse it
    with pytest.raises(KeycloakPutError) as same_as_username:
        admin.set_user_password(user.id, user.username, temporary=False)
    assert error_body(same_as_username.value)["error"] == "invalidPasswordNotUsernameMessage"
    with pytest.raises(KeycloakPostError) as on_create:
        admin.create_user(
            {
                "username": f"{user.username}-b",
                "credentials": [{"type": "password", "value": "short", "temporary": True}],
            }
        )
    assert on_create.value.response_code == 400


def test_realm_role_mappings(target: KeycloakTarget, admin: Any, make_user: UserFactory) -> None:
    user = make_user(role=None)
    assert not (ROLES & _names(admin.get_realm_roles_of_user(user.id)))
    admin.assign_realm_roles(user.id, [admin.get_realm_role("qlcl_officer"), admin.get_realm_role("auditor")])
    assert {"qlcl_officer", "auditor"} <= _names(admin.get_realm_roles_of_user(user.id))
    oid = target.openid()
    roles = oid.decode_token(oid.token(user.username, user.password)["access_token"])["realm_access"]["roles"]
    assert {"qlcl_officer", "auditor"} <= set(roles)

    admin.delete_realm_roles_of_user(user.id, [admin.get_realm_role("auditor")])
    assert ROLES & _names(admin.get_realm_roles_of_user(user.id)) == {"qlcl_officer"}

    bogus = {"id": "00000000-0000-0000-0000-000000000000", "name": "qlcl_admin"}
    with pytest.raises(KeycloakPostError) as exc_info:
        admin.assign_realm_roles(user.id, [bogus])
    assert exc_info.value.response_code == 404


def test_sessions_and_logout(target: KeycloakTarget, admin: Any, make_user: UserFactory) -> None:
    user = make_user()
    oid = target.openid()
    tokens = oid.token(user.username, user.password)
    sessions = admin.get_sessions(user.id)
    assert len(sessions) == 1
    session = sessions[0]
    assert session["userId"] == user.id
    assert session["username"] == user.username
    assert session["id"] == oid.decode_token(tokens["access_token"])["sid"]
    assert session["start"] > 0
    assert session["lastAccess"] >= session["start"]
    assert "phoi-cli" in session["clients"].values()
    assert session["ipAddress"]

    admin.user_logout(user.id)
    assert admin.get_sessions(user.id) == []
    with pytest.raises(KeycloakPostError):
        oid.refresh_token(tokens["refresh_token"])


def test_login_events(target: KeycloakTarget, admin: Any, make_user: UserFactory) -> None:
    user = make_user()
    oid = target.openid()
    with pytest.raises(KeycloakError):
        oid.token(user.username, "wrong-Password-123")
    tokens = oid.token(user.username, user.password)
    oid.logout(tokens["refresh_token"])

    yesterday = (datetime.now(tz=UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    events = admin.get_events({"user": user.id, "dateFrom": yesterday, "max": 50})
    types = [e["type"] for e in events]
    assert {"LOGIN", "LOGIN_ERROR", "LOGOUT"} <= set(types)
    assert types.index("LOGOUT") < types.index("LOGIN")  # newest first
    assert all(e["userId"] == user.id for e in events)

    login = next(e for e in events if e["type"] == "LOGIN")
    assert login["clientId"] == "phoi-cli"
    assert login["ipAddress"]
    assert login["details"]["username"] == user.username
    assert isinstance(login["time"], int)
    assert login["time"] > 1_600_000_000_000
    error = next(e for e in events if e["type"] == "LOGIN_ERROR")
    assert error["error"] == "invalid_user_credentials"

    only_errors = admin.get_events({"user": user.id, "type": ["LOGIN_ERROR"]})
    assert {e["type"] for e in only_errors} == {"LOGIN_ERROR"}
    by_client = admin.get_events({"user": user.id, "client": "phoi-cli", "type": "LOGIN"})
    assert [e["type"] for e in by_client] == ["LOGIN"]
    assert len(admin.get_events({"user": user.id, "first": 0, "max": 1})) == 1
    assert admin.get_events({"user": user.id, "client": "portal"}) == []


async def test_async_variants_used_by_an_async_identity_service(target: KeycloakTarget) -> None:
    """python-keycloak's ``a_*`` methods go through httpx instead of requests."""
    admin = target.admin()
    user_id = await admin.a_create_user(
        {
            "username": f"t-{secrets.token_hex(5)}",
            "enabled": True,
            "attributes": {"unit_code": ["SGD-HN"]},
            "credentials": [{"type": "password", "value": new_password(), "temporary": True}],
        }
    )
    try:
        user = await admin.a_get_user(user_id)
        assert await admin.a_get_user_id(user["username"]) == user_id
        await admin.a_update_user(user_id, {"enabled": False})
        assert (await admin.a_get_user(user_id))["enabled"] is False
        password = new_password()
        await admin.a_set_user_password(user_id, password, temporary=False)
        await admin.a_update_user(user_id, {"enabled": True})
        role = await admin.a_get_realm_role("unit_account")
        await admin.a_assign_realm_roles(user_id, [role])
        assert "unit_account" in _names(await admin.a_get_realm_roles_of_user(user_id))
        oid = target.openid()
        tokens = await oid.a_token(user["username"], password)
        assert (await oid.a_decode_token(tokens["access_token"]))["unit_code"] == "SGD-HN"
        assert len(await admin.a_get_sessions(user_id)) == 1
        await admin.a_user_logout(user_id)
        assert await admin.a_get_sessions(user_id) == []
        await admin.a_delete_realm_roles_of_user(user_id, [role])
        assert "unit_account" not in _names(await admin.a_get_realm_roles_of_user(user_id))
        events = await admin.a_get_events({"user": user_id, "type": "LOGIN"})
        assert [e["type"] for e in events] == ["LOGIN"]
    finally:
        await admin.a_delete_user(user_id)
