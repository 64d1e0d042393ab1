"""The commands inventory's answers drive: waiting for stock, allocated (applied by the service's
consumer, actor = system). Mixed into the ``Request`` aggregate (``request.py``), whose fields they change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from phoi_requests.domain.errors import ActionForbidden, AllocationConflict, AllocationMismatch, IllegalTransition
from phoi_requests.domain.line_rules import check_ranges, check_shortfall
from phoi_requests.domain.model import (
    SYSTEM_ACTOR,
    Action,
    Actor,
    OutcomeResult,
    Party,
    RequestLine,
    SerialRange,
    Status,
    is_int,
    now_or,
    utc,
)
from phoi_requests.domain.transitions import Rule, rule_for


class InventoryOutcomes:
    """Ordering rule. Every outcome carries ``as_of`` = when inventory decided it (the inventory event's
    envelope ``time``, written in inventory's own transaction) and optionally the ``approval_revision`` it
    answers. Outcomes are ordered by (approval_revision, as_of): the aggregate keeps the newest applied
    ``as_of`` in ``outcome_as_of`` and ignores (STALE) any outcome for an older approval revision or with
    ``as_of`` not after it, so the final state is that of inventory's newest decision whatever the arrival
    order (a waiting_for_stock that arrives after the allocation it preceded is stale). An exact repeat is a
    DUPLICATE. Once the unit confirmed receipt, waiting_for_stock is always stale and a different, newer
    allocation is an ``AllocationConflict``.
    """

    # The aggregate's fields and methods these commands use (``Request`` defines them).
    status: Status
    lines: tuple[RequestLine, ...]
    approval_revision: int
    allocation_id: uuid.UUID | None
    outcome_as_of: datetime | None

    def party_of(self, actor: Actor) -> Party | None:
        raise NotImplementedError  # pragma: no cover - the aggregate's

    def _record(self, action: Action, to: Status, actor: Actor, when: datetime, comment: str | None) -> None:
        raise NotImplementedError  # pragma: no cover - the aggregate's

    def mark_waiting_for_stock(
        self,
        shortfall: Mapping[uuid.UUID, int],
        *,
        as_of: datetime,
        approval_revision: int | None = None,
        actor: Actor = SYSTEM_ACTOR,
        at: datetime | None = None,
    ) -> OutcomeResult:
        """Inventory could not allocate: ``shortfall`` per line (lines absent → 0; at least one > 0)."""
        action = Action.MARK_WAITING_FOR_STOCK
        self._require_system(actor, action)
        decided = utc(as_of)
        if self.status in (Status.RECEIVED, Status.CLOSED):
            return OutcomeResult.STALE
        rule = rule_for(self.status, action)
        if rule is None:
            raise IllegalTransition(self.status.value, action.value)
        if self._revision_is_stale(approval_revision):
            return OutcomeResult.STALE
        wanted = check_shortfall(self.lines, shortfall)
        if self.outcome_as_of is not None:
            if decided < self.outcome_as_of:
                return OutcomeResult.STALE
            if decided == self.outcome_as_of:
                same = self.status is Status.WAITING_FOR_STOCK and all(
                    line.shortfall == wanted.get(line.id) for line in self.lines
                )
                return OutcomeResult.DUPLICATE if same else OutcomeResult.STALE
        when = now_or(at)
        self.lines = tuple(replace(line, shortfall=wanted.get(line.id), allocated_ranges=()) for line in self.lines)
        self.allocation_id = None
        self.outcome_as_of = decided
        self._apply(rule, action, actor, when, f"shortfall {sum(wanted.values())}")
        return OutcomeResult.APPLIED

    def mark_allocated(
        self,
        allocation_id: uuid.UUID,
        ranges: Mapping[uuid.UUID, Sequence[SerialRange]],
        *,
        as_of: datetime,
        approval_revision: int | None = None,
        actor: Actor = SYSTEM_ACTOR,
        at: datetime | None = None,
    ) -> OutcomeResult:
        """Inventory allocated ``ranges`` per line; each line's ranges total exactly its approved quantity.

        Lines approved at 0 have no ranges (absent or empty). The same ``allocation_id`` again is a
        DUPLICATE (an ``AllocationMismatch`` if its ranges differ); an outcome older than the newest
        applied one is STALE; a newer, different allocation replaces the current one (allocated →
        allocated).
        """
        action = Action.MARK_ALLOCATED
        self._require_system(actor, action)
        decided = utc(as_of)
        if self.allocation_id is not None and allocation_id == self.allocation_id:
            if check_ranges(self.lines, ranges) != {line.id: line.allocated_ranges for line in self.lines}:
                raise AllocationMismatch(
                    f"allocation {allocation_id} was already recorded with different ranges", field="ranges"
                )
            return OutcomeResult.DUPLICATE
        stale = self._revision_is_stale(approval_revision) or (
            self.outcome_as_of is not None and decided <= self.outcome_as_of
        )
        if self.status in (Status.RECEIVED, Status.CLOSED):
            if stale:
                return OutcomeResult.STALE
            raise AllocationConflict(self.status.value, self.allocation_id, allocation_id)
        rule = rule_for(self.status, action)
        if rule is None:
            raise IllegalTransition(self.status.value, action.value)
        if stale:
            return OutcomeResult.STALE
        normalised = check_ranges(self.lines, ranges)
        when = now_or(at)
        self.lines = tuple(replace(line, allocated_ranges=normalised[line.id], shortfall=None) for line in self.lines)
        self.allocation_id = allocation_id
        self.outcome_as_of = decided
        self._apply(rule, action, actor, when, f"allocation {allocation_id}")
        return OutcomeResult.APPLIED

    def _require_system(self, actor: Actor, action: Action) -> None:
        if self.party_of(actor) is not Party.SYSTEM:
            raise ActionForbidden(action.value, actor.role_name)

    def _revision_is_stale(self, approval_revision: int | None) -> bool:
        if approval_revision is None:
            return False
        if not is_int(approval_revision) or approval_revision < 1:
            raise AllocationMismatch("approval_revision must be a positive integer", field="approval_revision")
        if approval_revision > self.approval_revision:
            raise AllocationMismatch(
                f"outcome for approval revision {approval_revision}, but the request is at revision "
                f"{self.approval_revision}",
                field="approval_revision",
            )
        return approval_revision < self.approval_revision

    def _apply(self, rule: Rule, action: Action, actor: Actor, when: datetime, comment: str | None) -> None:
        self._record(action, rule.to, actor, when, comment)
