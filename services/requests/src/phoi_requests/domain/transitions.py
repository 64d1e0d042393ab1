"""The request state machine as data: ``(status, action) -> (new status, who may do it)``.

Main path::

    draft -> submitted -> approved -> [waiting_for_stock <-> allocated] -> allocated -> received -> closed

Side paths: submitted -> returned -> submitted (any number of times); submitted -> rejected;
draft / submitted / returned -> cancelled (by the unit); approved -> allocated directly.

Self-loops are real transitions (recorded in history, version bumped): ``edit`` in draft/returned,
``mark_waiting_for_stock`` in waiting_for_stock (shortfall changed), ``mark_allocated`` in allocated
(a newer, different allocation replaced the old one).

``rejected``, ``cancelled`` and ``closed`` are terminal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from phoi_requests.domain.model import Action, Party, Status

OWNER = frozenset({Party.OWNER_UNIT})
OFFICER = frozenset({Party.QLCL_OFFICER})
SYSTEM = frozenset({Party.SYSTEM})


@dataclass(frozen=True, slots=True)
class Rule:
    to: Status
    parties: frozenset[Party]


S, A = Status, Action

TRANSITIONS: Mapping[tuple[Status, Action], Rule] = MappingProxyType(
    {
        # the unit drafts, edits, submits, resubmits and may cancel before a decision
        (S.DRAFT, A.EDIT): Rule(S.DRAFT, OWNER),
        (S.RETURNED, A.EDIT): Rule(S.RETURNED, OWNER),
        (S.DRAFT, A.SUBMIT): Rule(S.SUBMITTED, OWNER),
        (S.RETURNED, A.SUBMIT): Rule(S.SUBMITTED, OWNER),
        (S.DRAFT, A.CANCEL): Rule(S.CANCELLED, OWNER),
        (S.SUBMITTED, A.CANCEL): Rule(S.CANCELLED, OWNER),
        (S.RETURNED, A.CANCEL): Rule(S.CANCELLED, OWNER),
        # QLCL reviews
        (S.SUBMITTED, A.RETURN): Rule(S.RETURNED, OFFICER),
        (S.SUBMITTED, A.APPROVE): Rule(S.APPROVED, OFFICER),
        (S.SUBMITTED, A.REJECT): Rule(S.REJECTED, OFFICER),
        # inventory outcomes, applied by the service itself
        (S.APPROVED, A.MARK_WAITING_FOR_STOCK): Rule(S.WAITING_FOR_STOCK, SYSTEM),
        (S.WAITING_FOR_STOCK, A.MARK_WAITING_FOR_STOCK): Rule(S.WAITING_FOR_STOCK, SYSTEM),
        (S.ALLOCATED, A.MARK_WAITING_FOR_STOCK): Rule(S.WAITING_FOR_STOCK, SYSTEM),
        (S.APPROVED, A.MARK_ALLOCATED): Rule(S.ALLOCATED, SYSTEM),
        (S.WAITING_FOR_STOCK, A.MARK_ALLOCATED): Rule(S.ALLOCATED, SYSTEM),
        (S.ALLOCATED, A.MARK_ALLOCATED): Rule(S.ALLOCATED, SYSTEM),
        # proof of delivery and closing
        (S.ALLOCATED, A.CONFIRM_RECEIPT): Rule(S.RECEIVED, OWNER),
        (S.RECEIVED, A.CLOSE): Rule(S.CLOSED, OFFICER),
    }
)

INITIAL_STATUS = Status.DRAFT

TABLE_ACTIONS: tuple[Action, ...] = tuple(a for a in Action if a is not Action.CREATE)
"""Every action the table speaks about (``create`` has no source state)."""

TERMINAL_STATUSES: frozenset[Status] = frozenset(s for s in Status if not any(src is s for (src, _a) in TRANSITIONS))

ACTION_PARTIES: Mapping[Action, frozenset[Party]] = MappingProxyType(
    {
        action: frozenset(p for (_s, a), rule in TRANSITIONS.items() if a is action for p in rule.parties)
        for action in TABLE_ACTIONS
    }
)
"""Who may perform an action in *some* state: an actor outside this set is forbidden outright."""

EDITABLE_STATUSES: frozenset[Status] = frozenset(s for (s, a) in TRANSITIONS if a is Action.EDIT)

WAITING_ON: Mapping[Party, frozenset[Status]] = MappingProxyType(
    {
        Party.OWNER_UNIT: frozenset({S.DRAFT, S.RETURNED, S.ALLOCATED}),
        Party.QLCL_OFFICER: frozenset({S.SUBMITTED, S.RECEIVED}),
        Party.SYSTEM: frozenset({S.APPROVED}),
    }
)
"""Statuses in which the request waits for this party's next step ("requests waiting for me").

The unit finishes and submits a draft or returned request and confirms receipt of allocated blanks;
the officer reviews submitted requests and closes received ones. A unit *may* cancel a submitted
request, but the request is then waiting for QLCL, not for the unit. ``waiting_for_stock`` waits for
stock, not for a person."""

INVENTORY_ACTIONS: frozenset[Action] = frozenset({Action.MARK_WAITING_FOR_STOCK, Action.MARK_ALLOCATED})


def rule_for(status: Status, action: Action) -> Rule | None:
    return TRANSITIONS.get((status, action))


def reachable_statuses(start: Status = INITIAL_STATUS) -> frozenset[Status]:
    """Every status reachable from ``start`` by following the table."""
    seen = {start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for (src, _action), rule in TRANSITIONS.items():
            if src is current and rule.to not in seen:
                seen.add(rule.to)
                queue.append(rule.to)
    return frozenset(seen)
