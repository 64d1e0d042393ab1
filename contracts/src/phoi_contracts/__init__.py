"""phoi_contracts: the event envelope, the versioned event models and the topic names."""

from phoi_contracts import topics
from phoi_contracts.catalogue import (
    EVENT_TYPES,
    UnknownEventType,
    event_class,
    parse_as,
    parse_data,
    types_for_topic,
)
from phoi_contracts.envelope import SYSTEM_ACTOR, Actor, Envelope, EventData

__version__ = "0.1.0"

__all__ = [
    "EVENT_TYPES",
    "SYSTEM_ACTOR",
    "Actor",
    "Envelope",
    "EventData",
    "UnknownEventType",
    "__version__",
    "event_class",
    "parse_as",
    "parse_data",
    "topics",
    "types_for_topic",
]
