from phoi_kit.settings import ServiceSettings
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict


def _url(name: str, default: str) -> str:
    """The other services' addresses: PORTAL_<X>_URL, else the stack-wide PHOI_<X>_URL the launcher sets."""
    return Field(
        default, validation_alias=AliasChoices(f"PORTAL_{name}_URL", f"PHOI_{name}_URL", f"{name.lower()}_url")
    )


class Settings(ServiceSettings):
    """Portal settings; every field can be set as PORTAL_<FIELD> (e.g. PORTAL_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", populate_by_name=True)

    service_name: str = "portal"
    port: int = 8000
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_portal"

    # Where browsers reach the portal (redirect URIs, cookie security). https outside loopback.
    public_url: str = "http://127.0.0.1:8000"
    # The OIDC client (confidential, authorization code + PKCE). The secret comes from the environment;
    # the default is the local stack's demo secret from the realm file.
    client_id: str = "portal"
    client_secret: str = Field(
        "dev-only-portal-secret-change-me",
        validation_alias=AliasChoices("PORTAL_CLIENT_SECRET", "PHOI_PORTAL_CLIENT_SECRET", "client_secret"),
    )
    # Where browsers reach Keycloak, when it differs from KEYCLOAK_URL (the in-cluster address).
    keycloak_public_url: str | None = None

    identity_url: str = _url("IDENTITY", "http://127.0.0.1:8001")
    requests_url: str = _url("REQUESTS", "http://127.0.0.1:8002")
    inventory_url: str = _url("INVENTORY", "http://127.0.0.1:8003")
    audit_url: str = _url("AUDIT", "http://127.0.0.1:8004")
    api_timeout_seconds: float = Field(15.0, gt=0)
    # A printed usage report carries the seal of its own export, which reaches the audit log a moment
    # after it is recorded: wait up to this long for it, then print the export's reference instead.
    record_seal_wait_seconds: float = 5.0

    # Session lifetime (Decision 2699 Art. 8 asks accounts be kept safe): idle and absolute limits.
    session_idle_minutes: int = Field(30, ge=1)
    session_absolute_hours: int = Field(10, ge=1)
    # Refresh the access token when it has fewer seconds left than this.
    token_refresh_margin_seconds: int = Field(30, ge=0)
    # Signs CSRF tokens and the login-state cookie. Set in production; the default is for loopback only.
    secret_key: str = Field("dev-only-portal-signing-key-change-me")

    @property
    def secure_cookies(self) -> bool:
        return not self.public_url.startswith(("http://127.0.0.1", "http://localhost"))

    @property
    def browser_keycloak_url(self) -> str:
        return (self.keycloak_public_url or self.keycloak_url).rstrip("/")
