from pathlib import Path
from typing import Literal

from phoi_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

#: Hard ceiling for one attachment; the database refuses larger contents whatever the settings say.
ATTACHMENT_HARD_LIMIT = 10 * 1024 * 1024


class Settings(ServiceSettings):
    """Requests service settings; every field can be set as REQUESTS_<FIELD> (e.g. REQUESTS_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="REQUESTS_", extra="ignore")

    service_name: str = "requests"
    port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/phoi_requests"

    # Attachments (the signed request letter): PDF, JPEG or PNG, recognised by their content.
    attachment_max_bytes: int = Field(ATTACHMENT_HARD_LIMIT, ge=1, le=ATTACHMENT_HARD_LIMIT)
    # Where attachment contents live. Only "database" exists today; the interface admits an S3 store.
    attachment_store: Literal["database"] = "database"

    # Digital signatures of uploaded letters (PAdES, verified offline on upload). The trust folder holds the
    # roots (self-signed) and intermediates as PEM, DER or .p7b files, and optionally local CRLs (.crl);
    # unset, nothing is trusted and every signed letter is `untrusted`.
    signature_trust_folder: Path | None = None
    # Submitting needs a letter whose signatures are `valid` (on in production, off in the demo).
    require_signed_letter: bool = False
