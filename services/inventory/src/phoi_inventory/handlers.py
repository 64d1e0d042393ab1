"""Consumer handlers: the requests service's approvals, receipts and cancellations (see ``service.saga``).

The kit's consumer skips re-delivered event ids and runs each handler in the transaction that records
the id; the saga is idempotent on the fact as well. A handler that raises is retried, then the event goes
to the dead-letter topic.
"""

from __future__ import annotations

from collections.abc import Mapping

from phoi_contracts.catalogue import parse_as
from phoi_contracts.envelope import Envelope
from phoi_contracts.events.requests import RequestApproved, RequestCancelled, RequestReceiptConfirmed
from phoi_kit.consumer import Handler
from phoi_kit.uow import UnitOfWork

from phoi_inventory.service.saga import Saga
from phoi_inventory.settings import Settings


def handlers(settings: Settings) -> Mapping[str, Handler]:
    """The service's handlers by event type (every service's ``handlers.py`` has this one entry point)."""

    async def on_request_approved(uow: UnitOfWork, envelope: Envelope) -> None:
        event = parse_as(envelope, RequestApproved)
        await Saga(uow, settings).approve(event, event_id=envelope.id, approved_at=envelope.time)

    async def on_request_receipt_confirmed(uow: UnitOfWork, envelope: Envelope) -> None:
        await Saga(uow, settings).receive(parse_as(envelope, RequestReceiptConfirmed), envelope)

    async def on_request_cancelled(uow: UnitOfWork, envelope: Envelope) -> None:
        await Saga(uow, settings).cancel(parse_as(envelope, RequestCancelled), event_id=envelope.id)

    return {
        RequestApproved.TYPE: on_request_approved,
        RequestReceiptConfirmed.TYPE: on_request_receipt_confirmed,
        RequestCancelled.TYPE: on_request_cancelled,
    }
