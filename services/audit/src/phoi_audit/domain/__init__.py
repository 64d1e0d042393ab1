"""The audit log's domain layer: a tamper-evident hash chain. Plain Python, no I/O.

See ``canonical.py`` for the exact serialisation that is hashed and ``chain.py`` for appending and
verifying.
"""

from phoi_audit.domain.canonical import (
    CANONICAL_FORMAT_VERSION,
    canonical_bytes_of,
    canonical_datetime,
    canonical_json,
    check_json_value,
)
from phoi_audit.domain.chain import (
    GENESIS_HASH,
    HASH_ALGORITHM,
    AuditActor,
    AuditEntry,
    BreakReason,
    ChainHead,
    Checkpoint,
    VerifyResult,
    chain_next,
    entry_hash,
    verify,
)
from phoi_audit.domain.errors import AuditDomainError, InvalidAuditEntry

__all__ = [
    "CANONICAL_FORMAT_VERSION",
    "GENESIS_HASH",
    "HASH_ALGORITHM",
    "AuditActor",
    "AuditDomainError",
    "AuditEntry",
    "BreakReason",
    "ChainHead",
    "Checkpoint",
    "InvalidAuditEntry",
    "VerifyResult",
    "canonical_bytes_of",
    "canonical_datetime",
    "canonical_json",
    "chain_next",
    "check_json_value",
    "entry_hash",
    "verify",
]
