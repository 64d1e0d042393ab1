"""Consumer handlers: every event on every topic becomes one audit entry.

- one handler is registered for every type in ``phoi_contracts.catalogue.EVENT_TYPES`` (the kit also
  runs its token revocation for the account types, before this one, in the same transaction);
- a type the catalogue does not know yet (a newer producer) is recorded too: ``on_event`` is also the
  service's fallback handler. An audit log does not drop facts. (Messages that are not envelopes at
  all are dead-lettered by the kit.)

Appends are serialised by the chain-head lock (see ``adapters.entries``), so several partitions,
consumers and replicas can feed one chain. Re-delivered events are skipped by the kit
(``processed_events``) and, should that ever miss one, by the unique event id of the entries.
"""

from __future__ import annotations

from collections.abc import Mapping

from phoi_contracts.catalogue import EVENT_TYPES
from phoi_contracts.envelope import Envelope
from phoi_kit.consumer import Handler
from phoi_kit.uow import UnitOfWork

from phoi_audit.service.recording import record
from phoi_audit.settings import Settings


async def on_event(uow: UnitOfWork, envelope: Envelope) -> None:
    await record(uow.session, envelope)


def handlers(settings: Settings) -> Mapping[str, Handler]:
    """The service's handlers by event type (every service's ``handlers.py`` has this one entry point)."""
    del settings  # nothing here depends on it
    return dict.fromkeys(EVENT_TYPES, on_event)
