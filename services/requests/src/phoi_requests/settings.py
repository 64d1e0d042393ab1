from phoi_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Requests service settings; every field can be set as REQUESTS_<FIELD> (e.g. REQUESTS_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="REQUESTS_", extra="ignore")

    service_name: str = "requests"
    port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_requests"
