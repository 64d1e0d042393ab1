"""Topic names: one per producing service, each with a dead-letter topic."""

from typing import Final

IDENTITY: Final = "phoi.identity"
REQUESTS: Final = "phoi.requests"
INVENTORY: Final = "phoi.inventory"
AUDIT: Final = "phoi.audit"

ALL: Final = (IDENTITY, REQUESTS, INVENTORY, AUDIT)


def dead_letter(topic: str) -> str:
    """The dead-letter topic for messages a consumer of `topic` could not process after retries."""
    return f"{topic}.dlq"
