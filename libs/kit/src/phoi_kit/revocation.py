"""Feeding the revocation list from identity's events.

- `account.locked` and `account.disabled`: refuse every token of the user until `account.unlocked`
  (even one Keycloak issued after the lock, should Keycloak not have been told yet), and for good
  every token issued before `tokens_not_before`.
- `account.handed_over` and `account.password_reset`: refuse tokens issued before `tokens_not_before`
  (the old holder's sessions).
- `account.unlocked`: lift the lock; tokens from before it stay refused.

Token `iat` has whole seconds, so a token issued in the same second as the event is refused too: the
holder signs in again. Rows are written in the consumer's transaction; the table's trigger NOTIFYs
every replica, which reloads. The after-commit hook updates this process at once.
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
    AccountUnlocked,
)
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from phoi_kit.auth import RevocationList, token_revocations
from phoi_kit.consumer import AfterCommit, Handler
from phoi_kit.uow import UnitOfWork

LOCKING = {AccountLocked.TYPE: "locked", AccountDisabled.TYPE: "disabled"}
ENDING_SESSIONS = {AccountHandedOver.TYPE: "handed_over", AccountPasswordReset.TYPE: "password_reset"}


def _parse(envelope: Envelope) -> tuple[str, datetime]:
    data = envelope.data
    return str(data["user_id"]), datetime.fromisoformat(str(data["tokens_not_before"]))


async def _revoke(uow: UnitOfWork, envelope: Envelope) -> None:
    user_id, not_before = _parse(envelope)
    locks = envelope.type in LOCKING
    stmt = pg_insert(token_revocations).values(
        user_id=user_id,
        not_before=not_before,
        reason=LOCKING.get(envelope.type) or ENDING_SESSIONS[envelope.type],
        locked=locks,
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "not_before": func.greatest(token_revocations.c.not_before, stmt.excluded.not_before),
                "reason": stmt.excluded.reason,
                # A handover does not lift a lock.
                "locked": token_revocations.c.locked | stmt.excluded.locked,
            },
        )
    )


async def _unlock(uow: UnitOfWork, envelope: Envelope) -> None:
    await uow.session.execute(
        update(token_revocations)
        .where(token_revocations.c.user_id == str(envelope.data["user_id"]))
        .values(locked=False, reason="unlocked")
    )


def handlers() -> dict[str, Handler]:
    return {**dict.fromkeys([*LOCKING, *ENDING_SESSIONS], _revoke), AccountUnlocked.TYPE: _unlock}


def after_commit(revocations: RevocationList) -> dict[str, AfterCommit]:
    def _apply(envelope: Envelope) -> Awaitable[None] | None:
        if envelope.type == AccountUnlocked.TYPE:
            revocations.unlock_locally(str(envelope.data["user_id"]))
        else:
            user_id, not_before = _parse(envelope)
            revocations.revoke_locally(user_id, not_before, lock=envelope.type in LOCKING)
        return None

    return {t: _apply for t in handlers()}
