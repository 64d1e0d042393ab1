"""Consumer handlers: inventory's allocation outcomes and the replicas of form types and units.

The kit's consumer skips re-delivered event ids and runs each handler in the transaction that records
the id. Logical repeats (the same fact in a new envelope) and late arrivals are harmless: outcomes are
ordered by the domain, replica rows by the envelope time (`as_of`).
"""

from __future__ import annotations

from collections.abc import Mapping

from phoi_contracts.catalogue import parse_as
from phoi_contracts.envelope import Envelope
from phoi_contracts.events.identity import UnitCreated, UnitDeactivated, UnitReactivated, UnitUpdated
from phoi_contracts.events.inventory import (
    AllocationCompleted,
    AllocationWaitingForStock,
    FormTypeCreated,
    FormTypeUpdated,
)
from phoi_kit.consumer import Handler
from phoi_kit.uow import UnitOfWork

from phoi_requests.adapters.replicas import FormType, FormTypeReplica, UnitReplica
from phoi_requests.service.outcomes import apply_allocation, apply_waiting_for_stock
from phoi_requests.settings import Settings


async def on_allocation_completed(uow: UnitOfWork, envelope: Envelope) -> None:
    await apply_allocation(uow, parse_as(envelope, AllocationCompleted), as_of=envelope.time)


async def on_allocation_waiting_for_stock(uow: UnitOfWork, envelope: Envelope) -> None:
    await apply_waiting_for_stock(uow, parse_as(envelope, AllocationWaitingForStock), as_of=envelope.time)


async def on_form_type(uow: UnitOfWork, envelope: Envelope) -> None:
    cls = FormTypeCreated if envelope.type == FormTypeCreated.TYPE else FormTypeUpdated
    event = parse_as(envelope, cls)
    form_type = FormType(
        form_type_id=event.form_type_id,
        code=event.code,
        name_vi=event.name,  # the event's `name` is inventory's `name_vi`
        name_en=event.name_en,
        serial_prefix=event.serial_prefix,
        digits=event.digits,
        template_version=event.template_version,
        active=event.active,
    )
    await FormTypeReplica(uow.session).apply(form_type, as_of=envelope.time)


async def on_unit_details(uow: UnitOfWork, envelope: Envelope) -> None:
    cls = UnitCreated if envelope.type == UnitCreated.TYPE else UnitUpdated
    event = parse_as(envelope, cls)
    await UnitReplica(uow.session).apply_details(
        unit_id=event.unit_id,
        code=event.code,
        name=event.name,
        kind=event.kind.value,
        parent_code=event.parent_code,
        province=event.province,
        as_of=envelope.time,
    )


async def on_unit_deactivated(uow: UnitOfWork, envelope: Envelope) -> None:
    event = parse_as(envelope, UnitDeactivated)
    await UnitReplica(uow.session).apply_status(
        unit_id=event.unit_id, code=event.code, active=False, as_of=envelope.time
    )


async def on_unit_reactivated(uow: UnitOfWork, envelope: Envelope) -> None:
    event = parse_as(envelope, UnitReactivated)
    await UnitReplica(uow.session).apply_status(
        unit_id=event.unit_id, code=event.code, active=True, as_of=envelope.time
    )


def handlers(settings: Settings) -> Mapping[str, Handler]:
    """The service's handlers by event type (every service's ``handlers.py`` has this one entry point)."""
    del settings  # nothing here depends on it
    return {
        AllocationCompleted.TYPE: on_allocation_completed,
        AllocationWaitingForStock.TYPE: on_allocation_waiting_for_stock,
        FormTypeCreated.TYPE: on_form_type,
        FormTypeUpdated.TYPE: on_form_type,
        UnitCreated.TYPE: on_unit_details,
        UnitUpdated.TYPE: on_unit_details,
        UnitDeactivated.TYPE: on_unit_deactivated,
        UnitReactivated.TYPE: on_unit_reactivated,
    }
