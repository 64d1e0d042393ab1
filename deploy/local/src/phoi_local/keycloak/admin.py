"""The subset of Keycloak's admin REST API (``/admin/realms/{realm}/...``) that the identity
service calls through python-keycloak's ``KeycloakAdmin``.

Authorisation follows Keycloak: a bearer access token of this realm whose holder has the needed
``realm-management`` client roles (``query-users``, ``view-users``, ``manage-users``,
``view-events``, ``view-realm``); 401 without a valid token, 403 without the role.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .core import Standin
from .realm import REALM_MANAGEMENT, Role
from .state import User
from .web import base_url, bearer_token, core_of, issuer, realm_or_404

QUERY_USERS = ("query-users", "view-users", "manage-users")
VIEW_USERS = ("view-users", "manage-users")
MANAGE_USERS = ("manage-users",)
VIEW_EVENTS = ("view-events", "manage-events")
VIEW_REALM = ("view-realm", "manage-realm")
ANY_ADMIN = ("*",)

Handler = Callable[[Request, Standin], Awaitable[Response]]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def _not_found(what: str = "User not found") -> JSONResponse:
    return _json({"error": what}, status=404)


def _bad_request(data: dict[str, Any]) -> JSONResponse:
    return _json(data, status=400)


def guarded(*needed: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler: realm check, bearer token check (401), realm-management role check (403)."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if (missing := realm_or_404(request)) is not None:
                return missing
            core = core_of(request)
            token = bearer_token(request)
            claims = core.check_access_token(token, issuer(request)) if token else None
            if claims is None:
                return _json({"error": "HTTP 401 Unauthorized"}, status=401)
            roles = set(((claims.get("resource_access") or {}).get(REALM_MANAGEMENT) or {}).get("roles") or [])
            allowed = bool(roles) if needed == ANY_ADMIN else bool(roles.intersection(needed))
            if not allowed:
                return _json({"error": "HTTP 403 Forbidden"}, status=403)
            response = await handler(request, core)
            if request.method != "GET":
                core.save()
            return response

        return endpoint

    return wrap


# -- representations -----------------------------------------------------------------------------
def user_representation(user: User) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
    }
    if user.first_name is not None:
        rep["firstName"] = user.first_name
    if user.last_name is not None:
        rep["lastName"] = user.last_name
    if user.email is not None:
        rep["email"] = user.email
    rep.update(
        {
            "emailVerified": user.email_verified,
            "createdTimestamp": user.created,
            "enabled": user.enabled,
            "totp": False,
            "disableableCredentialTypes": [],
            "requiredActions": list(user.required_actions),
            "notBefore": user.not_before,
            "access": {
                "manageGroupMembership": True,
                "view": True,
                "mapRoles": True,
                "impersonate": False,
                "manage": True,
            },
        }
    )
    if user.attributes:
        rep["attributes"] = {k: list(v) for k, v in user.attributes.items()}
    if user.service_account_client:
        rep["serviceAccountClientId"] = user.service_account_client
    return rep


def _bool_param(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() == "true"


def _int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _term_matches(term: str, values: Iterable[str]) -> bool:
    term = term.lower()
    if len(term) >= 2 and term.startswith('"') and term.endswith('"'):
        exact = term[1:-1]
        return any(v == exact for v in values)
    if "*" in term:
        pattern = re.compile("^" + ".*".join(re.escape(p) for p in term.split("*")) + "$")
        return any(pattern.match(v) for v in values)
    return any(v.startswith(term) for v in values)


def _field_matches(value: str | None, wanted: str, exact: bool) -> bool:
    if value is None:
        return False
    if exact:
        return value.lower() == wanted.lower()
    return wanted.lower() in value.lower()


def _filter_users(core: Standin, request: Request) -> list[User]:
    q = request.query_params
    exact = bool(_bool_param(q.get("exact")))
    users = [u for u in core.state.users.values() if not u.service_account_client]
    search = q.get("search")
    if search and search.strip() not in ("", "*"):
        terms = search.split()
        users = [
            u
            for u in users
            if all(
                _term_matches(t, [v.lower() for v in (u.username, u.email, u.first_name, u.last_name) if v])
                for t in terms
            )
        ]
    for param, attr in (
        ("username", "username"),
        ("email", "email"),
        ("firstName", "first_name"),
        ("lastName", "last_name"),
    ):
        wanted = q.get(param)
        if wanted:
            users = [u for u in users if _field_matches(getattr(u, attr), wanted, exact)]
    enabled = _bool_param(q.get("enabled"))
    if enabled is not None:
        users = [u for u in users if u.enabled == enabled]
    email_verified = _bool_param(q.get("emailVerified"))
    if email_verified is not None:
        users = [u for u in users if u.email_verified == email_verified]
    attr_query = q.get("q")
    if attr_query:
        for pair in attr_query.split():
            key, _, value = pair.partition(":")
            users = [u for u in users if value in (u.attributes.get(key) or [])]
    users.sort(key=lambda u: u.username)
    return users


def _clean_attributes(core: Standin, raw: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return out
    managed = core.realm.managed_attributes
    for key, value in raw.items():
        if managed is not None and key not in managed:
            continue  # Keycloak drops attributes its user profile does not declare
        values = value if isinstance(value, list) else [value]
        cleaned = [str(v) for v in values if v is not None and str(v) != ""]
        if cleaned:
            out[str(key)] = cleaned
    return out


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return ...


def _email_taken(core: Standin, email: str | None, except_id: str | None) -> bool:
    if not email or core.realm.duplicate_emails_allowed:
        return False
    other = core.user_by_email(email)
    return other is not None and other.id != except_id


async def _apply_password(core: Standin, user: User, cred: Any) -> JSONResponse | None:
    if not isinstance(cred, dict) or cred.get("type", "password") != "password":
        return _bad_request({"error": "unsupported credential type"})
    value = cred.get("value")
    if not isinstance(value, str) or value == "":
        return _bad_request({"error": "Missing password value"})
    violation = core.check_password_policy(user, value)
    if violation is not None:
        return _bad_request({"error": violation.code, "error_description": violation.message_en})
    await core.set_password(user, value, bool(cred.get("temporary", False)))
    return None


# -- users ---------------------------------------------------------------------------------------
@guarded(*QUERY_USERS)
async def list_users(request: Request, core: Standin) -> Response:
    users = _filter_users(core, request)
    first = max(_int_param(request.query_params.get("first"), 0), 0)
    max_results = _int_param(request.query_params.get("max"), 100)
    page = users[first : first + max_results] if max_results >= 0 else users[first:]
    return _json([user_representation(u) for u in page])


@guarded(*QUERY_USERS)
async def count_users(request: Request, core: Standin) -> Response:
    return _json(len(_filter_users(core, request)))


@guarded(*MANAGE_USERS)
async def create_user(request: Request, core: Standin) -> Response:
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad_request({"errorMessage": "Invalid JSON"})
    username = str(body.get("username") or "").strip().lower()
    if not username:
        return _bad_request(
            {"field": "username", "errorMessage": "error-user-attribute-required", "params": ["username"]}
        )
    if core.user_by_username(username) is not None:
        return _json({"errorMessage": "User exists with same username"}, status=409)
    email = body.get("email") or None
    if email is not None and "@" not in str(email):
        return _bad_request({"field": "email", "errorMessage": "invalidEmailMessage", "params": ["email", email]})
    if _email_taken(core, email, None):
        return _json({"errorMessage": "User exists with same email"}, status=409)
    user = User(
        id=str(uuid.uuid4()),
        username=username,
        created=core.now_ms(),
        enabled=bool(body.get("enabled", False)),
        email=str(email).lower() if email else None,
        email_verified=bool(body.get("emailVerified", False)),
        first_name=body.get("firstName"),
        last_name=body.get("lastName"),
        attributes=_clean_attributes(core, body.get("attributes")),
        required_actions=[str(a) for a in body.get("requiredActions") or []],
        realm_roles=[core.realm.default_role],
    )
    for cred in body.get("credentials") or []:
        error = await _apply_password(core, user, cred)
        if error is not None:
            return error
    core.state.users[user.id] = user
    location = f"{base_url(request)}/admin/realms/{core.realm.name}/users/{user.id}"
    return Response(status_code=201, headers={"Location": location})


def _user_or_404(request: Request, core: Standin) -> User | None:
    user = core.user(request.path_params["user_id"])
    return user


@guarded(*VIEW_USERS)
async def get_user(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    return _json(user_representation(user))


@guarded(*MANAGE_USERS)
async def update_user(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad_request({"errorMessage": "Invalid JSON"})
    if (refused := _rename(core, user, body)) is not None:
        return refused
    if (refused := _change_email(core, user, body)) is not None:
        return refused
    _update_profile(core, user, body)
    for cred in body.get("credentials") or []:
        error = await _apply_password(core, user, cred)
        if error is not None:
            return error
    return Response(status_code=204)


def _rename(core: Standin, user: User, body: dict[str, Any]) -> Response | None:
    """A new username, if the realm lets users be renamed and nobody else has it; else the refusal."""
    wanted = body.get("username")
    if not wanted or str(wanted).lower() == user.username:
        return None
    if not core.realm.edit_username_allowed:
        return _bad_request(
            {"field": "username", "errorMessage": "error-user-attribute-read-only", "params": ["username"]}
        )
    if core.user_by_username(str(wanted)) is not None:
        return _json({"errorMessage": "User exists with same username"}, status=409)
    user.username = str(wanted).lower()
    return None


def _change_email(core: Standin, user: User, body: dict[str, Any]) -> Response | None:
    if "email" not in body:
        return None
    email = body["email"] or None
    if email is not None and "@" not in str(email):
        return _bad_request({"field": "email", "errorMessage": "invalidEmailMessage", "params": ["email", email]})
    if _email_taken(core, email, user.id):
        return _json({"errorMessage": "User exists with same email"}, status=409)
    user.email = str(email).lower() if email else None
    return None


def _update_profile(core: Standin, user: User, body: dict[str, Any]) -> None:
    """The fields that cannot be refused: names always, the others when not null."""
    if "firstName" in body:
        user.first_name = body["firstName"]
    if "lastName" in body:
        user.last_name = body["lastName"]
    if body.get("emailVerified") is not None:
        user.email_verified = bool(body["emailVerified"])
    if body.get("enabled") is not None:
        user.enabled = bool(body["enabled"])
    if body.get("attributes") is not None:
        user.attributes = _clean_attributes(core, body["attributes"])
    if body.get("requiredActions") is not None:
        user.required_actions = [str(a) for a in body["requiredActions"]]


@guarded(*MANAGE_USERS)
async def delete_user(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None or user.service_account_client:
        return _not_found()
    core.logout_user(user)
    core.clear_login_failures(user.id)
    del core.state.users[user.id]
    return Response(status_code=204)


@guarded(*MANAGE_USERS)
async def reset_password(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    body = await _body(request)
    error = await _apply_password(core, user, body)
    return error if error is not None else Response(status_code=204)


@guarded(*VIEW_USERS)
async def credentials(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    return _json([user.credential.representation()] if user.credential else [])


@guarded(*VIEW_USERS)
async def sessions(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    return _json(
        [
            {
                "id": s.id,
                "username": s.username,
                "userId": s.user_id,
                "ipAddress": s.ip_address,
                "start": int(s.started * 1000),
                "lastAccess": int(s.last_access * 1000),
                "rememberMe": False,
                "clients": dict(s.clients),
                "transientUser": False,
            }
            for s in sorted(core.user_sessions(user.id), key=lambda s: s.started)
        ]
    )


@guarded(*MANAGE_USERS)
async def logout_user(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    core.logout_user(user)
    return Response(status_code=204)


# -- roles ---------------------------------------------------------------------------------------
def _realm_role_reps(core: Standin, names: Iterable[str]) -> list[dict[str, Any]]:
    roles = [core.realm.realm_roles[n] for n in sorted(set(names)) if n in core.realm.realm_roles]
    return [r.representation() for r in roles]


@guarded(*ANY_ADMIN)
async def list_roles(request: Request, core: Standin) -> Response:
    roles = sorted(core.realm.realm_roles.values(), key=lambda r: r.name)
    search = (request.query_params.get("search") or "").lower()
    if search:
        roles = [r for r in roles if search in r.name.lower()]
    first = max(_int_param(request.query_params.get("first"), 0), 0)
    max_results = _int_param(request.query_params.get("max"), 100)
    page = roles[first : first + max_results] if max_results >= 0 else roles[first:]
    return _json([r.representation() for r in page])


@guarded(*VIEW_REALM)
async def get_role(request: Request, core: Standin) -> Response:
    role = core.realm.realm_roles.get(request.path_params["role_name"])
    if role is None:
        return _not_found("Could not find role")
    return _json(role.representation())


@guarded(*VIEW_REALM)
async def role_users(request: Request, core: Standin) -> Response:
    name = request.path_params["role_name"]
    if name not in core.realm.realm_roles:
        return _not_found("Could not find role")
    users = sorted(
        (u for u in core.state.users.values() if name in u.realm_roles and not u.service_account_client),
        key=lambda u: u.username,
    )
    first = max(_int_param(request.query_params.get("first"), 0), 0)
    max_results = _int_param(request.query_params.get("max"), 100)
    return _json([user_representation(u) for u in users[first : first + max_results]])


def _roles_from_body(core: Standin, body: Any) -> list[Role] | None:
    if not isinstance(body, list):
        return None
    roles: list[Role] = []
    for item in body:
        if not isinstance(item, dict):
            return None
        role = core.realm.realm_roles.get(str(item.get("name")))
        if role is None or (item.get("id") and item["id"] != role.id):
            return None
        roles.append(role)
    return roles


async def _user_realm_roles(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    return _json(_realm_role_reps(core, user.realm_roles))


_get_user_realm_roles = guarded(*VIEW_USERS)(_user_realm_roles)


async def _change_user_realm_roles(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    roles = _roles_from_body(core, await _body(request))
    if roles is None:
        return _not_found("Role not found")
    names = [r.name for r in roles]
    if request.method == "POST":
        user.realm_roles.extend(n for n in names if n not in user.realm_roles)
    else:
        user.realm_roles = [n for n in user.realm_roles if n not in names]
    return Response(status_code=204)


_manage_user_realm_roles = guarded(*MANAGE_USERS)(_change_user_realm_roles)


async def user_realm_roles(request: Request) -> Response:
    if request.method == "GET":
        return await _get_user_realm_roles(request)
    return await _manage_user_realm_roles(request)


@guarded(*VIEW_USERS)
async def user_realm_roles_composite(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    effective, _clients = core.realm.effective_roles(user.realm_roles, user.client_roles)
    return _json(_realm_role_reps(core, effective))


@guarded(*VIEW_USERS)
async def user_realm_roles_available(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    return _json(_realm_role_reps(core, [n for n in core.realm.realm_roles if n not in user.realm_roles]))


@guarded(*VIEW_USERS)
async def user_role_mappings(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    rep: dict[str, Any] = {}
    if user.realm_roles:
        rep["realmMappings"] = _realm_role_reps(core, user.realm_roles)
    client_mappings: dict[str, Any] = {}
    for cid, names in user.client_roles.items():
        defined = core.realm.client_roles.get(cid, {})
        client = core.realm.clients.get(cid)
        client_mappings[cid] = {
            "id": client.id if client else next(iter(defined.values())).container_id if defined else cid,
            "client": cid,
            "mappings": [defined[n].representation() for n in sorted(names) if n in defined],
        }
    if client_mappings:
        rep["clientMappings"] = client_mappings
    return _json(rep)


# -- events and brute force ----------------------------------------------------------------------
def _time_param(value: str | None, end_of_day: bool) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    ms = int(day.timestamp() * 1000)
    return ms + 86_400_000 - 1 if end_of_day else ms


@guarded(*VIEW_EVENTS)
async def events(request: Request, core: Standin) -> Response:
    q = request.query_params
    found = core.events(
        types=q.getlist("type"),
        client=q.get("client") or None,
        user=q.get("user") or None,
        ip=q.get("ipAddress") or None,
        date_from=_time_param(q.get("dateFrom"), end_of_day=False),
        date_to=_time_param(q.get("dateTo"), end_of_day=True),
        first=max(_int_param(q.get("first"), 0), 0),
        max_results=_int_param(q.get("max"), 100),
        ascending=(q.get("direction") or "").lower() == "asc",
    )
    return _json(found)


@guarded(*VIEW_USERS)
async def brute_force_status(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    failure = core.state.login_failures.get(user.id)
    return _json(
        {
            "numFailures": failure.num_failures if failure else 0,
            "disabled": core.is_locked(user),
            "lastIPFailure": failure.last_ip if failure else "n/a",
            "lastFailure": failure.last_failure if failure else 0,
        }
    )


@guarded(*MANAGE_USERS)
async def brute_force_clear(request: Request, core: Standin) -> Response:
    user = _user_or_404(request, core)
    if user is None:
        return _not_found()
    core.clear_login_failures(user.id)
    return Response(status_code=204)


async def brute_force_user(request: Request) -> Response:
    if request.method == "DELETE":
        return await brute_force_clear(request)
    return await brute_force_status(request)


async def user_item(request: Request) -> Response:
    if request.method == "GET":
        return await get_user(request)
    if request.method == "PUT":
        return await update_user(request)
    return await delete_user(request)


async def users_collection(request: Request) -> Response:
    if request.method == "POST":
        return await create_user(request)
    return await list_users(request)
