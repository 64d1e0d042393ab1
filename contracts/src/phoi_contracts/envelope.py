"""The event envelope: CloudEvents 1.0 attributes plus the actor and correlation id.

Every message on the bus is one JSON-serialised `Envelope` (CloudEvents "structured mode": all
attributes in the JSON body, no Kafka headers needed). The Kafka key is `subject` (the aggregate id),
so all events of one aggregate land on one partition and stay in order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from phoi_contracts import topics


class Actor(BaseModel):
    """Who caused the event. `None` fields mean a system action (a relay, a scheduled job)."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = Field(default=None, description="Keycloak user id (the token's `sub`).")
    username: str | None = Field(default=None, description="Login name, or `system` for system actions.")
    role: str | None = Field(default=None, description="Realm role the action was performed under.")
    unit_code: str | None = Field(default=None, description="Code of the actor's unit, if any.")


SYSTEM_ACTOR = Actor(username="system")


class EventData(BaseModel):
    """Base of every event payload.

    Subclasses set `TYPE` (``<aggregate>.<verb>.v<N>``), `TOPIC` and `SUBJECT_FIELD`:

    - `TOPIC` is the topic the event is published on. `None` means "the producing service's own
      topic": such an event (``security.access_denied.v1``, ``data.exported.v1``) may be published by
      any service, and its topic is derived from the envelope's ``source`` (`topics.SOURCES`).
    - `SUBJECT_FIELD` names the field holding the aggregate id, the default envelope subject and
      Kafka key; classes without a single such field override `default_subject`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str | None]
    SUBJECT_FIELD: ClassVar[str | None] = None

    def default_subject(self) -> str:
        """The envelope subject (Kafka key) used when `Envelope.wrap` is not given one."""
        if self.SUBJECT_FIELD is None:
            raise TypeError(f"{type(self).__name__} has no SUBJECT_FIELD; pass subject= explicitly")
        return str(getattr(self, self.SUBJECT_FIELD))

    @classmethod
    def topic_for(cls, source: str) -> str:
        """The topic this event goes to when published by `source`; `ValueError` if that is unknown."""
        if cls.TOPIC is None:
            return topics.topic_for_source(source)
        return cls.TOPIC


class Envelope(BaseModel):
    """One event on the bus: CloudEvents 1.0 attributes, the actor, the correlation id and the data.

    Unknown attributes (CloudEvents extensions a newer producer may add) are ignored, not rejected.
    """

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents specification version.")
    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique event id; the dedup key.")
    type: str = Field(
        min_length=1,
        pattern=r"^[a-z][a-z_]*\.[a-z][a-z_]*\.v[1-9][0-9]*$",
        description="Versioned event type, e.g. request.approved.v1",
    )
    source: str = Field(min_length=1, description="Producing service, e.g. /phoi/requests")
    time: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When the event happened (with time zone)."
    )
    subject: str = Field(min_length=1, description="Aggregate id; also the Kafka message key")
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Media type of `data`."
    )
    actor: Actor = Field(default=SYSTEM_ACTOR, description="Who caused the event.")
    correlation_id: str | None = Field(
        default=None, description="Id shared by all events of one business flow (e.g. a request's saga)."
    )
    data: dict[str, Any] = Field(description="The event payload; its schema is given by `type`.")

    @classmethod
    def wrap(
        cls,
        event: EventData,
        *,
        source: str,
        subject: str | None = None,
        actor: Actor = SYSTEM_ACTOR,
        correlation_id: str | None = None,
        event_id: uuid.UUID | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Put `event` in an envelope.

        `subject` defaults to `event.default_subject()`. `event_id` and `time` default to a new
        UUID and now; pass them to derive a stable id (e.g. ``uuid5`` of an upstream event id).
        """
        fields: dict[str, Any] = {}
        if event_id is not None:
            fields["id"] = event_id
        if time is not None:
            fields["time"] = time
        return cls(
            type=event.TYPE,
            source=source,
            subject=subject if subject is not None else event.default_subject(),
            actor=actor,
            correlation_id=correlation_id,
            data=event.model_dump(mode="json"),
            **fields,
        )

    @property
    def topic(self) -> str:
        """The topic this envelope goes to: the type's `TOPIC`, else the topic of `source`.

        `UnknownEventType` for a type not in the catalogue; `ValueError` for an event without a fixed
        topic whose source is not one of `topics.SOURCES` (pass the topic explicitly then).
        """
        from phoi_contracts.catalogue import event_class

        return event_class(self.type).topic_for(self.source)

    @property
    def key(self) -> bytes:
        """The Kafka message key: the UTF-8 encoded subject."""
        return self.subject.encode()

    def to_bytes(self) -> bytes:
        """The JSON bytes published as the Kafka message value."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """Parse a Kafka message value; `pydantic.ValidationError` if it is not a valid envelope."""
        return cls.model_validate_json(raw)
