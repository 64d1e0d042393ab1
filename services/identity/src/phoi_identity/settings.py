from phoi_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Identity service settings; every field can be set as IDENTITY_<FIELD> (e.g. IDENTITY_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_identity"
