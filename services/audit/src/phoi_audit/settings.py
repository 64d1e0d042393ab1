from phoi_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Audit service settings; every field can be set as AUDIT_<FIELD> (e.g. AUDIT_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    service_name: str = "audit"
    port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_audit"

    # AUDIT_CHECKPOINT_SECONDS: how often the chain head is published as audit.checkpoint.v1 (after the
    # entries since the previous checkpoint were verified). 0 disables the task.
    checkpoint_seconds: float = Field(3600.0, ge=0)
    # AUDIT_VERIFY_SECONDS: how often the whole chain is re-verified in the background (feeds
    # audit_verify_failures_total and the PhoiAuditChainBroken alert). 0 disables the task.
    verify_seconds: float = Field(86400.0, ge=0)
    # Rows fetched per round trip when streaming entries (export, verify): the memory bound.
    stream_chunk_rows: int = Field(1000, ge=10, le=50_000)
    # Page size of GET /api/v1/entries: default and maximum.
    page_size_default: int = Field(50, ge=1)
    page_size_max: int = Field(500, ge=1)
