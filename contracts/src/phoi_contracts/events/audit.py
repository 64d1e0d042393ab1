"""Events of the audit service (topic ``phoi.audit``)."""

from typing import ClassVar, Final, Literal

from pydantic import AwareDatetime, Field, NonNegativeInt

from phoi_contracts import topics
from phoi_contracts.envelope import EventData

#: Envelope subject of every checkpoint: the one audit chain.
AUDIT_CHAIN_SUBJECT: Final = "audit-chain"


class AuditCheckpoint(EventData):
    """The head of the hash-chained audit log at a moment, published so it can be kept elsewhere."""

    TYPE: ClassVar[str] = "audit.checkpoint.v1"
    TOPIC: ClassVar[str | None] = topics.AUDIT

    latest_sequence: NonNegativeInt = Field(description="Sequence number of the latest entry.")
    latest_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hash of the latest entry, hex.")
    hash_algorithm: Literal["sha256"] = Field(description="Hash function of the chain.")
    entry_count: NonNegativeInt = Field(description="Number of entries in the log.")
    checkpoint_at: AwareDatetime = Field(description="When the checkpoint was taken.")

    def default_subject(self) -> str:
        """Always `AUDIT_CHAIN_SUBJECT`, so checkpoints stay in order."""
        return AUDIT_CHAIN_SUBJECT


EVENTS: Final[tuple[type[EventData], ...]] = (AuditCheckpoint,)
