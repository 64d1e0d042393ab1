"""The request workflow's steps, as one table: each row becomes one API operation.

A row names the domain action, its path segment (``POST /api/v1/requests/{id}/<segment>``), its body,
the domain command it runs and what the OpenAPI says about it. Who may take the step is the domain's
transition table (``domain/transitions.py``); the summary names that party from the same table, so the
documentation cannot disagree with the check. ``api/routes.py`` registers one explicit operation per row
(its own ``operationId``, summary, body schema and problem responses); ``RequestService.act`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from phoi_requests.api.schemas import ApproveIn, CommentIn, ConfirmReceiptIn, ReasonIn
from phoi_requests.domain import ACTION_PARTIES, Action, Actor, Party, Request

Body = TypeVar("Body", bound=BaseModel)

#: How the summaries name the party that may take a step.
PARTY_NAMES = {Party.OWNER_UNIT: "unit", Party.QLCL_OFFICER: "officer", Party.SYSTEM: "system"}

#: Every step answers these problems: 403 (role), 404 (not found / another unit's), 409 (state, unit
#: deactivated), 412 (stale If-Match), 422 (input), 428 (no If-Match).
CHANGE_PROBLEMS = (403, 404, 409, 412, 422, 428)


@dataclass(frozen=True, slots=True)
class WorkflowStep(Generic[Body]):
    action: Action
    segment: str
    """The path segment after ``/requests/{request_id}/``."""
    operation: str
    """The operation's name: its ``operationId`` is ``<operation>_api_v1_requests__request_id__<segment>_post``."""
    body: type[Body]
    """The optional JSON body; no body means ``body()`` (every field at its default)."""
    run: Callable[[Request, Actor, Body, int | None], object]
    """The domain command, given the request, the actor, the body and the expected version."""
    title: str
    description: str | None = None
    problems: tuple[int, ...] = CHANGE_PROBLEMS

    @property
    def summary(self) -> str:
        """The title and who may take the step, e.g. ``Submit for review (unit)``."""
        who = " or ".join(sorted(PARTY_NAMES[p] for p in ACTION_PARTIES[self.action]))
        return f"{self.title} ({who})"


_APPROVE_DESCRIPTION = (
    "The request becomes `approved` with `allocation_status` `allocating`: the inventory is allocating its "
    "serials. Its answer moves the request on by itself, to `allocated` (the ranges are in the lines) or to "
    "`waiting_for_stock` (the shortfall is in the lines); poll the request or its list."
)

# In the order the OpenAPI lists them: the unit's steps, then QLCL's.
WORKFLOW: tuple[WorkflowStep[Any], ...] = (
    WorkflowStep(
        Action.SUBMIT,
        "submit",
        "submit",
        CommentIn,
        lambda r, actor, body, version: r.submit(actor, comment=body.comment, expected_version=version),
        title="Submit for review",
    ),
    WorkflowStep(
        Action.CANCEL,
        "cancel",
        "cancel",
        ReasonIn,
        lambda r, actor, body, version: r.cancel(actor, reason=body.reason, expected_version=version),
        title="Withdraw before a decision",
    ),
    WorkflowStep(
        Action.CONFIRM_RECEIPT,
        "confirm-receipt",
        "confirm_receipt",
        ConfirmReceiptIn,
        lambda r, actor, body, version: r.confirm_receipt(
            actor,
            lines=body.to_domain(),
            received_on=body.received_on,
            comment=body.comment,
            expected_version=version,
        ),
        title="Proof of delivery",
    ),
    WorkflowStep(
        Action.APPROVE,
        "approve",
        "approve",
        ApproveIn,
        lambda r, actor, body, version: r.approve(
            actor, approved_quantities=body.to_domain(), comment=body.comment, expected_version=version
        ),
        title="Approve, possibly lowering quantities",
        description=_APPROVE_DESCRIPTION,
    ),
    WorkflowStep(
        Action.REJECT,
        "reject",
        "reject",
        ReasonIn,
        lambda r, actor, body, version: r.reject(actor, reason=body.reason, expected_version=version),
        title="Reject with a reason",
    ),
    WorkflowStep(
        Action.RETURN,
        "return",
        "return_for_revision",
        ReasonIn,
        lambda r, actor, body, version: r.return_for_revision(actor, reason=body.reason, expected_version=version),
        title="Return for revision with a reason",
    ),
    WorkflowStep(
        Action.CLOSE,
        "close",
        "close",
        CommentIn,
        lambda r, actor, body, version: r.close(actor, comment=body.comment, expected_version=version),
        title="Close a received request",
    ),
)
