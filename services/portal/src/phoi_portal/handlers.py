"""Identity's account events end the account's portal sessions (within seconds, not at token expiry).

The kit's revocation handlers run first in the same transaction (they refuse the old tokens in every
service); these delete the session rows, so the next page the browser asks for is the sign-in page.
"""

from __future__ import annotations

from phoi_contracts.envelope import Envelope
from phoi_contracts.events.identity import AccountDisabled, AccountHandedOver, AccountLocked, AccountPasswordReset
from phoi_kit.consumer import Handler
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_portal.adapters.sessions import SessionRepository
from phoi_portal.settings import Settings

log = get_logger(__name__)

ENDING = (AccountLocked.TYPE, AccountDisabled.TYPE, AccountHandedOver.TYPE, AccountPasswordReset.TYPE)


async def end_sessions(uow: UnitOfWork, envelope: Envelope) -> None:
    user_id = str(envelope.data["user_id"])
    ended = await SessionRepository(uow.session).remove_for_user(user_id)
    log.info("portal sessions ended", user_id=user_id, count=ended, event_type=envelope.type)


def handlers(settings: Settings) -> dict[str, Handler]:
    return dict.fromkeys(ENDING, end_sessions)
