"""The portal's OpenID Connect client (Authlib): authorization code + PKCE (S256), refresh, logout.

Keycloak's URL layout is fixed (`/realms/{realm}/protocol/openid-connect/...`), so the endpoints are
built, not discovered: the browser-facing ones (authorize, logout) from the public Keycloak address, the
back-channel ones (token) from `KEYCLOAK_URL`, which may be an in-cluster address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from phoi_portal.domain.session import Tokens
from phoi_portal.settings import Settings


class OidcError(Exception):
    """Keycloak refused or could not be reached; the user signs in again."""


@dataclass(frozen=True)
class LoginStart:
    url: str
    state: str
    nonce: str
    code_verifier: str


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        realm = f"/realms/{settings.keycloak_realm}/protocol/openid-connect"
        self.settings = settings
        self.authorize_url = f"{settings.browser_keycloak_url}{realm}/auth"
        self.logout_url = f"{settings.browser_keycloak_url}{realm}/logout"
        self.token_url = f"{settings.keycloak_url.rstrip('/')}{realm}/token"
        self.redirect_uri = f"{settings.public_url.rstrip('/')}/auth/callback"
        self._client = AsyncOAuth2Client(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name, not a secret
            code_challenge_method="S256",
            redirect_uri=self.redirect_uri,
            scope="openid profile",
            timeout=settings.api_timeout_seconds,
        )

    def start(self, *, locale: str, prompt: str | None = None) -> LoginStart:
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "ui_locales": locale,
        }
        if prompt:
            params["prompt"] = prompt
        return LoginStart(f"{self.authorize_url}?{urlencode(params)}", state, nonce, verifier)

    def action_url(self, action: str, *, locale: str) -> LoginStart:
        """Keycloak's application-initiated action (e.g. UPDATE_PASSWORD) through the same code flow."""
        start = self.start(locale=locale)
        return LoginStart(
            f"{start.url}&{urlencode({'kc_action': action})}", start.state, start.nonce, start.code_verifier
        )

    async def exchange(self, code: str, verifier: str) -> Tokens:
        return await self._token_call(grant_type="authorization_code", code=code, code_verifier=verifier)

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._token_call(grant_type="refresh_token", refresh_token=refresh_token)

    async def _token_call(self, **params: Any) -> Tokens:
        try:
            if params["grant_type"] == "refresh_token":
                token = await self._client.refresh_token(self.token_url, refresh_token=params["refresh_token"])
            else:
                token = await self._client.fetch_token(
                    self.token_url, code=params["code"], code_verifier=params["code_verifier"]
                )
        except httpx.HTTPError as exc:
            raise OidcError(f"Keycloak unreachable: {type(exc).__name__}") from exc
        except Exception as exc:  # Authlib raises OAuthError subclasses for refusals
            raise OidcError(str(exc)) from exc
        expires_in = int(token.get("expires_in") or 60)
        return Tokens(
            access_token=str(token["access_token"]),
            refresh_token=token.get("refresh_token"),
            id_token=token.get("id_token"),
            access_expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        )

    def end_session_url(self, id_token: str | None, post_logout_redirect: str) -> str:
        params = {"client_id": self.settings.client_id, "post_logout_redirect_uri": post_logout_redirect}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{self.logout_url}?{urlencode(params)}"

    async def aclose(self) -> None:
        await self._client.aclose()


def random_id() -> str:
    return secrets.token_urlsafe(16)
