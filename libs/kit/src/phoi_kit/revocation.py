"""Feeding the revocation list from identity's events.

`account.locked`, `account.disabled`, `account.handed_over` and `account.password_reset` carry
`tokens_not_before`: refuse this user's tokens issued before then. The row
is written in the consumer's transaction; the table's trigger NOTIFYs every replica, which reloads.
The after-commit hook also updates this process at once, without waiting for the round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from phoi_contracts.envelope import Envelope
from phoi_contracts.events.identity import (
    AccountDisabled,
    AccountHandedOver,
    AccountLocked,
    AccountPasswordReset,
)
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from phoi_kit.auth import RevocationList, token_revocations
from phoi_kit.consumer import AfterCommit, Handler
from phoi_kit.uow import UnitOfWork

REVOKING_TYPES = {
    AccountLocked.TYPE: "locked",
    AccountDisabled.TYPE: "disabled",
    AccountHandedOver.TYPE: "handed_over",
    AccountPasswordReset.TYPE: "password_reset",
}


def _parse(envelope: Envelope) -> tuple[str, datetime]:
    data = envelope.data
    return str(data["user_id"]), datetime.fromisoformat(str(data["tokens_not_before"]))


async def _revoke(uow: UnitOfWork, envelope: Envelope) -> None:
    user_id, not_before = _parse(envelope)
    stmt = pg_insert(token_revocations).values(
        user_id=user_id, not_before=not_before, reason=REVOKING_TYPES[envelope.type]
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "not_before": func.greatest(token_revocations.c.not_before, stmt.excluded.not_before),
                "reason": stmt.excluded.reason,
            },
        )
    )


def handlers() -> dict[str, Handler]:
    return dict.fromkeys(REVOKING_TYPES, _revoke)


def after_commit(revocations: RevocationList) -> dict[str, AfterCommit]:
    def _apply(envelope: Envelope) -> Awaitable[None] | None:
        revocations.revoke_locally(*_parse(envelope))
        return None

    return dict.fromkeys(REVOKING_TYPES, _apply)
