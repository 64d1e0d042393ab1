"""OpenID Connect endpoints under ``/realms/{realm}`` (discovery, JWKS, token, userinfo, introspection,
revocation, back-channel logout). The browser parts (auth, login page, front-channel logout) are in
:mod:`phoi_local.keycloak.login`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .core import LoginResult, OAuthError, Standin
from .realm import Client
from .web import (
    authenticate_client,
    base_url,
    bearer_token,
    client_ip,
    core_of,
    form_str,
    issuer,
    json_response,
    oauth_error,
    realm_or_404,
)

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


async def discovery(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    iss = issuer(request)
    oidc = f"{iss}/protocol/openid-connect"
    return JSONResponse(
        {
            "issuer": iss,
            "authorization_endpoint": f"{oidc}/auth",
            "token_endpoint": f"{oidc}/token",
            "introspection_endpoint": f"{oidc}/token/introspect",
            "userinfo_endpoint": f"{oidc}/userinfo",
            "end_session_endpoint": f"{oidc}/logout",
            "frontchannel_logout_session_supported": True,
            "frontchannel_logout_supported": True,
            "jwks_uri": f"{oidc}/certs",
            "grant_types_supported": [
                "authorization_code",
                "client_credentials",
                "password",
                "refresh_token",
            ],
            "acr_values_supported": ["0", "1"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "prompt_values_supported": ["none", "login"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["RS256", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_modes_supported": ["query", "fragment"],
            "registration_endpoint": f"{iss}/clients-registrations/openid-connect",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": [
                "aud",
                "sub",
                "iss",
                "auth_time",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "email",
                "email_verified",
                "acr",
                "unit_code",
            ],
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": False,
            "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "acr", "basic"],
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
            "code_challenge_methods_supported": ["S256"],
            "tls_client_certificate_bound_access_tokens": False,
            "revocation_endpoint": f"{oidc}/revoke",
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "backchannel_logout_supported": False,
            "backchannel_logout_session_supported": False,
            "authorization_response_iss_parameter_supported": True,
        }
    )


async def realm_info(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    iss = issuer(request)
    return JSONResponse(
        {
            "realm": core.realm.name,
            "public_key": core.keys.public_key_b64(),
            "token-service": f"{iss}/protocol/openid-connect",
            "account-service": f"{iss}/account",
            "tokens-not-before": 0,
        }
    )


async def certs(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    return JSONResponse(core_of(request).keys.jwks(), headers={"Cache-Control": "no-cache"})


# -- token endpoint ------------------------------------------------------------------------------
async def token(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    form = await request.form()
    grant_type = form_str(form, "grant_type")
    ip = client_ip(request)
    try:
        client = authenticate_client(request, form)
    except OAuthError as err:
        event = "CLIENT_LOGIN_ERROR" if grant_type == "client_credentials" else "LOGIN_ERROR"
        if grant_type == "refresh_token":
            event = "REFRESH_TOKEN_ERROR"
        elif grant_type == "authorization_code":
            event = "CODE_TO_TOKEN_ERROR"
        core.event(event, client_id=form_str(form, "client_id"), ip=ip, error="invalid_client_credentials")
        core.save()
        return oauth_error(err)
    try:
        if grant_type == "password":
            result = await _password_grant(request, core, client, form_str(form, "username") or "", form)
        elif grant_type == "authorization_code":
            result = _code_grant(request, core, client, form)
        elif grant_type == "refresh_token":
            result = _refresh_grant(request, core, client, form)
        elif grant_type == "client_credentials":
            result = _client_credentials_grant(request, core, client, form)
        elif not grant_type:
            raise OAuthError("invalid_request", "Missing form parameter: grant_type")
        else:
            raise OAuthError("unsupported_grant_type", "Unsupported grant_type")
    except OAuthError as err:
        core.save()
        return oauth_error(err)
    core.save()
    return json_response(result)


def _client_auth_method(client: Client) -> str:
    return "client-secret" if not client.public else "none"


async def _password_grant(request: Request, core: Standin, client: Client, username: str, form: Any) -> dict[str, Any]:
    if not client.direct_access_grants:
        raise OAuthError("unauthorized_client", "Client not allowed for direct access grants")
    ip = client_ip(request)
    details = {"auth_method": "openid-connect", "grant_type": "password"}
    password = form_str(form, "password") or ""
    result, user = await core.check_login(username, password, client, ip, details)
    if result in (LoginResult.NOT_FOUND, LoginResult.INVALID, LoginResult.LOCKED):
        raise OAuthError("invalid_grant", "Invalid user credentials", 401)
    if result is LoginResult.DISABLED:
        raise OAuthError("invalid_grant", "Account disabled")
    assert user is not None
    if user.required_actions:
        core.event(
            "LOGIN_ERROR",
            client_id=client.client_id,
            user_id=user.id,
            ip=ip,
            error="resolve_required_actions",
            details={**details, "username": user.username},
        )
        raise OAuthError("invalid_grant", "Account is not fully set up")
    session = core.create_session(user, client, ip)
    tokens = core.issue_tokens(
        issuer=issuer(request),
        client=client,
        user=user,
        session=session,
        requested_scope=form_str(form, "scope"),
    )
    core.event(
        "LOGIN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=session.id,
        ip=ip,
        details={
            **details,
            "username": user.username,
            "client_auth_method": _client_auth_method(client),
            "scope": tokens["scope"],
        },
    )
    return tokens


def _pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if method in (None, "plain"):
        return hmac.compare_digest(verifier, challenge)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def _code_grant(request: Request, core: Standin, client: Client, form: Any) -> dict[str, Any]:
    ip = client_ip(request)
    if not client.standard_flow:
        raise OAuthError("unauthorized_client", "Client not allowed to exchange code")
    code_value = form_str(form, "code")
    if not code_value:
        raise OAuthError("invalid_request", "Missing parameter: code")
    code = core.codes.pop(code_value, None)
    if code is None or code.expires < core.now() or code.client_id != client.client_id:
        core.event("CODE_TO_TOKEN_ERROR", client_id=client.client_id, ip=ip, error="invalid_code")
        raise OAuthError("invalid_grant", "Code not valid")
    if form_str(form, "redirect_uri") != code.redirect_uri:
        core.event("CODE_TO_TOKEN_ERROR", client_id=client.client_id, ip=ip, error="invalid_code")
        raise OAuthError("invalid_grant", "Incorrect redirect_uri")
    if code.code_challenge:
        verifier = form_str(form, "code_verifier")
        if not verifier:
            core.event("CODE_TO_TOKEN_ERROR", client_id=client.client_id, ip=ip, error="invalid_code_verifier")
            raise OAuthError("invalid_grant", "PKCE code verifier not specified")
        if not _VERIFIER.match(verifier):
            core.event("CODE_TO_TOKEN_ERROR", client_id=client.client_id, ip=ip, error="invalid_code_verifier")
            raise OAuthError("invalid_grant", "PKCE invalid code verifier")
        if not _pkce_matches(verifier, code.code_challenge, code.code_challenge_method):
            core.event("CODE_TO_TOKEN_ERROR", client_id=client.client_id, ip=ip, error="invalid_code_verifier")
            raise OAuthError("invalid_grant", "PKCE verification failed: Code mismatch")
    session = core.active_session(code.session_id)
    user = core.user(code.user_id)
    if session is None or user is None:
        raise OAuthError("invalid_grant", "Session not active")
    if not user.enabled:
        raise OAuthError("invalid_grant", "User disabled")
    session.last_access = core.now()
    session.clients[client.id] = client.client_id
    tokens = core.issue_tokens(
        issuer=issuer(request),
        client=client,
        user=user,
        session=session,
        requested_scope=code.scope,
        nonce=code.nonce,
    )
    core.event(
        "CODE_TO_TOKEN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=session.id,
        ip=ip,
        details={"grant_type": "authorization_code", "client_auth_method": _client_auth_method(client)},
    )
    return tokens


def _refresh_grant(request: Request, core: Standin, client: Client, form: Any) -> dict[str, Any]:
    ip = client_ip(request)
    value = form_str(form, "refresh_token")
    if not value:
        raise OAuthError("invalid_request", "Missing parameter: refresh_token")
    try:
        claims, user, session = core.check_refresh_token(value, issuer(request), client)
    except OAuthError as err:
        core.event("REFRESH_TOKEN_ERROR", client_id=client.client_id, ip=ip, error="invalid_token")
        raise err
    session.last_access = core.now()
    session.clients[client.id] = client.client_id
    tokens = core.issue_tokens(
        issuer=issuer(request),
        client=client,
        user=user,
        session=session,
        requested_scope=form_str(form, "scope") or str(claims.get("scope") or ""),
    )
    core.event(
        "REFRESH_TOKEN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=session.id,
        ip=ip,
        details={"refresh_token_id": claims.get("jti"), "grant_type": "refresh_token"},
    )
    return tokens


def _client_credentials_grant(request: Request, core: Standin, client: Client, form: Any) -> dict[str, Any]:
    ip = client_ip(request)
    account = core.realm.service_accounts.get(client.client_id)
    if client.public:
        core.event("CLIENT_LOGIN_ERROR", client_id=client.client_id, ip=ip, error="invalid_client")
        raise OAuthError("unauthorized_client", "Public client not allowed to retrieve service account", 401)
    if not client.service_accounts or account is None:
        core.event("CLIENT_LOGIN_ERROR", client_id=client.client_id, ip=ip, error="invalid_client")
        raise OAuthError("unauthorized_client", "Client not enabled to retrieve service account", 401)
    user = core.user(account.user_id)
    assert user is not None
    tokens = core.issue_tokens(
        issuer=issuer(request),
        client=client,
        user=user,
        session=None,
        requested_scope=form_str(form, "scope"),
        with_refresh=False,
        with_id_token=False,
    )
    core.event(
        "CLIENT_LOGIN",
        client_id=client.client_id,
        user_id=user.id,
        ip=ip,
        details={
            "grant_type": "client_credentials",
            "client_auth_method": "client-secret",
            "username": user.username,
            "scope": tokens["scope"],
        },
    )
    return tokens


# -- userinfo, introspection, revocation ---------------------------------------------------------
def _invalid_token(description: str) -> Response:
    return json_response(
        {"error": "invalid_token", "error_description": description},
        status=401,
        headers={"WWW-Authenticate": f'Bearer realm="phoi", error="invalid_token", error_description="{description}"'},
    )


async def userinfo(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    value = bearer_token(request)
    if value is None and request.method == "POST":
        form = await request.form()
        value = form_str(form, "access_token")
    if value is None:
        return _invalid_token("Missing token")
    claims = core.check_access_token(value, issuer(request))
    if claims is None:
        return _invalid_token("Token verification failed")
    user = core.user(str(claims["sub"]))
    client = core.realm.clients.get(str(claims.get("azp")))
    if user is None or client is None:
        return _invalid_token("Token verification failed")
    info: dict[str, Any] = {"sub": user.id}
    info.update(core._profile_claims(user, client, "userinfo"))
    return json_response(info)


async def introspect(request: Request) -> Response:
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    form = await request.form()
    try:
        authenticate_client(request, form, require_confidential=True)
    except OAuthError as err:
        return oauth_error(err)
    value = form_str(form, "token")
    if not value:
        return json_response({"error": "invalid_request", "error_description": "Token not provided."}, status=400)
    iss = issuer(request)
    claims = core.check_access_token(value, iss)
    if claims is not None:
        return json_response(
            {
                **claims,
                "client_id": claims.get("azp"),
                "username": claims.get("preferred_username"),
                "token_type": "Bearer",
                "active": True,
            }
        )
    refresh = core.keys.verify_hs(value)
    if refresh is not None and refresh.get("iss") == iss and int(refresh.get("exp", 0)) > core.now():
        client = core.realm.clients.get(str(refresh.get("azp")))
        try:
            if client is None:
                raise OAuthError("invalid_grant", "unknown client")
            core.check_refresh_token(value, iss, client)
        except OAuthError:
            return json_response({"active": False})
        return json_response(
            {**refresh, "client_id": refresh.get("azp"), "token_type": refresh.get("typ"), "active": True}
        )
    return json_response({"active": False})


async def revoke(request: Request) -> Response:
    """RFC 7009. A refresh token ends its session; an access token is put on the revoked list."""
    if (missing := realm_or_404(request)) is not None:
        return missing
    core = core_of(request)
    form = await request.form()
    try:
        client = authenticate_client(request, form)
    except OAuthError as err:
        return oauth_error(err)
    value = form_str(form, "token")
    if not value:
        return json_response({"error": "invalid_request", "error_description": "Token not provided"}, status=400)
    refresh = core.keys.verify_hs(value)
    if refresh is not None:
        if refresh.get("azp") != client.client_id:
            return json_response(
                {"error": "invalid_token", "error_description": "Token client and authorized client don't match"},
                status=400,
            )
        session = core.active_session(str(refresh.get("sid")))
        if session is not None:
            core.end_session(session, client_id=client.client_id, ip=client_ip(request), event=False)
    else:
        claims = core.keys.verify(value)
        if claims is not None and claims.get("azp") == client.client_id and claims.get("jti"):
            core.state.revoked_tokens[str(claims["jti"])] = float(claims.get("exp", core.now()))
    core.save()
    return Response(status_code=200)


async def backchannel_logout(request: Request, form: Any) -> Response:
    """``POST .../logout`` with a refresh token (python-keycloak's ``KeycloakOpenID.logout``)."""
    core = core_of(request)
    try:
        client = authenticate_client(request, form)
    except OAuthError as err:
        return oauth_error(err)
    value = form_str(form, "refresh_token") or ""
    ip = client_ip(request)
    try:
        _claims, _user, session = core.check_refresh_token(value, issuer(request), client)
    except OAuthError as err:
        core.event("LOGOUT_ERROR", client_id=client.client_id, ip=ip, error="invalid_token")
        core.save()
        if err.description in ("Invalid refresh token", "Token is not active") or err.description.startswith(
            "Invalid token issuer"
        ):
            err = OAuthError("invalid_grant", "Invalid refresh token")
        return oauth_error(err)
    core.end_session(session, client_id=client.client_id, ip=ip, event=True)
    core.save()
    return Response(status_code=204)


def base_for_templates(request: Request) -> str:
    return base_url(request)
