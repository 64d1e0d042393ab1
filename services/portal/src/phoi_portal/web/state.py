"""What the portal's pages share: settings, the OIDC client, the service clients, the session rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from itsdangerous import URLSafeTimedSerializer
from phoi_kit.app import KitRuntime
from phoi_kit.auth import TokenValidator

from phoi_portal.adapters.oidc import OidcClient
from phoi_portal.adapters.services import ServiceClients
from phoi_portal.domain.session import Lifetime
from phoi_portal.settings import Settings


@dataclass
class PortalState:
    settings: Settings
    oidc: OidcClient
    services: ServiceClients
    id_tokens: TokenValidator  # the ID token's audience is the portal itself
    lifetime: Lifetime
    login_state: URLSafeTimedSerializer

    @classmethod
    def build(cls, settings: Settings) -> PortalState:
        return cls(
            settings=settings,
            oidc=OidcClient(settings),
            services=ServiceClients(settings),
            id_tokens=TokenValidator(issuer=settings.issuer, jwks_url=settings.jwks_url, audience=settings.client_id),
            lifetime=Lifetime(
                idle=timedelta(minutes=settings.session_idle_minutes),
                absolute=timedelta(hours=settings.session_absolute_hours),
                refresh_margin=timedelta(seconds=settings.token_refresh_margin_seconds),
            ),
            login_state=URLSafeTimedSerializer(settings.secret_key, salt="phoi-portal-login"),
        )

    async def aclose(self) -> None:
        await self.oidc.aclose()
        await self.services.aclose()
        await self.id_tokens.aclose()


def portal(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


def kit(request: Request) -> KitRuntime:
    runtime: KitRuntime = request.app.state.kit
    return runtime
