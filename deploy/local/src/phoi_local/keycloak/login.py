"""Browser-facing endpoints: ``auth`` (authorization code + PKCE), the login page, the
``UPDATE_PASSWORD`` required action, and front-channel logout."""

from __future__ import annotations

import re
import secrets
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from .core import UPDATE_PASSWORD, AuthCode, AuthSession, LoginResult, Standin
from .messages import STANDIN_TEXTS, Key
from .oidc import backchannel_logout
from .realm import Client, redirect_uri_allowed
from .state import User, UserSession
from .web import base_url, client_ip, core_of, form_str, issuer, realm_or_404, theme_of

AUTH_SESSION_COOKIE = "AUTH_SESSION_ID"
IDENTITY_COOKIE = "KEYCLOAK_IDENTITY"
SESSION_COOKIE = "KEYCLOAK_SESSION"
LOCALE_COOKIE = "KEYCLOAK_LOCALE"

_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


# -- rendering -----------------------------------------------------------------------------------
def pick_locale(request: Request, core: Standin, preferred: str | None = None) -> str:
    theme = theme_of(request)
    supported = [loc for loc in core.realm.supported_locales if loc in theme.locales] or ["en"]
    query = request.query_params
    candidates = [query.get("kc_locale"), *(query.get("ui_locales") or "").split(), preferred]
    candidates.append(request.cookies.get(LOCALE_COOKIE))
    for candidate in candidates:
        if candidate in supported:
            return candidate
    for part in request.headers.get("accept-language", "").split(","):
        lang = part.split(";")[0].strip().lower().split("-")[0]
        if lang in supported:
            return lang
    return core.realm.default_locale if core.realm.default_locale in supported else supported[0]


def _with_params(url: str, params: dict[str, str | None], fragment: bool = False) -> str:
    parts = urlsplit(url)
    clean = {k: v for k, v in params.items() if v is not None}
    if fragment:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, urlencode(clean)))
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k not in clean] + list(clean.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def resources_path(request: Request) -> str:
    """Keycloak's ``url.resourcesPath``: ``/resources/<version>/login/<theme>``."""
    theme = theme_of(request)
    return f"{base_url(request)}/resources/{theme.resource_version}/login/{theme.name}"


def render(
    request: Request,
    core: Standin,
    template: str,
    locale: str,
    *,
    title_key: str,
    status: int = 200,
    language_url: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page of the realm's login theme: its texts (``msg``), stylesheet and portal link."""
    theme = theme_of(request)
    languages = []
    if language_url is not None:
        for code in core.realm.supported_locales:
            if code in theme.locales:
                languages.append(
                    {
                        "code": code,
                        "name": theme.msg(locale, f"locale_{code}"),
                        "href": _with_params(language_url, {"kc_locale": code}),
                        "current": code == locale,
                    }
                )
    html = _templates.get_template(template).render(
        locale=locale,
        msg=partial(theme.msg, locale),
        standin=STANDIN_TEXTS.get(locale, STANDIN_TEXTS["en"]),
        title=theme.msg(locale, title_key),
        languages=languages,
        resources_path=resources_path(request),
        styles=theme.styles,
        portal_url=theme.portal_url,
        **context,
    )
    response = HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store, must-revalidate, max-age=0",
            "Content-Security-Policy": "frame-ancestors 'self'; object-src 'none'",
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )
    if request.query_params.get("kc_locale") == locale:
        _set_cookie(request, response, LOCALE_COOKIE, locale, max_age=365 * 86400)
    return response


def error_page(request: Request, core: Standin, message_key: str, *args: str, status: int = 400) -> HTMLResponse:
    """Keycloak's error page with the theme's ``message_key`` (parameters ``{0}`` … from ``args``)."""
    locale = pick_locale(request, core)
    message = theme_of(request).msg(locale, message_key, *args)
    return _error_text(request, core, locale, message, status)


def _error_text(request: Request, core: Standin, locale: str, message: str, status: int) -> HTMLResponse:
    return render(request, core, "error.html", locale, title_key=Key.ERROR_TITLE, status=status, message=message)


async def resource(request: Request) -> Response:
    """A static file of the login theme, where Keycloak serves it (``url.resourcesPath``)."""
    theme = theme_of(request)
    path = theme.resource(request.path_params["path"]) if request.path_params["theme"] == theme.name else None
    if path is None:
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "max-age=2592000", "X-Content-Type-Options": "nosniff"})


