"""Consumer handlers: every event on every topic becomes one audit entry.

The kit calls a handler only for the types it was given and skips the others, so:

- one handler is registered for every type in ``phoi_contracts.catalogue.EVENT_TYPES``;
- the types that also feed the kit's token revocation list (``account.locked`` and friends) get a
  handler doing both — a service's own handler for a type replaces the kit's, and the audit service
  must refuse a locked account's tokens like every other;
- a type the catalogue does not know yet (a newer producer) is recorded too, by the same generic
  handler: ``with_fallback`` makes the consumer's handler table answer every type. An audit log does
  not drop facts. (Messages that are not envelopes at all are dead-lettered by the kit.)

Appends are serialised by the chain-head lock (see ``adapters.entries``), so several partitions,
consumers and replicas can feed one chain. Re-delivered events are skipped by the kit
(``processed_events``) and, should that ever miss one, by the unique event id of the entries.
"""

from __future__ import annotations

from typing import Any

from phoi_contracts.catalogue import EVENT_TYPES
from phoi_contracts.envelope import Envelope
from phoi_kit import revocation
from phoi_kit.consumer import Handler
from phoi_kit.uow import UnitOfWork

from phoi_audit.service.recording import record


async def on_event(uow: UnitOfWork, envelope: Envelope) -> None:
    await record(uow.session, envelope)


def _also_record(kit_handler: Handler) -> Handler:
    async def handle(uow: UnitOfWork, envelope: Envelope) -> None:
        await kit_handler(uow, envelope)
        await record(uow.session, envelope)

    return handle


def handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = dict.fromkeys(EVENT_TYPES, on_event)
    for event_type, kit_handler in revocation.handlers().items():
        table[event_type] = _also_record(kit_handler)
    return table


class _WithFallback(dict[str, Handler]):
    """A handler table that answers every type: known ones as registered, others with ``fallback``.

    The kit looks handlers up with ``in``, ``[]`` and ``.get``; all three answer every type here.
    (A ``fallback_handler`` in ``ServiceSpec`` would make this unnecessary; proposed for the kit.)"""

    def __init__(self, known: dict[str, Handler], fallback: Handler) -> None:
        super().__init__(known)
        self.fallback = fallback

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __missing__(self, key: str) -> Handler:
        return self.fallback

    def get(self, key: str, default: Any = None) -> Handler:
        return self[key]


def with_fallback(known: dict[str, Handler], fallback: Handler = on_event) -> dict[str, Handler]:
    return _WithFallback(known, fallback)
