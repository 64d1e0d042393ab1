"""Feeding the revocation list from identity's events.

`account.locked` and `account.handed_over` say: refuse this user's tokens issued before now. The row
is written in the consumer's transaction; the table's trigger NOTIFYs every replica, which reloads.
The after-commit hook also updates this process at once, without waiting for the round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from phoi_contracts.envelope import Envelope
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from phoi_kit.auth import RevocationList, token_revocations
from phoi_kit.consumer import AfterCommit, Handler
from phoi_kit.uow import UnitOfWork

REVOKING_TYPES = {"account.locked.v1": "locked", "account.handed_over.v1": "handed_over"}


def _user_id(envelope: Envelope) -> str:
    return str(envelope.data["keycloak_user_id"])


async def _revoke(uow: UnitOfWork, envelope: Envelope) -> None:
    stmt = pg_insert(token_revocations).values(
        user_id=_user_id(envelope), not_before=envelope.time, reason=REVOKING_TYPES[envelope.type]
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
        at: datetime = envelope.time
        revocations.revoke_locally(_user_id(envelope), at)
        return None

    return dict.fromkeys(REVOKING_TYPES, _apply)
