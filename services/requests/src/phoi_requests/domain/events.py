"""Domain events the Request aggregate collects (cosmicpython style) for the outbox.

An event's ``type`` is unversioned (``request.approved``); the outbox writer appends the contract
version: ``f"{event.type}.v1"``. ``data`` is JSON-ready (UUIDs, dates and datetimes as ISO strings) and
has exactly the fields of the matching ``phoi_contracts.events.requests`` model, so
``event_class(type + ".v1").model_validate(event.data)`` accepts it. The envelope's ``id`` is
``event.id``, ``time`` is ``event.occurred_at``, ``subject`` is ``str(event.request_id)`` and ``actor``
is ``event.actor``. ``event.version`` (the aggregate version after the change) is not in ``data``.

Inventory outcomes (``mark_allocated`` / ``mark_waiting_for_stock``) emit no event: the facts are already
on ``phoi.inventory``; they only change the aggregate's status, version and history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from phoi_requests.domain.model import Actor

REQUEST_CREATED: Final = "request.created"
REQUEST_UPDATED: Final = "request.updated"
REQUEST_SUBMITTED: Final = "request.submitted"
REQUEST_RETURNED: Final = "request.returned"
REQUEST_APPROVED: Final = "request.approved"
REQUEST_REJECTED: Final = "request.rejected"
REQUEST_CANCELLED: Final = "request.cancelled"
REQUEST_RECEIPT_CONFIRMED: Final = "request.receipt_confirmed"
REQUEST_CLOSED: Final = "request.closed"

EVENT_TYPES: Final = (
    REQUEST_CREATED,
    REQUEST_UPDATED,
    REQUEST_SUBMITTED,
    REQUEST_RETURNED,
    REQUEST_APPROVED,
    REQUEST_REJECTED,
    REQUEST_CANCELLED,
    REQUEST_RECEIPT_CONFIRMED,
    REQUEST_CLOSED,
)


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One domain event. ``id`` is generated here so the outbox row and the envelope share it."""

    type: str
    request_id: uuid.UUID
    unit_code: str
    version: int
    occurred_at: datetime
    actor: Actor
    data: dict[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "request_id": str(self.request_id),
            "unit_code": self.unit_code,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor.to_dict(),
            "data": self.data,
        }
