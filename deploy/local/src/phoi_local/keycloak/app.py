"""The ASGI application of the Keycloak stand-in (development and tests only)."""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import admin, login, oidc
from .core import Standin
from .messages import LoginTheme
from .settings import DEFAULT_LOGIN_THEME, StandinSettings

log = logging.getLogger("phoi_local.keycloak")

BANNER = (
    "*** Keycloak STAND-IN for development and tests - NOT for production. "
    "Production uses real Keycloak with deploy/keycloak/realm-phoi.json (see README). ***"
)

HOOK_HEADER = "X-Standin-Hook-Secret"


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "UP", "checks": []})


async def _rotate_keys(request: Request) -> Response:
    """Stand-in-only hook (not a Keycloak API): rotate the signing key.

    Authorised by the secret in ``<state_dir>/hook.secret`` sent in the ``X-Standin-Hook-Secret``
    header; optional query parameter ``grace_seconds``."""
    core: Standin = request.app.state.standin
    given = request.headers.get(HOOK_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8"), core.hook_secret.encode("utf-8")):
        return JSONResponse({"error": "HTTP 403 Forbidden"}, status_code=403)
    grace = request.query_params.get("grace_seconds")
    kid = core.rotate_keys(float(grace) if grace else None)
    return JSONResponse({"kid": kid, "keys": [k["kid"] for k in core.keys.jwks()["keys"]]})


def load_login_theme(settings: StandinSettings, core: Standin) -> LoginTheme:
    """The realm's ``loginTheme`` from ``settings.themes_dir``, its ``${env.…}`` properties resolved
    from this process's environment as Keycloak does; ``settings.portal_url`` wins if given."""
    theme = LoginTheme.load(settings.themes_dir, core.realm.login_theme or DEFAULT_LOGIN_THEME, os.environ)
    if settings.portal_url:
        theme = replace(theme, properties={**theme.properties, "phoiPortalUrl": settings.portal_url})
    return theme


def create_app(settings: StandinSettings | None = None, clock: Callable[[], float] | None = None) -> Starlette:
    """Build the stand-in. Loads the realm file and seed, opens (or creates) the state directory.

    ``clock`` (seconds since the epoch) lets tests move time forward without sleeping.
    """
    settings = settings or StandinSettings.from_env()
    core = Standin(settings, clock or time.time)
    theme = load_login_theme(settings, core)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.warning(BANNER)
        log.info(
            "realm %r from %s; state in %s; clients: %s",
            core.realm.name,
            settings.realm_file,
            settings.state_dir,
            ", ".join(sorted(core.realm.clients)),
        )
        log.info("login theme %r from %s; portal link %s", theme.name, theme.directory, theme.portal_url)
        yield
        core.save()

    r = "/realms/{realm}"
    o = r + "/protocol/openid-connect"
    a = "/admin/realms/{realm}"
    routes = [
        Route(r + "/.well-known/openid-configuration", oidc.discovery, methods=["GET"]),
        Route(r, oidc.realm_info, methods=["GET"]),
        Route(o + "/certs", oidc.certs, methods=["GET"]),
        Route(o + "/token", oidc.token, methods=["POST"]),
        Route(o + "/token/introspect", oidc.introspect, methods=["POST"]),
        Route(o + "/revoke", oidc.revoke, methods=["POST"]),
        Route(o + "/userinfo", oidc.userinfo, methods=["GET", "POST"]),
        Route(o + "/auth", login.auth, methods=["GET"]),
        Route(o + "/logout", login.logout, methods=["GET", "POST"]),
        Route(o + "/logout/logout-confirm", login.logout_confirm, methods=["POST"]),
        Route(r + "/login-actions/authenticate", login.authenticate, methods=["GET", "POST"]),
        Route(r + "/login-actions/required-action", login.required_action, methods=["GET", "POST"]),
        Route(a + "/users", admin.users_collection, methods=["GET", "POST"]),
        Route(a + "/users/count", admin.count_users, methods=["GET"]),
        Route(a + "/users/{user_id}", admin.user_item, methods=["GET", "PUT", "DELETE"]),
        Route(a + "/users/{user_id}/reset-password", admin.reset_password, methods=["PUT"]),
        Route(a + "/users/{user_id}/credentials", admin.credentials, methods=["GET"]),
        Route(a + "/users/{user_id}/sessions", admin.sessions, methods=["GET"]),
        Route(a + "/users/{user_id}/logout", admin.logout_user, methods=["POST"]),
        Route(a + "/users/{user_id}/role-mappings", admin.user_role_mappings, methods=["GET"]),
        Route(
            a + "/users/{user_id}/role-mappings/realm",
            admin.user_realm_roles,
            methods=["GET", "POST", "DELETE"],
        ),
        Route(
            a + "/users/{user_id}/role-mappings/realm/composite",
            admin.user_realm_roles_composite,
            methods=["GET"],
        ),
        Route(
            a + "/users/{user_id}/role-mappings/realm/available",
            admin.user_realm_roles_available,
            methods=["GET"],
        ),
        Route(a + "/roles", admin.list_roles, methods=["GET"]),
        Route(a + "/roles/{role_name}", admin.get_role, methods=["GET"]),
        Route(a + "/roles/{role_name}/users", admin.role_users, methods=["GET"]),
        Route(a + "/events", admin.events, methods=["GET"]),
        Route(
            a + "/attack-detection/brute-force/users/{user_id}",
            admin.brute_force_user,
            methods=["GET", "DELETE"],
        ),
        Route("/resources/{version}/login/{theme}/{path:path}", login.resource, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
        Route("/health/ready", _health, methods=["GET"]),
        Route("/health/live", _health, methods=["GET"]),
        Route("/standin/keys/rotate", _rotate_keys, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.standin = core
    app.state.theme = theme
    return app
