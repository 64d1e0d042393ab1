from phoi_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Inventory service settings; every field can be set as INVENTORY_<FIELD> (e.g. INVENTORY_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    service_name: str = "inventory"
    port: int = 8003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_inventory"
