from phoi_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Inventory service settings; every field can be set as INVENTORY_<FIELD> (e.g. INVENTORY_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    service_name: str = "inventory"
    port: int = 8003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_inventory"
    # The unit code of QLCL (the issuer): the custodian named for central stock in events and reports.
    issuer_unit_code: str = "QLCL"
    # GET /stock lists at most this many ranges per line (the counts are always complete).
    stock_max_ranges: int = 1000
    # stock.movement_recorded carries one register entry number per used serial up to this many serials.
    event_max_register_entries: int = 10_000
