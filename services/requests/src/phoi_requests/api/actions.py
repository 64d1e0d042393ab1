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

from phoi_requests.api.schemas import ApproveIn, CommentIn, ConfirmReceiptIn, ReasonIn, StepIn
from phoi_requests.domain import ACTION_PARTIES, Action, Party, Request

#: How the summaries name the party that may take a step.
PARTY_NAMES = {Party.OWNER_UNIT: "unit", Party.QLCL_OFFICER: "officer", Party.SYSTEM: "system"}

#: Every step answers these problems: 403 (role), 404 (not found / another unit's), 409 (state, unit
#: deactivated), 412 (stale If-Match), 422 (input), 428 (no If-Match).
CHANGE_PROBLEMS = (403, 404, 409, 412, 422, 428)


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    action: Action
    segment: str
    """The path segment after ``/requests/{request_id}/``."""
    body: type[StepIn]
    """The optional JSON body; its ``arguments()`` are the command's keyword arguments (no body: defaults)."""
    command: Callable[..., object]
    """The domain command: ``command(request, actor, expected_version=..., **body.arguments())``."""
    title: str
    description: str | None = None
    problems: tuple[int, ...] = CHANGE_PROBLEMS

    @property
    def operation(self) -> str:
        """The operation's name, the command's: its ``operationId`` is ``<name>_api_v1_requests_...``."""
        return self.command.__name__

    @property
    def summary(self) -> str:
        """The title and who may take the step, e.g. ``Submit for review (unit)``."""
        who = " or ".join(sorted(PARTY_NAMES[p] for p in ACTION_PARTIES[self.action]))
        return f"{self.title} ({who})"


_APPROVED = (
    "The request becomes `approved` with `allocation_status` `allocating`: the inventory is allocating its "
    "serials. Its answer moves the request on by itself, to `allocated` (the ranges are in the lines) or to "
    "`waiting_for_stock` (the shortfall is in the lines); poll the request or its list."
)

# In the order the OpenAPI lists them: the unit's steps, then QLCL's.
WORKFLOW: tuple[WorkflowStep, ...] = (
    WorkflowStep(Action.SUBMIT, "submit", CommentIn, Request.submit, "Submit for review"),
    WorkflowStep(Action.CANCEL, "cancel", ReasonIn, Request.cancel, "Withdraw before a decision"),
    WorkflowStep(
        Action.CONFIRM_RECEIPT, "confirm-receipt", ConfirmReceiptIn, Request.confirm_receipt, "Proof of delivery"
    ),
    WorkflowStep(
        Action.APPROVE, "approve", ApproveIn, Request.approve, "Approve, possibly lowering quantities", _APPROVED
    ),
    WorkflowStep(Action.REJECT, "reject", ReasonIn, Request.reject, "Reject with a reason"),
    WorkflowStep(Action.RETURN, "return", ReasonIn, Request.return_for_revision, "Return for revision with a reason"),
    WorkflowStep(Action.CLOSE, "close", CommentIn, Request.close, "Close a received request"),
)
