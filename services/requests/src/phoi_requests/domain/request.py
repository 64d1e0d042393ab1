"""The Request aggregate: a unit's request for blank forms, and its whole workflow.

The rules its commands apply live beside it: ``editing.py`` (what a draft may hold), ``line_rules.py``
(approval, allocation and receipt of lines), ``payloads.py`` (the events' data), ``transitions.py`` (who
may do what, in which state); the commands inventory's answers drive are ``inventory_outcomes.py``.

Persistence contract
--------------------
* Load: build a ``Request(...)`` directly from stored columns, or ``Request.from_snapshot(dict)``; neither
  emits events. Create new requests only with ``Request.create(...)`` (it emits ``request.created``).
* Act: call one command. Every user command checks, in this order: visibility (``RequestNotFound``), the
  actor's capability for the action (``ActionForbidden``), ``expected_version`` if given
  (``VersionConflict``; ``VersionRequired`` when the caller must send one and did not), the transition
  table (``IllegalTransition``), then the input rules (``RuleViolation`` subclasses). Nothing is
  changed when any check fails.
* Save: when a command applied, ``version`` went up by exactly one and one ``HistoryEntry`` was appended
  (``version == len(history)`` always holds). Save with ``UPDATE ... WHERE id = :id AND version =
  :loaded_version`` to catch concurrent writers, then write ``pull_events()`` to the outbox in the same
  transaction. A command that changed nothing (``update`` returning ``False``, an inventory outcome
  returning ``DUPLICATE``/``STALE``) leaves the version alone and emits nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict, Unpack

from phoi_requests.domain import payloads
from phoi_requests.domain.editing import (
    build_lines,
    check_attachments,
    comment_text,
    exam_session_text,
    justification_text,
    reason_text,
)
from phoi_requests.domain.errors import (
    ActionForbidden,
    AttachmentRequired,
    DuplicateAttachment,
    IllegalTransition,
    InvalidField,
    NoLines,
    RequestNotFound,
    UnknownAttachment,
    UnknownLine,
    VersionConflict,
    VersionRequired,
)
from phoi_requests.domain.events import (
    REQUEST_APPROVED,
    REQUEST_CANCELLED,
    REQUEST_CLOSED,
    REQUEST_CREATED,
    REQUEST_RECEIPT_CONFIRMED,
    REQUEST_REJECTED,
    REQUEST_RETURNED,
    REQUEST_SUBMITTED,
    REQUEST_UPDATED,
    RequestEvent,
)
from phoi_requests.domain.inventory_outcomes import InventoryOutcomes
from phoi_requests.domain.line_rules import approve_lines, receive_lines
from phoi_requests.domain.model import (
    Action,
    Actor,
    Attachment,
    AttachmentChange,
    AttachmentEdit,
    HistoryEntry,
    LineInput,
    Party,
    ReceiptLine,
    RequestLine,
    Role,
    SerialRange,
    Status,
    check_academic_year,
    check_code,
    now_or,
    vietnam_date,
)
from phoi_requests.domain.transitions import ACTION_PARTIES, TRANSITIONS, rule_for

EventData = Callable[["Request"], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Step:
    """A permitted command: its action and the status it leads to."""

    action: Action
    to: Status


class Options(TypedDict, total=False):
    """What every command of a person also takes."""

    expected_version: int | None
    """The version the caller read (``If-Match``); ``VersionConflict`` unless it is the current one."""
    at: datetime | None
    """When it happens (default: now); tests set it."""


@dataclass(eq=False)
class Request(InventoryOutcomes):
    """The aggregate root. Fields are public for persistence; change them only through the commands."""

    id: uuid.UUID
    unit_code: str
    academic_year: str
    exam_session: str | None
    justification: str | None
    lines: tuple[RequestLine, ...]
    attachments: tuple[Attachment, ...]
    status: Status
    version: int
    history: tuple[HistoryEntry, ...]
    created_at: datetime
    updated_at: datetime
    approval_revision: int = 0
    """0 before approval, 1 after it (the contracts' ``approval_revision``; no re-approval yet)."""
    allocation_id: uuid.UUID | None = None
    """The inventory allocation whose ranges the lines hold (kept after receipt)."""
    outcome_as_of: datetime | None = None
    """Time of the newest inventory outcome applied; older outcomes are stale."""
    received_on: date | None = None
    """Date (Vietnam calendar) the unit says the blanks arrived; set on receipt."""
    events: list[RequestEvent] = field(default_factory=list, repr=False)

    # -----------------------------------------------------------------------------------------------------
    # Creation

    @classmethod
    def create(
        cls,
        actor: Actor,
        *,
        unit_code: str,
        academic_year: str,
        lines: Sequence[LineInput],
        exam_session: str | None = None,
        justification: str | None = None,
        attachments: Sequence[Attachment] = (),
        request_id: uuid.UUID | None = None,
        comment: str | None = None,
        at: datetime | None = None,
    ) -> Request:
        """A new draft with at least one line. Only a unit account, and only for its own unit."""
        if actor.role is not Role.UNIT_ACCOUNT:
            raise ActionForbidden(Action.CREATE.value, actor.role_name)
        unit = check_code(unit_code, field="unit_code")
        if (actor.unit_code or "").strip() != unit:
            raise ActionForbidden(Action.CREATE.value, actor.role_name, "a unit may only create requests for itself")
        when = now_or(at)
        request = cls(
            id=request_id or uuid.uuid4(),
            unit_code=unit,
            academic_year=check_academic_year(academic_year),
            exam_session=exam_session_text(exam_session),
            justification=justification_text(justification),
            lines=build_lines(lines, existing=()),
            attachments=check_attachments(attachments),
            status=Status.DRAFT,
            version=0,
            history=(),
            created_at=when,
            updated_at=when,
        )
        request._record(Action.CREATE, Status.DRAFT, actor, when, comment_text(comment))
        request._emit(REQUEST_CREATED, actor, when, payloads.state_data(request))
        return request

    # -----------------------------------------------------------------------------------------------------
    # Queries and capability checks

    def is_visible_to(self, actor: Actor) -> bool:
        """Unit accounts see their own unit's requests only; every other role sees all."""
        return actor.role is not Role.UNIT_ACCOUNT or actor.unit_code == self.unit_code

    def ensure_visible_to(self, actor: Actor) -> None:
        """Raise ``RequestNotFound`` (→ 404) for a unit actor of another unit."""
        if not self.is_visible_to(actor):
            raise RequestNotFound(self.id)

    def party_of(self, actor: Actor) -> Party | None:
        """The actor's party for *this* request; ``None`` for read-only roles (auditor, qlcl_admin)."""
        if actor.role is Role.UNIT_ACCOUNT:
            return Party.OWNER_UNIT if actor.unit_code == self.unit_code else None
        if actor.role is Role.QLCL_OFFICER:
            return Party.QLCL_OFFICER
        if actor.role is None:
            return Party.SYSTEM
        return None

    def available_actions(self, actor: Actor) -> frozenset[Action]:
        """What this actor may do now (for the portal's buttons); inventory actions only for ``system``."""
        party = self.party_of(actor)
        if party is None:
            return frozenset()
        return frozenset(a for (s, a), rule in TRANSITIONS.items() if s is self.status and party in rule.parties)

    def ensure_version(self, expected: int) -> None:
        """Raise ``VersionConflict`` unless ``expected`` (e.g. from ``If-Match``) is the current version."""
        if expected != self.version:
            raise VersionConflict(expected, self.version)

    def may_ever(self, actor: Actor, action: Action) -> bool:
        """Whether the actor's party for this request may perform ``action`` in *some* state (no state check)."""
        party = self.party_of(actor)
        return party is not None and party in ACTION_PARTIES[action]

    def authorise(
        self, actor: Actor, action: Action, expected_version: int | None = None, *, version_required: bool = False
    ) -> None:
        """Run a command's checks (visibility, capability, version, state) without changing anything.

        The one permission check: every command runs it first. Callers that must refuse before doing the
        work a command needs (reading an upload, checking the unit) run it ahead of the command;
        ``version_required`` makes a missing ``expected_version`` a ``VersionRequired`` (→ 428)."""
        self._authorise(actor, action, expected_version, version_required=version_required)

    def line(self, line_id: uuid.UUID) -> RequestLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise UnknownLine(f"line {line_id} is not part of request {self.id}", field="line_id")

    @property
    def is_terminal(self) -> bool:
        return not any(s is self.status for (s, _a) in TRANSITIONS)

    @property
    def submission_count(self) -> int:
        """How many times the request was submitted (the contracts' ``submission_no`` of the last one)."""
        return sum(1 for h in self.history if h.action is Action.SUBMIT)

    @property
    def allocated_ranges(self) -> dict[uuid.UUID, tuple[SerialRange, ...]]:
        return {line.id: line.allocated_ranges for line in self.lines if line.allocated_ranges}

    def pull_events(self) -> list[RequestEvent]:
        """Hand the collected events to the unit of work and forget them."""
        events, self.events = self.events, []
        return events

    # -----------------------------------------------------------------------------------------------------
    # The unit edits a draft (or a returned request)

    def update(
        self,
        actor: Actor,
        *,
        lines: Sequence[LineInput] | None = None,
        academic_year: str | None = None,
        exam_session: str | None = None,
        justification: str | None = None,
        comment: str | None = None,
        **options: Unpack[Options],
    ) -> bool:
        """Edit (PATCH semantics). ``None`` leaves a field unchanged; ``""`` clears an optional text field.

        ``lines`` replaces all lines (at least one); a ``LineInput`` without ``line_id`` keeps the id of
        the existing line of the same form type. Returns ``False`` (and changes nothing, not even the
        version) when no value differs from the current one.
        """
        step = self._authorise(actor, Action.EDIT, options.get("expected_version"))
        new_lines = self.lines if lines is None else build_lines(lines, existing=self.lines)
        new_year = self.academic_year if academic_year is None else check_academic_year(academic_year)
        new_session = self.exam_session if exam_session is None else exam_session_text(exam_session)
        new_justification = self.justification if justification is None else justification_text(justification)
        changes = [
            name
            for name, old, new in (
                ("lines", self.lines, new_lines),
                ("academic_year", self.academic_year, new_year),
                ("exam_session", self.exam_session, new_session),
                ("note", self.justification, new_justification),  # the contracts call it `note`
            )
            if old != new
        ]
        if not changes:
            return False
        text = comment_text(comment)
        self.lines = new_lines
        self.academic_year = new_year
        self.exam_session = new_session
        self.justification = new_justification
        self._finish(step, actor, options, text, REQUEST_UPDATED, _changed(changes))
        return True

    def add_attachment(
        self, actor: Actor, attachment: Attachment, *, comment: str | None = None, **options: Unpack[Options]
    ) -> None:
        step = self._authorise(actor, Action.EDIT, options.get("expected_version"))
        if any(a.id == attachment.id for a in self.attachments):
            raise DuplicateAttachment(f"attachment {attachment.id} is already attached", field="attachment_id")
        new = check_attachments((*self.attachments, attachment))
        text = comment_text(comment)
        self.attachments = new
        edit = AttachmentEdit(AttachmentChange.ADDED, attachment.filename)
        self._finish(step, actor, options, text, REQUEST_UPDATED, _attached(attachment), attachment=edit)

    def remove_attachment(
        self, actor: Actor, attachment_id: uuid.UUID, *, comment: str | None = None, **options: Unpack[Options]
    ) -> None:
        step = self._authorise(actor, Action.EDIT, options.get("expected_version"))
        removed = next((a for a in self.attachments if a.id == attachment_id), None)
        if removed is None:
            raise UnknownAttachment(f"attachment {attachment_id} is not attached", field="attachment_id")
        text = comment_text(comment)
        self.attachments = tuple(a for a in self.attachments if a.id != attachment_id)
        edit = AttachmentEdit(AttachmentChange.REMOVED, removed.filename)
        self._finish(step, actor, options, text, REQUEST_UPDATED, _changed(["attachments"]), attachment=edit)

    # -----------------------------------------------------------------------------------------------------
    # The workflow's steps (the API's action table, ``api/actions.py``, calls these)

    def submit(self, actor: Actor, *, comment: str | None = None, **options: Unpack[Options]) -> None:
        """Needs at least one line and at least one attachment (the signed request letter)."""
        step = self._authorise(actor, Action.SUBMIT, options.get("expected_version"))
        if not self.lines:
            raise NoLines("a request needs at least one line to be submitted", field="lines")
        if not self.attachments:
            raise AttachmentRequired(
                "the signed request letter must be attached before submitting", field="attachments"
            )
        text = comment_text(comment)
        self._finish(step, actor, options, text, REQUEST_SUBMITTED, payloads.submitted_data)

    def cancel(self, actor: Actor, *, reason: str | None = None, **options: Unpack[Options]) -> None:
        """The unit withdraws its request before a decision; the reason is optional."""
        step = self._authorise(actor, Action.CANCEL, options.get("expected_version"))
        text = comment_text(reason)
        self._finish(step, actor, options, text, REQUEST_CANCELLED, _keyed(reason=text))

    def return_for_revision(self, actor: Actor, *, reason: str | None, **options: Unpack[Options]) -> None:
        """QLCL sends the request back to the unit; the reason is required."""
        step = self._authorise(actor, Action.RETURN, options.get("expected_version"))
        text = reason_text(reason)
        self._finish(step, actor, options, text, REQUEST_RETURNED, _keyed(reason=text))

    def reject(self, actor: Actor, *, reason: str | None, **options: Unpack[Options]) -> None:
        """QLCL refuses the request for good; the reason is required."""
        step = self._authorise(actor, Action.REJECT, options.get("expected_version"))
        text = reason_text(reason)
        self._finish(step, actor, options, text, REQUEST_REJECTED, _keyed(reason=text))

    def approve(
        self,
        actor: Actor,
        *,
        approved_quantities: Mapping[uuid.UUID, int] | None = None,
        comment: str | None = None,
        **options: Unpack[Options],
    ) -> None:
        """Approve, optionally lowering line quantities.

        Lines absent from ``approved_quantities`` are approved at their requested quantity. Each approved
        quantity is ``0 <= approved <= requested``; a line may be approved at 0 (nothing is allocated for
        it) but not every line — approving nothing is a rejection and needs ``reject`` with a reason.
        """
        step = self._authorise(actor, Action.APPROVE, options.get("expected_version"))
        new_lines = approve_lines(self.lines, dict(approved_quantities or {}), request_id=self.id)
        text = comment_text(comment)
        self.lines = new_lines
        self.approval_revision += 1
        self._finish(step, actor, options, text, REQUEST_APPROVED, lambda r: payloads.approved_data(r, text))

    def confirm_receipt(
        self,
        actor: Actor,
        *,
        lines: Mapping[uuid.UUID, ReceiptLine] | None = None,
        received_on: date | None = None,
        comment: str | None = None,
        **options: Unpack[Options],
    ) -> None:
        """Proof of delivery. Lines absent from ``lines`` are accepted in full.

        ``0 <= accepted <= allocated``; a line accepted below its allocated quantity needs a non-blank
        discrepancy note (a note is also allowed on a line accepted in full); ``rejected_ranges``, when
        given, must be inside the allocated ranges and hold exactly ``allocated - accepted`` serials.
        ``received_on`` defaults to today in Vietnam and may not be in the future.
        """
        step = self._authorise(actor, Action.CONFIRM_RECEIPT, options.get("expected_version"))
        when = now_or(options.get("at"))
        today = vietnam_date(when)
        arrived = today if received_on is None else received_on
        if not isinstance(arrived, date) or isinstance(arrived, datetime) or arrived > today:
            raise InvalidField("received_on must be a date, not in the future", field="received_on")
        new_lines = receive_lines(self.lines, dict(lines or {}), request_id=self.id)
        text = comment_text(comment)
        self.lines = new_lines
        self.received_on = arrived
        at_once: Options = {"at": when}  # the receipt's date and its history entry share one clock reading
        self._finish(step, actor, at_once, text, REQUEST_RECEIPT_CONFIRMED, lambda r: payloads.receipt_data(r, text))

    def close(self, actor: Actor, *, comment: str | None = None, **options: Unpack[Options]) -> None:
        """QLCL closes the file once the unit confirmed receipt."""
        step = self._authorise(actor, Action.CLOSE, options.get("expected_version"))
        text = comment_text(comment)
        self._finish(step, actor, options, text, REQUEST_CLOSED, _keyed(note=text))

    # -----------------------------------------------------------------------------------------------------
    # Snapshot (JSON-ready; for a JSONB column, the API's response model or tests)

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "request_id": str(self.id),
            "unit_code": self.unit_code,
            "academic_year": self.academic_year,
            "exam_session": self.exam_session,
            "justification": self.justification,
            "status": self.status.value,
            "version": self.version,
            "lines": [line.to_dict() for line in self.lines],
            "attachments": [a.to_dict() for a in self.attachments],
            "history": [h.to_dict() for h in self.history],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "approval_revision": self.approval_revision,
            "allocation_id": str(self.allocation_id) if self.allocation_id else None,
            "outcome_as_of": self.outcome_as_of.isoformat() if self.outcome_as_of else None,
            "received_on": self.received_on.isoformat() if self.received_on else None,
        }

    @classmethod
    def from_snapshot(cls, raw: Mapping[str, Any]) -> Request:
        return cls(
            id=uuid.UUID(raw["request_id"]),
            unit_code=raw["unit_code"],
            academic_year=raw["academic_year"],
            exam_session=raw["exam_session"],
            justification=raw["justification"],
            status=Status(raw["status"]),
            version=raw["version"],
            lines=tuple(RequestLine.from_dict(r) for r in raw["lines"]),
            attachments=tuple(Attachment.from_dict(a) for a in raw["attachments"]),
            history=tuple(HistoryEntry.from_dict(h) for h in raw["history"]),
            created_at=datetime.fromisoformat(raw["created_at"]),
            updated_at=datetime.fromisoformat(raw["updated_at"]),
            approval_revision=raw["approval_revision"],
            allocation_id=uuid.UUID(raw["allocation_id"]) if raw["allocation_id"] else None,
            outcome_as_of=datetime.fromisoformat(raw["outcome_as_of"]) if raw["outcome_as_of"] else None,
            received_on=date.fromisoformat(raw["received_on"]) if raw["received_on"] else None,
        )

    # -----------------------------------------------------------------------------------------------------
    # Internals

    def _authorise(
        self, actor: Actor, action: Action, expected_version: int | None, *, version_required: bool = False
    ) -> Step:
        self.ensure_visible_to(actor)
        party = self.party_of(actor)
        if party is None or party not in ACTION_PARTIES[action]:
            raise ActionForbidden(action.value, actor.role_name)
        if expected_version is not None:
            self.ensure_version(expected_version)
        elif version_required:
            raise VersionRequired(self.version)
        rule = rule_for(self.status, action)
        if rule is None:
            raise IllegalTransition(self.status.value, action.value)
        if party not in rule.parties:  # pragma: no cover - parties are uniform per action today
            raise ActionForbidden(action.value, actor.role_name)
        return Step(action, rule.to)

    def _finish(
        self,
        step: Step,
        actor: Actor,
        options: Options,
        comment: str | None,
        event_type: str,
        data: EventData,
        *,
        attachment: AttachmentEdit | None = None,
    ) -> None:
        """Record an applied user command in the history and emit its event (data read after the change)."""
        when = now_or(options.get("at"))
        self._record(step.action, step.to, actor, when, comment, attachment)
        self._emit(event_type, actor, when, data(self))

    def _record(
        self,
        action: Action,
        to: Status,
        actor: Actor,
        when: datetime,
        comment: str | None,
        attachment: AttachmentEdit | None = None,
    ) -> None:
        previous = None if action is Action.CREATE else self.status
        self.version += 1
        self.status = to
        self.updated_at = when
        # fields in that order
        entry = HistoryEntry(self.version, action, previous, to, actor, when, comment, attachment)
        self.history = (*self.history, entry)

    def _emit(self, event_type: str, actor: Actor, when: datetime, data: dict[str, Any]) -> None:
        self.events.append(
            RequestEvent(
                type=event_type,
                request_id=self.id,
                unit_code=self.unit_code,
                version=self.version,
                occurred_at=when,
                actor=actor,
                data=data,
            )
        )


def _keyed(**data: Any) -> EventData:
    """Event data: the request's key and ``data`` (for the steps that carry only a reason or a note)."""
    return lambda request: {**payloads.key_data(request), **data}


def _changed(fields: list[str]) -> EventData:
    return lambda request: {**payloads.state_data(request), "changed_fields": fields}


def _attached(attachment: Attachment) -> EventData:
    """An upload's event carries the file and its signature verification (the audit log keeps them)."""
    return lambda request: {**_changed(["attachments"])(request), "attachment": payloads.attachment_data(attachment)}
