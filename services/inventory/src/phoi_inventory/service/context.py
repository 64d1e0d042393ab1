"""Who acts, when, under which operation id: the domain's ``OperationContext`` from a token or an event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from phoi_kit.auth import CurrentUser, Role

from phoi_inventory.domain import Actor, ActorRole, OperationContext

SYSTEM_USER = "inventory"
#: Namespace of the ids derived from other ids (allocation per request revision, operations per event).
NAMESPACE = uuid.UUID("5d0c7f4e-2b0e-4f7a-8a53-6c1b0f0e4a21")


def now() -> datetime:
    return datetime.now(UTC)


def derived_id(*parts: object) -> uuid.UUID:
    """A stable id from other ids: the same inputs always give the same id (idempotent re-runs)."""
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def system_context(operation_id: uuid.UUID, at: datetime | None = None) -> OperationContext:
    return OperationContext(Actor(SYSTEM_USER, ActorRole.SYSTEM), at or now(), str(operation_id))


def stock_actor(user: CurrentUser) -> Actor:
    """The domain actor for a token that may move blanks (the kit's `CurrentUser.act_as` picks the role): a
    unit account acts on its unit's blanks, a QLCL officer on QLCL's custody. Anyone else: 403 ``role_required``."""
    if user.act_as(Role.UNIT_ACCOUNT, Role.QLCL_OFFICER) is Role.UNIT_ACCOUNT:
        return Actor(user.user_id, ActorRole.UNIT, user.unit_code)
    return Actor(user.user_id, ActorRole.QLCL)


def user_context(user: CurrentUser, operation_id: uuid.UUID | None = None) -> OperationContext:
    return OperationContext(stock_actor(user), now(), str(operation_id or uuid.uuid4()))
