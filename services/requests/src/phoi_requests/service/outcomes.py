"""Inventory's answers to an approval, applied to the request (the requests side of the issuance saga).

`allocation.completed` → ``mark_allocated`` (the ranges become visible on the request);
`allocation.waiting_for_stock` → ``mark_waiting_for_stock`` (the shortfall per line is shown).

Ordering and repetition are the domain's business: an outcome carries ``as_of`` = the inventory event's
envelope time and its ``approval_revision``; an exact repeat is DUPLICATE, an older one STALE, and
neither changes anything. A DUPLICATE/STALE outcome is logged and acknowledged.

An outcome that cannot be right — for a request we do not know, for another unit, naming lines or
form types the request does not have, ranges not matching the approved quantities, a different
allocation after the unit confirmed receipt, an allocation while the request is not approved — raises:
the consumer retries it, then moves it to the dead-letter topic, where it is visible to operators
instead of silently dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from phoi_contracts.events.inventory import AllocationCompleted, AllocationWaitingForStock
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_requests.adapters.requests import RequestRepository
from phoi_requests.domain import AllocationMismatch, OutcomeResult, Request, SerialRange

log = get_logger(__name__)


class UnknownRequest(LookupError):
    """Inventory answered for a request this service does not hold."""


async def _load(repo: RequestRepository, request_id: uuid.UUID, unit_code: str) -> Request:
    request = await repo.get(request_id, for_update=True)
    if request is None:
        raise UnknownRequest(f"inventory answered for unknown request {request_id}")
    if request.unit_code != unit_code:
        raise AllocationMismatch(
            f"request {request_id} belongs to {request.unit_code}, inventory answered for {unit_code}",
            field="unit_code",
        )
    return request


def _check_form_types(request: Request, lines: dict[uuid.UUID, str]) -> None:
    codes = {line.id: line.form_type_code for line in request.lines}
    for line_id, code in lines.items():
        if line_id in codes and codes[line_id] != code:
            raise AllocationMismatch(
                f"line {line_id} is for {codes[line_id]}, inventory answered for {code}", field="form_type_code"
            )


async def apply_allocation(uow: UnitOfWork, event: AllocationCompleted, *, as_of: datetime) -> OutcomeResult:
    def outcome(request: Request) -> OutcomeResult:
        ranges = {line.line_id: [SerialRange(r.first, r.last) for r in line.ranges] for line in event.lines}
        return request.mark_allocated(
            event.allocation_id, ranges, as_of=as_of, approval_revision=event.approval_revision
        )

    return await _apply(uow, event, outcome, "allocation outcome", allocation_id=str(event.allocation_id))


async def apply_waiting_for_stock(
    uow: UnitOfWork, event: AllocationWaitingForStock, *, as_of: datetime
) -> OutcomeResult:
    def outcome(request: Request) -> OutcomeResult:
        shortfall = {line.line_id: line.shortfall_quantity for line in event.lines}
        return request.mark_waiting_for_stock(shortfall, as_of=as_of, approval_revision=event.approval_revision)

    return await _apply(uow, event, outcome, "waiting-for-stock outcome")


async def _apply(
    uow: UnitOfWork,
    event: AllocationCompleted | AllocationWaitingForStock,
    outcome: Callable[[Request], OutcomeResult],
    message: str,
    **log_fields: str,
) -> OutcomeResult:
    """Load the request (locked), check the answer is for it, apply ``outcome``, save what changed, log."""
    repo = RequestRepository(uow.session)
    request = await _load(repo, event.request_id, event.unit_code)
    _check_form_types(request, {line.line_id: line.form_type_code for line in event.lines})
    loaded = request.version
    result = outcome(request)
    if result is OutcomeResult.APPLIED:
        await repo.save(request, loaded_version=loaded)
    log.info(message, request_id=str(event.request_id), **log_fields, result=result.value, status=request.status.value)
    return result
