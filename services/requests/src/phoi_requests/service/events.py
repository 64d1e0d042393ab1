"""Domain events → contract events in the outbox.

The aggregate collects `RequestEvent`s shaped like the contracts (``request.approved`` + ``data``). Each
becomes the contract model of ``<type>.v1`` (validated: a shape drift fails the transaction, never the
consumers), wrapped in an envelope whose id and time are the domain event's, whose subject is the request
id and whose actor is the domain actor. They are queued on the unit of work, which writes them to the
outbox in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable

from phoi_contracts.catalogue import event_class
from phoi_contracts.envelope import Actor as EnvelopeActor
from phoi_contracts.envelope import Envelope
from phoi_kit.uow import UnitOfWork

from phoi_requests.domain import RequestEvent

CONTRACT_VERSION = "v1"


def to_envelope(event: RequestEvent, *, source: str, correlation_id: str | None) -> tuple[str, Envelope]:
    """The topic and envelope of one domain event."""
    model = event_class(f"{event.type}.{CONTRACT_VERSION}")
    data = model.model_validate(event.data)
    envelope = Envelope.wrap(
        data,
        source=source,
        subject=str(event.request_id),
        actor=EnvelopeActor(**event.actor.to_dict()),
        correlation_id=correlation_id,
        event_id=event.id,
        time=event.occurred_at,
    )
    return model.topic_for(source), envelope


def publish(uow: UnitOfWork, events: Iterable[RequestEvent]) -> None:
    """Queue the events on the unit of work (written to the outbox when it commits).

    `UnitOfWork.publish` builds a fresh envelope (new id, now, the caller's actor); the domain event
    already fixed its id and time, so the envelope is queued as built."""
    for event in events:
        uow.pending.append(to_envelope(event, source=uow.source, correlation_id=uow.correlation_id))
