"""Who does an operation, when, and under which operation id (written on every ledger line)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from phoi_inventory.domain.states import ActorRole

__all__ = ["Actor", "OperationContext"]


@dataclass(frozen=True, slots=True)
class Actor:
    """``user_id`` is the account id (Keycloak ``sub``) or a service name for ``SYSTEM``.
    A ``UNIT`` actor always carries its ``unit_code`` and only ever acts on that unit's blanks."""

    user_id: str
    role: ActorRole
    unit_code: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("actor.user_id is required")
        if self.role is ActorRole.UNIT and not self.unit_code:
            raise ValueError("a unit actor carries its unit_code")


@dataclass(frozen=True, slots=True)
class OperationContext:
    """The domain never reads a clock or generates ids: the caller passes ``at`` (timezone-aware) and
    ``operation_id`` (e.g. the command's or the consumed event's id, so a retried operation is traceable).
    """

    actor: Actor
    at: datetime
    operation_id: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("OperationContext.at must be timezone-aware")
        if not self.operation_id:
            raise ValueError("operation_id is required")
