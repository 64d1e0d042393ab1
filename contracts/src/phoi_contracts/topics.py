"""Topic names: one per producing service, each with a dead-letter topic.

A service publishes only on its own topic. The CloudEvents ``source`` of its envelopes is
``/phoi/<service>`` (see `SOURCES`), which is how events that any service may publish (for example
``security.access_denied.v1``) find their topic: `topic_for_source`.
"""

from typing import Final

IDENTITY: Final = "phoi.identity"
REQUESTS: Final = "phoi.requests"
INVENTORY: Final = "phoi.inventory"
AUDIT: Final = "phoi.audit"

ALL: Final = (IDENTITY, REQUESTS, INVENTORY, AUDIT)

DLQ_SUFFIX: Final = ".dlq"

#: The CloudEvents ``source`` each producing service puts in its envelopes, by topic.
SOURCES: Final[dict[str, str]] = {
    IDENTITY: "/phoi/identity",
    REQUESTS: "/phoi/requests",
    INVENTORY: "/phoi/inventory",
    AUDIT: "/phoi/audit",
}

# Kafka record headers a consumer adds when it moves a record to a dead-letter topic. Key and value of
# the record are copied unchanged; header values are UTF-8 text.
DLQ_HEADER_ERROR: Final = "error"
DLQ_HEADER_ERROR_TYPE: Final = "error_type"
DLQ_HEADER_ORIGINAL_TOPIC: Final = "original_topic"
DLQ_HEADER_ORIGINAL_PARTITION: Final = "original_partition"
DLQ_HEADER_ORIGINAL_OFFSET: Final = "original_offset"
DLQ_HEADER_CONSUMER_GROUP: Final = "consumer_group"
DLQ_HEADER_ATTEMPTS: Final = "attempts"


def dead_letter(topic: str) -> str:
    """The dead-letter topic for messages a consumer of `topic` could not process after retries."""
    return f"{topic}{DLQ_SUFFIX}"


def is_dead_letter(topic: str) -> bool:
    """True for a dead-letter topic name such as ``phoi.requests.dlq``."""
    return topic.endswith(DLQ_SUFFIX)


def topic_for_source(source: str) -> str:
    """The topic of the service whose envelopes carry `source`; `ValueError` for an unknown source."""
    for topic, known in SOURCES.items():
        if known == source:
            return topic
    raise ValueError(f"unknown event source {source!r}; expected one of {sorted(SOURCES.values())}")


def source_for(topic: str) -> str:
    """The CloudEvents ``source`` of the service that produces `topic`; `ValueError` if unknown."""
    try:
        return SOURCES[topic]
    except KeyError:
        raise ValueError(f"unknown topic {topic!r}; expected one of {list(ALL)}") from None
