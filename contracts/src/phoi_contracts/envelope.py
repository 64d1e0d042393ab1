"""The event envelope: CloudEvents 1.0 attributes plus the actor and correlation id.

Every message on the bus is one JSON-serialised `Envelope`. The Kafka key is `subject` (the aggregate
id), so all events of one aggregate land on one partition and stay in order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Actor(BaseModel):
    """Who caused the event. `None` fields mean a system action (a relay, a scheduled job)."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    username: str | None = None
    role: str | None = None
    unit_code: str | None = None


SYSTEM_ACTOR = Actor(username="system")


class EventData(BaseModel):
    """Base of every event payload. Subclasses set `TYPE` (``<aggregate>.<verb>.v<N>``) and `TOPIC`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique event id; the dedup key.")
    type: str = Field(description="Versioned event type, e.g. request.approved.v1")
    source: str = Field(description="Producing service, e.g. /phoi/requests")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(description="Aggregate id; also the Kafka message key")
    datacontenttype: Literal["application/json"] = "application/json"
    actor: Actor = SYSTEM_ACTOR
    correlation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: EventData,
        *,
        source: str,
        subject: str,
        actor: Actor = SYSTEM_ACTOR,
        correlation_id: str | None = None,
    ) -> Envelope:
        return cls(
            type=event.TYPE,
            source=source,
            subject=subject,
            actor=actor,
            correlation_id=correlation_id,
            data=event.model_dump(mode="json"),
        )

    @property
    def topic(self) -> str:
        from phoi_contracts.catalogue import event_class

        return event_class(self.type).TOPIC

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
