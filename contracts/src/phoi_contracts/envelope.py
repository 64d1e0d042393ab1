"""The event envelope: a CloudEvents 1.0 event, in structured mode, whose `data` is the payload.

Every message on the bus is one JSON-serialised `Envelope` (CloudEvents "structured mode": all
attributes in the JSON body). The Kafka key is `subject` (the aggregate id), so all events of one
aggregate land on one partition and stay in order; the relay sets the Kafka ``content-type`` header to
`CONTENT_TYPE`, as the CloudEvents Kafka binding asks of structured mode.

Besides the CloudEvents context attributes (``specversion``, ``id``, ``type``, ``source``, ``time``,
``subject``, ``datacontenttype``) an envelope carries these extension attributes. CloudEvents wants
extension names of lowercase letters and digits and scalar values, so they are flat strings, and one
whose value is unknown is left out rather than sent as ``null``:

- ``correlationid``: id shared by all events of one business flow (e.g. a request's saga);
- ``actorid``: Keycloak user id (the token's ``sub``) of who caused the event;
- ``actorname``: their login name, ``system`` for a system action (a relay, a scheduled job);
- ``actorrole``: the realm role they acted under;
- ``actorunit``: the code of their unit.

In Python the actor is still one object, `Envelope.actor`, and the correlation id
`Envelope.correlation_id`; `Envelope.wrap` and the constructor take ``actor=`` and
``correlation_id=``. Parsing also accepts the envelope as it was before it followed CloudEvents (an
``actor`` object and a ``correlation_id`` attribute), so records still on the log or in an outbox
table keep working; `conformant` re-serialises such a record.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from phoi_contracts import topics

#: Media type of a structured-mode CloudEvent in JSON; the value of the Kafka ``content-type`` header.
CONTENT_TYPE: Final = "application/cloudevents+json; charset=UTF-8"
CONTENT_TYPE_HEADER: Final = "content-type"

#: Extension attribute name -> `Actor` field it carries.
ACTOR_ATTRIBUTES: Final[dict[str, str]] = {
    "actorid": "user_id",
    "actorname": "username",
    "actorrole": "role",
    "actorunit": "unit_code",
}
CORRELATION_ATTRIBUTE: Final = "correlationid"
_ACTOR_NAMES: Final = frozenset(ACTOR_ATTRIBUTES)
#: Attribute names the envelope had before it followed CloudEvents; they are read, never written.
LEGACY_ACTOR: Final = "actor"
LEGACY_CORRELATION: Final = "correlation_id"


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


def _no_default(schema: JsonDict) -> None:
    """Schema hook of an optional extension: absent when unknown, so it has no (null) default."""
    schema.pop("default", None)


def _unknown(value: object) -> bool:
    """An extension attribute whose value is unknown is left out (CloudEvents has no null)."""
    return value is None


def actor_attributes(actor: Actor) -> dict[str, str | None]:
    """The actor as extension attributes (`ACTOR_ATTRIBUTES`); `None` values are left off the wire."""
    return {name: getattr(actor, field) for name, field in ACTOR_ATTRIBUTES.items()}


class Envelope(BaseModel):
    """One event on the bus: a CloudEvents 1.0 event whose `data` is the payload.

    Extension attributes: `correlationid` and the actor's `actorid`, `actorname`, `actorrole` and
    `actorunit`, all strings, left out when unknown. An envelope without any actor attribute is a
    system action. Unknown attributes (extensions a newer producer may add) are ignored, not rejected.
    """

    # CloudEvents attribute names are lowercase letters and digits; the schema says so to other tools.
    model_config = ConfigDict(frozen=True, json_schema_extra={"propertyNames": {"pattern": "^[a-z0-9]+$"}})

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
    correlationid: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        exclude_if=_unknown,
        description="Extension: id shared by all events of one business flow (e.g. a request's saga).",
    )
    actorid: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        exclude_if=_unknown,
        description="Extension: Keycloak user id (the token's `sub`) of who caused the event.",
    )
    actorname: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        exclude_if=_unknown,
        description="Extension: login name of who caused the event, `system` for system actions.",
    )
    actorrole: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        exclude_if=_unknown,
        description="Extension: realm role the action was performed under.",
    )
    actorunit: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        exclude_if=_unknown,
        description="Extension: code of the actor's unit, if any.",
    )
    data: dict[str, Any] = Field(description="The event payload; its schema is given by `type`.")

    @model_validator(mode="before")
    @classmethod
    def _flatten_actor_and_correlation(cls, value: Any) -> Any:
        """Accept ``actor=``/``correlation_id=`` (the Python form, and the legacy wire form)."""
        if not isinstance(value, dict):
            return value
        if LEGACY_ACTOR not in value and LEGACY_CORRELATION not in value and not _ACTOR_NAMES.isdisjoint(value):
            return value  # the current wire form: nothing to do (the consumer's hot path)
        fields = dict(value)
        if LEGACY_CORRELATION in fields:
            legacy = fields.pop(LEGACY_CORRELATION)
            fields.setdefault(CORRELATION_ATTRIBUTE, legacy)
        if LEGACY_ACTOR in fields:
            actor = fields.pop(LEGACY_ACTOR)
            if not isinstance(actor, Actor | dict):
                raise ValueError("actor must be an object")  # pydantic reports a ValueError, not a TypeError
            for name, text in actor_attributes(Actor.model_validate(actor)).items():
                fields.setdefault(name, text)
        elif _ACTOR_NAMES.isdisjoint(fields):  # no actor at all: a system action
            fields["actorname"] = SYSTEM_ACTOR.username
        return fields

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
        fields: dict[str, Any] = {CORRELATION_ATTRIBUTE: correlation_id, **actor_attributes(actor)}
        if event_id is not None:
            fields["id"] = event_id
        if time is not None:
            fields["time"] = time
        return cls(
            type=event.TYPE,
            source=source,
            subject=subject if subject is not None else event.default_subject(),
            data=event.model_dump(mode="json"),
            **fields,
        )

    @property
    def actor(self) -> Actor:
        """Who caused the event, from the ``actor*`` extension attributes."""
        return Actor(user_id=self.actorid, username=self.actorname, role=self.actorrole, unit_code=self.actorunit)

    @property
    def correlation_id(self) -> str | None:
        """The ``correlationid`` extension attribute."""
        return self.correlationid

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


def conformant(raw: bytes) -> bytes:
    """`raw`, unless it is an envelope in the legacy form: then the same event in the current form.

    The legacy form (an ``actor`` object, a ``correlation_id`` attribute) is what outbox rows written
    before the envelope followed CloudEvents hold; the relay passes every row through this. Bytes that
    are not an envelope at all come back unchanged: publishing is not the place to judge them.
    """
    # Fast path: a legacy body always has a top-level "correlation_id" key (it was written even when null).
    if b'"' + LEGACY_CORRELATION.encode() + b'"' not in raw:
        return raw
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or not {LEGACY_ACTOR, LEGACY_CORRELATION} & body.keys():
            return raw
        return Envelope.model_validate(body).to_bytes()
    except ValueError:  # not JSON, or not a valid envelope
        return raw