def _cookie_path(core: Standin) -> str:
    return f"/realms/{core.realm.name}/"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    core = core_of(request)
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_cookie_path(core),
        secure=base_url(request).startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def _clear_sso_cookies(request: Request, response: Response) -> None:
    core = core_of(request)
    for name in (IDENTITY_COOKIE, SESSION_COOKIE):
        response.delete_cookie(name, path=_cookie_path(core))


# -- SSO cookie ----------------------------------------------------------------------------------
def sso_session(request: Request, core: Standin) -> tuple[UserSession, User] | None:
    cookie = request.cookies.get(IDENTITY_COOKIE)
    if not cookie:
        return None
    claims = core.keys.verify_hs(cookie)
    if claims is None or claims.get("typ") != "Serialized-ID" or claims.get("iss") != issuer(request):
        return None
    session = core.active_session(str(claims.get("sid")))
    user = core.user(str(claims.get("sub")))
    if session is None or user is None or session.user_id != user.id or not user.enabled:
        return None
    return session, user


def _set_sso_cookies(request: Request, response: Response, core: Standin, session: UserSession) -> None:
    max_age = int(session.started + core.realm.sso_max - core.now())
    identity = core.keys.sign_hs(
        {
            "typ": "Serialized-ID",
            "iss": issuer(request),
            "sub": session.user_id,
            "sid": session.id,
            "exp": int(session.started + core.realm.sso_max),
        }
    )
    _set_cookie(request, response, IDENTITY_COOKIE, identity, max_age=max_age)
    _set_cookie(request, response, SESSION_COOKIE, f"{core.realm.name}/{session.user_id}/{session.id}", max_age)


# -- authorization endpoint ----------------------------------------------------------------------
def _error_redirect(redirect_uri: str, mode: str, error: str, description: str, state: str | None) -> Response:
    params = {"error": error, "error_description": description, "state": state}
    return RedirectResponse(_with_params(redirect_uri, params, fragment=mode == "fragment"), status_code=302)


def _flow_error(q: QueryParams, client: Client, redirect_uri: str, mode: str, state: str | None) -> Response | None:
    """The errors Keycloak sends back to the client's redirect URI: response mode, flow, type, PKCE."""
    if mode not in ("query", "fragment"):
        return _error_redirect(redirect_uri, "query", "invalid_request", "Invalid parameter: response_mode", state)
    if not client.standard_flow:
        return _error_redirect(
            redirect_uri,
            mode,
            "unauthorized_client",
            "Client is not allowed to initiate browser login with given response_type. "
            "Standard flow is disabled for the client.",
            state,
        )
    if q.get("response_type") != "code":
        return _error_redirect(
            redirect_uri, mode, "unsupported_response_type", "Client is not allowed to use this response_type", state
        )
    problem = _pkce_problem(client, q.get("code_challenge"), q.get("code_challenge_method"))
    if problem is not None:
        return _error_redirect(redirect_uri, mode, "invalid_request", problem, state)
    return None


def _pkce_problem(client: Client, challenge: str | None, method: str | None) -> str | None:
    if client.pkce_method and not challenge:
        return "Missing parameter: code_challenge"
    if not challenge:
        return None
    method = method or "plain"
    if (client.pkce_method and method != client.pkce_method) or method not in ("plain", "S256"):
        return "Invalid parameter: code_challenge_method"
    if not _CHALLENGE.match(challenge):
        return "Invalid parameter: code_challenge"
    return None


