"""The audit service's Prometheus metrics (``service`` label like every kit series).

- ``audit_entries_total{type}``: entries appended by this process, counted after their transaction
  committed (re-deliveries and rolled-back batches are not counted).
- ``audit_verify_failures_total``: verifications that found the chain broken (API, background full
  verify, pre-checkpoint verify). The ``PhoiAuditChainBroken`` alert fires on it.
- ``audit_verified_sequence``: the last sequence of the most recent successful verification that
  started at the beginning of the chain or at a verified checkpoint.
- ``audit_head_sequence``: the chain head as last seen by this process.
"""

from __future__ import annotations

from typing import Final

from phoi_contracts.catalogue import EVENT_TYPES
from prometheus_client import Counter, Gauge

SERVICE: Final = "audit"

ENTRIES = Counter("audit_entries_total", "Audit entries appended", ["service", "type"])
VERIFY_FAILURES = Counter("audit_verify_failures_total", "Verifications that found the chain broken", ["service"])
VERIFIED_SEQUENCE = Gauge(
    "audit_verified_sequence", "Last sequence covered by the latest successful verification", ["service"]
)
HEAD_SEQUENCE = Gauge("audit_head_sequence", "Sequence of the newest audit entry", ["service"])
CHECKPOINTS = Counter("audit_checkpoints_total", "Checkpoints published", ["service"])

VERIFY_FAILURES.labels(SERVICE)  # present (at 0) from the start, so the alert's series exists


def entry_appended(event_type: str) -> None:
    # Unknown types are recorded too, but do not get a series each (bounded label values).
    ENTRIES.labels(SERVICE, event_type if event_type in EVENT_TYPES else "other").inc()
