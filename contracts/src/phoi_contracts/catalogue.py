"""The catalogue of event types: type string -> payload model, and lookups over it."""

import re
from collections.abc import Iterable
from typing import Final, TypeVar

from phoi_contracts import topics
from phoi_contracts.envelope import Envelope, EventData
from phoi_contracts.events import ALL_EVENTS

E = TypeVar("E", bound=EventData)

TYPE_PATTERN: Final = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*\.v[1-9][0-9]*$")


class UnknownEventType(KeyError):
    """No event model is registered for this type string."""

    def __init__(self, event_type: str) -> None:
        super().__init__(event_type)
        self.event_type = event_type

    def __str__(self) -> str:
        return f"unknown event type {self.event_type!r}; known types are listed in phoi_contracts.catalogue"


def build_registry(classes: Iterable[type[EventData]]) -> dict[str, type[EventData]]:
    """Index event classes by `TYPE`, sorted; `ValueError` on a duplicate or malformed class."""
    registry: dict[str, type[EventData]] = {}
    for cls in classes:
        event_type = cls.__dict__.get("TYPE")
        if not isinstance(event_type, str) or not TYPE_PATTERN.match(event_type):
            raise ValueError(f"{cls.__qualname__}.TYPE must be '<aggregate>.<verb>.v<N>', got {event_type!r}")
        if cls.TOPIC is not None and cls.TOPIC not in topics.ALL:
            raise ValueError(f"{cls.__qualname__}.TOPIC {cls.TOPIC!r} is not one of {topics.ALL}")
        if event_type in registry:
            raise ValueError(
                f"event type {event_type!r} is defined twice: "
                f"{registry[event_type].__qualname__} and {cls.__qualname__}"
            )
        registry[event_type] = cls
    return dict(sorted(registry.items()))


#: Every event type, sorted by type string.
EVENT_TYPES: Final[dict[str, type[EventData]]] = build_registry(ALL_EVENTS)

#: Types no longer published, and the type that replaced each. They stay in the catalogue so that older
#: messages (a replay, the dead-letter topics) and the audit log's entries of those types still parse.
SUPERSEDED: Final[dict[str, str]] = {"stock.movement_recorded.v1": "stock.movement_recorded.v2"}


def event_class(type_str: str) -> type[EventData]:
    """The payload model of `type_str`; `UnknownEventType` if there is none."""
    try:
        return EVENT_TYPES[type_str]
    except KeyError:
        raise UnknownEventType(type_str) from None


def parse_data(envelope: Envelope) -> EventData:
    """Validate `envelope.data` against its model (`UnknownEventType`, `pydantic.ValidationError`)."""
    return event_class(envelope.type).model_validate(envelope.data)


def parse_as(envelope: Envelope, cls: type[E]) -> E:
    """Like `parse_data`, for a consumer that expects one type; `ValueError` if the type differs."""
    if envelope.type != cls.TYPE:
        raise ValueError(f"expected a {cls.TYPE} event, got {envelope.type}")
    return cls.model_validate(envelope.data)


def is_any_producer(cls: type[EventData]) -> bool:
    """True for events every service may publish on its own topic (``TOPIC is None``)."""
    return cls.TOPIC is None


def types_for_topic(topic: str) -> tuple[str, ...]:
    """Sorted event types that can appear on `topic` (or on its dead-letter topic).

    Includes the events any service may publish on its own topic. `ValueError` for an unknown topic.
    """
    base = topic.removesuffix(topics.DLQ_SUFFIX)
    if base not in topics.ALL:
        raise ValueError(f"unknown topic {topic!r}; expected one of {topics.ALL} or their dead-letter topics")
    return tuple(t for t, cls in EVENT_TYPES.items() if cls.TOPIC in (base, None))
