"""What the application services need besides the request's unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from phoi_kit.db import Database

from phoi_identity.adapters.keycloak import KeycloakAdapter
from phoi_identity.settings import Settings


@dataclass
class IdentityContext:
    settings: Settings
    database: Database  # the kit runtime's; for the journal's own short transactions
    keycloak: KeycloakAdapter
    source: str

    @classmethod
    def build(cls, settings: Settings, database: Database, source: str) -> IdentityContext:
        keycloak = KeycloakAdapter(
            server_url=settings.keycloak_admin_server_url,
            realm=settings.keycloak_realm,
            client_id=settings.keycloak_client_id,
            client_secret=settings.keycloak_client_secret,
            timeout=settings.keycloak_timeout_seconds,
            attempts=settings.keycloak_retry_attempts,
            wait_initial=settings.keycloak_retry_initial_seconds,
            wait_max=settings.keycloak_retry_max_seconds,
        )
        return cls(settings=settings, database=database, keycloak=keycloak, source=source)
