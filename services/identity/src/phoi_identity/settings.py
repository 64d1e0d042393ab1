from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any

from phoi_kit.settings import ServiceSettings
from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode, SettingsConfigDict

# The Keycloak stand-in's documented development secret (deploy/local/src/phoi_local/keycloak/README.md).
# Production sets IDENTITY_KEYCLOAK_CLIENT_SECRET from a Kubernetes Secret.
DEV_CLIENT_SECRET = "dev-only-identity-service-secret-change-me"  # noqa: S105

Network = IPv4Network | IPv6Network


def _networks(value: Any) -> Any:
    """``127.0.0.1/32, ::1`` (commas or spaces) from the environment; a list as it is."""
    if isinstance(value, str):
        return [ip_network(part, strict=False) for part in value.replace(",", " ").split()]
    return value


Networks = Annotated[tuple[Network, ...], NoDecode, BeforeValidator(_networks)]


class Settings(ServiceSettings):
    """Identity service settings; every field can be set as IDENTITY_<FIELD> (e.g. IDENTITY_DATABASE_URL).

    Keycloak's address and realm are the shared ``KEYCLOAK_URL`` / ``KEYCLOAK_REALM``."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_identity"

    # --- Keycloak admin access (client credentials of the `identity-service` service account) ---------
    keycloak_client_id: str = "identity-service"
    keycloak_client_secret: str = DEV_CLIENT_SECRET
    # IDENTITY_KEYCLOAK_ADMIN_URL: where the admin REST API is reached, when it differs from KEYCLOAK_URL
    # (an in-cluster address, say). Default: KEYCLOAK_URL.
    keycloak_admin_url: str | None = None
    keycloak_timeout_seconds: float = Field(10.0, gt=0)
    # Retries of a failing Keycloak call (connection errors, 5xx): attempts in all, and the capped
    # exponential backoff between them.
    keycloak_retry_attempts: int = Field(4, ge=1, le=20)
    keycloak_retry_initial_seconds: float = Field(0.2, ge=0)
    keycloak_retry_max_seconds: float = Field(3.0, ge=0)

    # --- background tasks ----------------------------------------------------------------------------
    # IDENTITY_LOGIN_EVENTS_POLL_SECONDS: how often Keycloak's login events are read and published.
    # 0 disables the poller.
    login_events_poll_seconds: float = Field(15.0, ge=0)
    # On the very first poll (no high-water mark yet), how far back to read.
    login_events_lookback_seconds: float = Field(0.0, ge=0)
    login_events_page_size: int = Field(200, ge=1, le=1000)
    # Failed logins of one account (or, for names that exist nowhere, one address) in each window: the
    # first LOGIN_FAILURES_BURST are published one by one, the rest as one auth.login_failed_summary.v1.
    login_failures_burst: int = Field(10, ge=0)
    login_failures_window_seconds: int = Field(60, ge=1, le=86_400)
    # IDENTITY_RECONCILE_SECONDS: how often the directory is reconciled with Keycloak (states, orphans).
    # 0 disables the periodic run (POST /api/v1/reconcile still works).
    reconcile_seconds: float = Field(300.0, ge=0)
    # A Keycloak user creation still in flight is not an orphan: leave journal entries younger than this.
    reconcile_grace_seconds: float = Field(120.0, ge=0)

    # --- sign-in activity ------------------------------------------------------------------------------
    # Failed sign-ins within the window that count as "repeated failures" for QLCL's view.
    failed_logins_threshold: int = Field(3, ge=1)
    failed_logins_window_hours: float = Field(24.0, gt=0)

    # --- the public access-report intake (POST /api/v1/access-reports, no sign-in) ----------------------
    # Reports accepted from one client address in any 60 minutes, and from all addresses together (a
    # bound on a flood from many addresses). Counted in the database, so across replicas.
    public_reports_per_hour: int = Field(5, ge=1)
    public_reports_global_per_hour: int = Field(100, ge=1)
    # Direct peers whose X-Forwarded-For is believed (the portal, which forwards the browser's address).
    # Comma-separated addresses or CIDR blocks.
    trusted_proxies: Networks = (ip_network("127.0.0.1/32"), ip_network("::1/128"))

    @property
    def keycloak_admin_server_url(self) -> str:
        return (self.keycloak_admin_url or self.keycloak_url).rstrip("/") + "/"
