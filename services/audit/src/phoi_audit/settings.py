from phoi_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Audit service settings; every field can be set as AUDIT_<FIELD> (e.g. AUDIT_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    service_name: str = "audit"
    port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_audit"
