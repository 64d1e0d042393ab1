"""HTTP helpers shared by the stand-in's endpoint modules."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import unquote_plus

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .core import OAuthError, Standin
from .messages import LoginTheme
from .realm import Client

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def core_of(request: Request) -> Standin:
    core: Standin = request.app.state.standin
    return core


def theme_of(request: Request) -> LoginTheme:
    """The realm's login theme (texts, stylesheet, portal link), loaded at start-up."""
    theme: LoginTheme = request.app.state.theme
    return theme


def realm_or_404(request: Request) -> Response | None:
    """``None`` when the path's realm is the one we serve, else Keycloak's 404 answer."""
    if request.path_params.get("realm") != core_of(request).realm.name:
        return JSONResponse({"error": "Realm does not exist"}, status_code=404)
    return None


def base_url(request: Request) -> str:
    core = core_of(request)
    if core.settings.public_url:
        return core.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def issuer(request: Request) -> str:
    return f"{base_url(request)}/realms/{core_of(request).realm.name}"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={**NO_STORE, **(headers or {})})


def oauth_error(err: OAuthError) -> JSONResponse:
    return json_response(err.body(), status=err.status)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate_client(request: Request, form: FormData, *, require_confidential: bool = False) -> Client:
    """Client authentication as Keycloak does it (client_secret_basic or client_secret_post)."""
    core = core_of(request)
    client_id: str | None = None
    secret: str | None = None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401) from exc
        raw_id, _, raw_secret = decoded.partition(":")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    else:
        client_id = _form_str(form, "client_id")
        secret = _form_str(form, "client_secret")
    if not client_id:
        raise OAuthError("invalid_client", "Missing parameter: client_id", 401)
    client = core.realm.clients.get(client_id)
    if client is None:
        raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
    if not client.enabled:
        raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
    if client.public:
        if require_confidential:
            raise OAuthError("invalid_request", "Client not allowed.", 403)
        return client
    if (
        not secret
        or client.secret is None
        or not hmac.compare_digest(secret.encode("utf-8"), client.secret.encode("utf-8"))
    ):
        raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
    return client


def _form_str(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value != "" else None


def form_str(form: FormData, name: str) -> str | None:
    """A non-empty text field of a form, or ``None``."""
    return _form_str(form, name)