async def auth(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    q = request.query_params
    client = core.realm.clients.get(q.get("client_id", ""))
    if client is None or not client.enabled:
        return error_page(request, core, Key.CLIENT_NOT_FOUND)
    redirect_uri = q.get("redirect_uri") or ""
    if not redirect_uri_allowed(redirect_uri, client.redirect_uris):
        return error_page(request, core, Key.INVALID_PARAMETER, "redirect_uri")
    mode = q.get("response_mode") or "query"
    state = q.get("state")
    if (refused := _flow_error(q, client, redirect_uri, mode, state)) is not None:
        return refused
    challenge = q.get("code_challenge")
    method = (q.get("code_challenge_method") or "plain") if challenge else None

    prompt = (q.get("prompt") or "").split()
    existing = sso_session(request, core)
    pending = AuthSession(
        tab_id=secrets.token_urlsafe(16),
        browser_id=request.cookies.get(AUTH_SESSION_COOKIE) or secrets.token_urlsafe(24),
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_mode=mode,
        state=state,
        nonce=q.get("nonce"),
        scope=q.get("scope"),
        code_challenge=challenge,
        code_challenge_method=method,
        created=core.now(),
        login_hint=q.get("login_hint"),
    )
    if (action := q.get("kc_action")) is not None:
        if action != UPDATE_PASSWORD:
            return error_page(request, core, Key.INVALID_PARAMETER, "kc_action")
        pending.extra["kc_action"] = action  # application-initiated action: asked for after sign-in
    if existing is not None and "login" not in prompt:
        session, user = existing
        if pending.extra.get("kc_action"):
            return _to_action(request, core, pending, user, UPDATE_PASSWORD)
        if not user.required_actions:
            response = _complete(request, core, pending, client, user, session)
            core.save()
            return response
    if "none" in prompt:
        return _error_redirect(redirect_uri, mode, "login_required", "Login required", state)
    pending.extra["locale"] = pick_locale(request, core)
    core.auth_sessions[pending.tab_id] = pending
    response = _login_page(request, core, pending, username=pending.login_hint or "")
    _set_cookie(request, response, AUTH_SESSION_COOKIE, pending.browser_id)
    return response


def _to_action(request: Request, core: Standin, pending: AuthSession, user: User, action: str) -> Response:
    """A signed-in user asked for an action (``kc_action``): its page, in a login flow of its own."""
    pending.user_id = user.id
    pending.extra["locale"] = pick_locale(request, core)
    core.auth_sessions[pending.tab_id] = pending
    url = _action_url(request, core, "required-action", pending, execution=action)
    response = RedirectResponse(url, status_code=303)
    _set_cookie(request, response, AUTH_SESSION_COOKIE, pending.browser_id)
    return response


def _action_url(request: Request, core: Standin, path: str, pending: AuthSession, **extra: str) -> str:
    params = {"client_id": pending.client_id, "tab_id": pending.tab_id, **extra}
    return f"{base_url(request)}/realms/{core.realm.name}/login-actions/{path}?{urlencode(params)}"


def _login_page(
    request: Request, core: Standin, pending: AuthSession, *, username: str = "", error_key: str | None = None
) -> HTMLResponse:
    locale = pick_locale(request, core, pending.extra.get("locale"))
    pending.extra["locale"] = locale
    action = _action_url(request, core, "authenticate", pending)
    return render(
        request,
        core,
        "login.html",
        locale,
        title_key=Key.LOGIN_TITLE,
        language_url=action,
        action=action,
        username=username,
        username_label=Key.USERNAME_OR_EMAIL if core.realm.login_with_email else Key.USERNAME,
        error=theme_of(request).msg(locale, error_key) if error_key else None,
    )


def _pending(request: Request, core: Standin) -> AuthSession | None:
    pending = core.auth_sessions.get(request.query_params.get("tab_id", ""))
    if pending is None or pending.created + core.realm.login_lifespan < core.now():
        return None
    if request.cookies.get(AUTH_SESSION_COOKIE) != pending.browser_id:
        return None
    return pending


async def authenticate(request: Request) -> Response:
    """``GET``: show the login form of a login in progress; ``POST``: check the username and password."""
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    pending = _pending(request, core)
    if pending is None:
        return error_page(request, core, Key.STALE_CODE)
    if request.method == "GET":
        return _login_page(request, core, pending)
    client = core.realm.clients[pending.client_id]
    form = await request.form()
    username = (form_str(form, "username") or "").strip()
    password = form_str(form, "password") or ""
    details = {
        "auth_method": "openid-connect",
        "auth_type": "code",
        "redirect_uri": pending.redirect_uri,
        "response_type": "code",
    }
    result, user = await core.check_login(username, password, client, client_ip(request), details)
    if result is not LoginResult.OK or user is None:
        core.save()
        key = Key.ACCOUNT_DISABLED if result is LoginResult.DISABLED else Key.INVALID_USER
        return _login_page(request, core, pending, username=username, error_key=key)
    pending.user_id = user.id
    if user.required_actions or pending.extra.get("kc_action"):
        core.save()
        action = user.required_actions[0] if user.required_actions else pending.extra["kc_action"]
        url = _action_url(request, core, "required-action", pending, execution=action)
        return RedirectResponse(url, status_code=303)
    response = _complete(request, core, pending, client, user, None)
    core.save()
    return response


def _complete(
    request: Request,
    core: Standin,
    pending: AuthSession,
    client: Client,
    user: User,
    session: UserSession | None,
) -> Response:
    """Create (or reuse) the SSO session, issue a code and redirect back to the client."""
    ip = client_ip(request)
    if session is None:
        session = core.create_session(user, client, ip)
        core.event(
            "LOGIN",
            client_id=client.client_id,
            user_id=user.id,
            session_id=session.id,
            ip=ip,
            details={
                "auth_method": "openid-connect",
                "auth_type": "code",
                "response_type": "code",
                "redirect_uri": pending.redirect_uri,
                "consent": "no_consent_required",
                "code_id": session.id,
                "username": user.username,
            },
        )
    session.last_access = core.now()
    session.clients[client.id] = client.client_id
    code = f"{secrets.token_urlsafe(32)}.{session.id}.{client.id}"
    core.codes[code] = AuthCode(
        code=code,
        client_id=client.client_id,
        redirect_uri=pending.redirect_uri,
        session_id=session.id,
        user_id=user.id,
        scope=pending.scope,
        nonce=pending.nonce,
        code_challenge=pending.code_challenge,
        code_challenge_method=pending.code_challenge_method,
        expires=core.now() + core.realm.access_code_lifespan,
    )
    core.auth_sessions.pop(pending.tab_id, None)
    params = {"state": pending.state, "session_state": session.id, "iss": issuer(request), "code": code}
    target = _with_params(pending.redirect_uri, params, fragment=pending.response_mode == "fragment")
    response = RedirectResponse(target, status_code=302)
    _set_sso_cookies(request, response, core, session)
    return response


# -- required action: UPDATE_PASSWORD ------------------------------------------------------------
async def required_action(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    pending = _pending(request, core)
    user = core.user(pending.user_id) if pending is not None and pending.user_id else None
    if pending is None or user is None:
        return error_page(request, core, Key.STALE_CODE)
    client = core.realm.clients[pending.client_id]
    asked = pending.extra.get("kc_action")
    if not user.required_actions and not asked:
        response = _complete(request, core, pending, client, user, None)
        core.save()
        return response
    action = user.required_actions[0] if user.required_actions else str(asked)
    if action != UPDATE_PASSWORD:
        locale = pick_locale(request, core)
        text = STANDIN_TEXTS.get(locale, STANDIN_TEXTS["en"])["unsupported_action"].format(action=action)
        return _error_text(request, core, locale, text, status=501)
    if request.method == "GET":
        return _update_password_page(request, core, pending, user)
    form = await request.form()
    new = form_str(form, "password-new") or ""
    confirm = form_str(form, "password-confirm") or ""
    errors = _password_errors(core, user, new, confirm)
    ip = client_ip(request)
    if errors:
        core.event(
            "UPDATE_PASSWORD_ERROR",
            client_id=client.client_id,
            user_id=user.id,
            ip=ip,
            error="password_rejected",
            details={"username": user.username},
        )
        core.save()
        return _update_password_page(request, core, pending, user, errors=errors)
    await core.set_password(user, new, temporary=False)
    pending.extra.pop("kc_action", None)
    if form_str(form, "logout-sessions") == "on":
        for other in core.user_sessions(user.id):
            core.end_session(other, client_id=None, ip=ip, event=False)
    details = {"username": user.username, "custom_required_action": UPDATE_PASSWORD}
    core.event("UPDATE_PASSWORD", client_id=client.client_id, user_id=user.id, ip=ip, details=details)
    core.event(
        "UPDATE_CREDENTIAL",
        client_id=client.client_id,
        user_id=user.id,
        ip=ip,
        details={**details, "credential_type": "password"},
    )
    if user.required_actions:
        core.save()
        url = _action_url(request, core, "required-action", pending, execution=user.required_actions[0])
        return RedirectResponse(url, status_code=303)
    response = _complete(request, core, pending, client, user, None)
    core.save()
    return response


def _password_errors(core: Standin, user: User, new: str, confirm: str) -> dict[str, tuple[str, ...]]:
    """Keycloak's per-field errors: field (``password`` or ``password-confirm``) -> message key and
    its parameters."""
    if not new:
        return {"password": (Key.MISSING_PASSWORD,)}
    if new != confirm:
        return {"password-confirm": (Key.NOT_MATCH_PASSWORD,)}
    violation = core.check_password_policy(user, new)
    if violation is not None:
        return {"password": (violation.code, *violation.args)}
    return {}


def _update_password_page(
    request: Request,
    core: Standin,
    pending: AuthSession,
    user: User,
    errors: dict[str, tuple[str, ...]] | None = None,
) -> HTMLResponse:
    locale = pick_locale(request, core, pending.extra.get("locale"))
    pending.extra["locale"] = locale
    action = _action_url(request, core, "required-action", pending, execution=UPDATE_PASSWORD)
    theme = theme_of(request)
    texts = {field: theme.msg(locale, key, *args) for field, (key, *args) in (errors or {}).items()}
    return render(
        request,
        core,
        "update_password.html",
        locale,
        title_key=Key.UPDATE_PASSWORD_TITLE,
        language_url=action,
        action=action,
        username=user.username,
        min_length=str(core.realm.password_policy.min_length),
        errors=texts,
    )


# -- front-channel logout ------------------------------------------------------------------------
async def logout(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    if request.method == "POST":
        form = await request.form()
        if form.get("refresh_token") is not None:
            return await backchannel_logout(request, form)
        params: dict[str, str | None] = {k: form_str(form, k) for k in form}
    else:
        params = {k: v or None for k, v in request.query_params.items()}
    redirect = params.get("post_logout_redirect_uri")
    try:
        client, hint_claims = _logout_client(request, core, params)
        _check_logout_redirect(redirect, client)
    except _LogoutRefusedError as refused:
        return error_page(request, core, refused.key, *refused.params)
    if hint_claims is not None:
        _end_hinted_sessions(request, core, hint_claims, client)
        core.save()
        return _after_logout(request, core, redirect, params.get("state"))
    return _logout_confirm_page(request, core, redirect, params.get("state"), client)


class _LogoutRefusedError(Exception):
    """A logout request Keycloak answers with an error page: the theme's message ``key`` and its
    parameters (``params``)."""

    def __init__(self, key: str, *params: str) -> None:
        super().__init__(key, *params)
        self.key = key
        self.params = params


def _logout_client(
    request: Request, core: Standin, params: dict[str, str | None]
) -> tuple[Client | None, dict[str, Any] | None]:
    """The client logging out and the claims of the ID token hint, if it sent one."""
    hint = params.get("id_token_hint")
    if hint:
        claims = core.keys.verify(hint)
        if claims is None or claims.get("iss") != issuer(request) or claims.get("typ") != "ID":
            raise _LogoutRefusedError(Key.INVALID_PARAMETER, "id_token_hint")
        if params.get("client_id") and params["client_id"] != claims.get("azp"):
            raise _LogoutRefusedError(Key.INVALID_PARAMETER, "id_token_hint")
        return core.realm.clients.get(str(claims.get("azp"))), claims
    if params.get("client_id"):
        client = core.realm.clients.get(str(params["client_id"]))
        if client is None:
            raise _LogoutRefusedError(Key.CLIENT_NOT_FOUND)
        return client, None
    return None, None


def _check_logout_redirect(redirect: str | None, client: Client | None) -> None:
    if not redirect:
        return
    if client is None:
        raise _LogoutRefusedError(Key.MISSING_PARAMETER, "id_token_hint")
    if not redirect_uri_allowed(redirect, client.post_logout_redirect_uris):
        raise _LogoutRefusedError(Key.INVALID_REDIRECT_URI)


def _end_hinted_sessions(request: Request, core: Standin, claims: dict[str, Any], client: Client | None) -> None:
    """End the session the ID token names and the browser's own session of the same user."""
    to_end: list[UserSession] = []
    session = core.active_session(str(claims.get("sid") or ""))
    if session is not None:
        to_end.append(session)
    browser = sso_session(request, core)
    if browser is not None and browser[0].user_id == claims.get("sub") and browser[0] not in to_end:
        to_end.append(browser[0])
    for s in to_end:
        core.end_session(s, client_id=client.client_id if client else None, ip=client_ip(request), event=True)


def _logout_confirm_page(
    request: Request, core: Standin, redirect: str | None, state: str | None, client: Client | None
) -> Response:
    """Without an ID token hint the user confirms the logout first (the request waits under a code)."""
    code = secrets.token_urlsafe(24)
    core.logout_requests[code] = {
        "redirect": redirect,
        "state": state,
        "client_id": client.client_id if client else None,
        "expires": str(core.now() + core.realm.user_action_lifespan),
    }
    locale = pick_locale(request, core)
    action = f"{base_url(request)}/realms/{core.realm.name}/protocol/openid-connect/logout/logout-confirm"
    return render(
        request,
        core,
        "logout_confirm.html",
        locale,
        title_key=Key.LOGOUT_TITLE,
        action=action,
        session_code=code,
    )


async def logout_confirm(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    form = await request.form()
    entry = core.logout_requests.pop(form_str(form, "session_code") or "", None)
    if entry is None or float(entry["expires"] or 0) < core.now():
        return error_page(request, core, Key.STALE_CODE)
    browser = sso_session(request, core)
    if browser is not None:
        core.end_session(browser[0], client_id=entry["client_id"], ip=client_ip(request), event=True)
        core.save()
    return _after_logout(request, core, entry["redirect"], entry["state"])


def _after_logout(request: Request, core: Standin, redirect: str | None, state: str | None) -> Response:
    response: Response
    if redirect:
        response = RedirectResponse(_with_params(redirect, {"state": state}), status_code=302)
    else:
        locale = pick_locale(request, core)
        response = render(request, core, "logged_out.html", locale, title_key=Key.LOGOUT_TITLE)
    _clear_sso_cookies(request, response)
    return response
