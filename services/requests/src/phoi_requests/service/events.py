"""Domain events → contract events in the outbox.

The aggregate collects `RequestEvent`s shaped like the contracts (``request.approved`` + ``data``). Each
becomes the contract model of ``<type>.v1`` (validated: a shape drift fails the transaction, never the
consumers) and is published through the unit of work like every other event, keeping the domain event's
id and time, with the request id as subject and the domain actor as actor. The unit of work writes it
to the outbox in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable

from phoi_contracts.catalogue import event_class
from phoi_contracts.envelope import Actor as EnvelopeActor
from phoi_contracts.envelope import EventData
from phoi_kit.uow import UnitOfWork

from phoi_requests.domain import RequestEvent

CONTRACT_VERSION = "v1"


def to_contract(event: RequestEvent) -> EventData:
    """The contract event of one domain event (``ValidationError`` if the shapes drifted apart)."""
    return event_class(f"{event.type}.{CONTRACT_VERSION}").model_validate(event.data)


def publish(uow: UnitOfWork, events: Iterable[RequestEvent]) -> None:
    """Queue the events on the unit of work (written to the outbox when it commits)."""
    for event in events:
        uow.publish(
            to_contract(event),
            subject=event.request_id,
            actor=EnvelopeActor(**event.actor.to_dict()),
            event_id=event.id,
            time=event.occurred_at,
        )
