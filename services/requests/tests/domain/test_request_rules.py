"""Business rules of the Request aggregate: roles and ownership, quantities, receipt, versions, events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from phoi_contracts.catalogue import event_class
from phoi_requests.domain import (
    ALL_ERRORS,
    EVENT_TYPES,
    TABLE_ACTIONS,
    AcceptedQuantityTooHigh,
    Action,
    ActionForbidden,
    Actor,
    AllLinesZero,
    ApprovedQuantityTooHigh,
    Attachment,
    AttachmentChange,
    AttachmentEdit,
    AttachmentRequired,
    DiscrepancyNoteRequired,
    DuplicateAttachment,
    DuplicateFormType,
    IllegalTransition,
    InvalidField,
    InvalidQuantity,
    LineInput,
    NoLines,
    ReasonRequired,
    ReceiptLine,
    Request,
    RequestDomainError,
    RequestEvent,
    RequestNotFound,
    Role,
    SerialRange,
    Status,
    UnknownAttachment,
    UnknownLine,
    VersionConflict,
    VersionRequired,
)
from request_builders import (
    OTHER_UNIT,
    T0,
    UNIT,
    admin,
    auditor,
    in_state,
    letter,
    new_request,
    officer,
    perform,
    system,
    unit_actor,
)

# A state in which each action is legal, to test who may do it.
LEGAL_STATE = {
    Action.EDIT: Status.DRAFT,
    Action.SUBMIT: Status.DRAFT,
    Action.CANCEL: Status.SUBMITTED,
    Action.RETURN: Status.SUBMITTED,
    Action.APPROVE: Status.SUBMITTED,
    Action.REJECT: Status.SUBMITTED,
    Action.MARK_WAITING_FOR_STOCK: Status.APPROVED,
    Action.MARK_ALLOCATED: Status.APPROVED,
    Action.CONFIRM_RECEIPT: Status.ALLOCATED,
    Action.CLOSE: Status.RECEIVED,
}
OWNER_ACTIONS = {Action.EDIT, Action.SUBMIT, Action.CANCEL, Action.CONFIRM_RECEIPT}
OFFICER_ACTIONS = {Action.RETURN, Action.APPROVE, Action.REJECT, Action.CLOSE}
SYSTEM_ACTIONS = {Action.MARK_WAITING_FOR_STOCK, Action.MARK_ALLOCATED}

ACTORS: dict[str, Callable[[], Actor]] = {
    "owner": unit_actor,
    "other_unit": lambda: unit_actor(OTHER_UNIT, user_id="u-other", username="sohcm"),
    "officer": officer,
    "admin": admin,
    "auditor": auditor,
    "system": system,
}


def _allowed(kind: str, action: Action) -> bool:
    return (
        (kind == "owner" and action in OWNER_ACTIONS)
        or (kind == "officer" and action in OFFICER_ACTIONS)
        or (kind == "system" and action in SYSTEM_ACTIONS)
    )


# ---------------------------------------------------------------------------------------------------------
# Roles and ownership


def test_legal_state_covers_every_action() -> None:
    assert set(LEGAL_STATE) == set(TABLE_ACTIONS)
    assert set(TABLE_ACTIONS) == OWNER_ACTIONS | OFFICER_ACTIONS | SYSTEM_ACTIONS


@pytest.mark.parametrize("kind", list(ACTORS))
@pytest.mark.parametrize("action", TABLE_ACTIONS, ids=lambda a: a.value)
def test_who_may_act(action: Action, kind: str) -> None:
    request = in_state(LEGAL_STATE[action])
    before = request.to_snapshot()
    actor = ACTORS[kind]()
    if _allowed(kind, action):
        perform(request, action, actor)
        assert request.version == before["version"] + 1
        assert request.history[-1].actor == actor
        return
    expected: type[RequestDomainError] = ActionForbidden
    if kind == "other_unit" and action not in SYSTEM_ACTIONS:
        expected = RequestNotFound  # the API answers 404: another unit's request does not exist for it
    with pytest.raises(expected):
        perform(request, action, actor)
    assert request.to_snapshot() == before
    assert request.events == []


def test_another_unit_gets_not_found_even_for_an_illegal_action() -> None:
    request = in_state(Status.CLOSED)
    with pytest.raises(RequestNotFound) as info:
        request.submit(unit_actor(OTHER_UNIT))
    assert info.value.code == "request.not_found"
    assert info.value.details()["request_id"] == str(request.id)


def test_forbidden_role_is_reported_before_an_illegal_state() -> None:
    request = in_state(Status.CLOSED)
    with pytest.raises(ActionForbidden) as info:
        request.approve(auditor())
    assert (info.value.code, info.value.action, info.value.role) == ("request.forbidden", "approve", "auditor")


def test_visibility() -> None:
    request = new_request()
    assert request.is_visible_to(unit_actor())
    assert not request.is_visible_to(unit_actor(OTHER_UNIT))
    for actor in (officer(), admin(), auditor(), system()):
        assert request.is_visible_to(actor)
    request.ensure_visible_to(auditor())
    with pytest.raises(RequestNotFound):
        request.ensure_visible_to(unit_actor(OTHER_UNIT))


def test_available_actions() -> None:
    draft = new_request()
    assert draft.available_actions(unit_actor()) == {Action.EDIT, Action.SUBMIT, Action.CANCEL}
    assert draft.available_actions(officer()) == frozenset()
    assert draft.available_actions(unit_actor(OTHER_UNIT)) == frozenset()
    submitted = in_state(Status.SUBMITTED)
    assert submitted.available_actions(officer()) == {Action.APPROVE, Action.REJECT, Action.RETURN}
    assert submitted.available_actions(unit_actor()) == {Action.CANCEL}
    assert submitted.available_actions(auditor()) == frozenset()
    assert in_state(Status.APPROVED).available_actions(system()) == {
        Action.MARK_ALLOCATED,
        Action.MARK_WAITING_FOR_STOCK,
    }
    assert in_state(Status.CLOSED).available_actions(officer()) == frozenset()


def test_only_a_unit_creates_and_only_for_itself() -> None:
    kwargs = {"unit_code": UNIT, "academic_year": "2024-2025", "lines": [LineInput("BTN-THPT", 10)]}
    for actor in (officer(), admin(), auditor(), system()):
        with pytest.raises(ActionForbidden):
            Request.create(actor, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ActionForbidden):
        Request.create(unit_actor(OTHER_UNIT), **kwargs)  # type: ignore[arg-type]
    request = Request.create(unit_actor(), **kwargs)  # type: ignore[arg-type]
    assert request.status is Status.DRAFT
    assert request.version == 1


def test_unit_actor_needs_a_unit_code() -> None:
    with pytest.raises(InvalidField):
        Actor(user_id="x", username="x", role=Role.UNIT_ACCOUNT)
    assert Actor(user_id="x", username="x", role="auditor").role is Role.AUDITOR  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Creation and editing


def test_create_validates_its_input() -> None:
    actor = unit_actor()

    def create(**overrides: object) -> Request:
        kwargs: dict[str, object] = {
            "unit_code": UNIT,
            "academic_year": "2024-2025",
            "lines": [LineInput("BTN-THPT", 10)],
        }
        kwargs.update(overrides)
        return Request.create(actor, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(InvalidField, match="academic year"):
        create(academic_year="2024-2026")
    with pytest.raises(InvalidField):
        create(academic_year="2024")
    with pytest.raises(NoLines):
        create(lines=[])
    with pytest.raises(InvalidQuantity):
        create(lines=[LineInput("BTN-THPT", 0)])
    with pytest.raises(InvalidQuantity):
        create(lines=[LineInput("BTN-THPT", True)])
    with pytest.raises(InvalidQuantity):
        create(lines=[LineInput("BTN-THPT", 5, expected_graduates=-1)])
    with pytest.raises(InvalidField):
        create(lines=[LineInput("  ", 5)])
    with pytest.raises(InvalidField):
        create(lines=[LineInput("BTN THPT", 5)])
    with pytest.raises(DuplicateFormType):
        create(lines=[LineInput("BTN-THPT", 5), LineInput(" BTN-THPT ", 6)])
    with pytest.raises(InvalidField):
        create(justification="x" * 4001)
    with pytest.raises(InvalidField):
        create(unit_code="")
    assert create(justification="   ").justification is None
    assert create(lines=[LineInput(" BTN-THPT ", 5)]).lines[0].form_type_code == "BTN-THPT"


def test_update_changes_fields_and_keeps_line_ids() -> None:
    request = new_request()
    ids = {line.form_type_code: line.id for line in request.lines}
    request.pull_events()
    changed = request.update(
        unit_actor(),
        lines=[LineInput("BTN-THPT", 1000), LineInput("CC-HTCT", 50)],
        exam_session="",
        comment="Giảm số lượng",
        at=T0 + timedelta(hours=1),
    )
    assert changed
    assert request.version == 2
    assert request.exam_session is None
    by_code = {line.form_type_code: line for line in request.lines}
    assert by_code["BTN-THPT"].id == ids["BTN-THPT"]
    assert by_code["BTN-THPT"].quantity == 1000
    assert by_code["CC-HTCT"].id not in ids.values()
    last = request.history[-1]
    assert (last.action, last.from_status, last.to_status, last.comment) == (
        Action.EDIT,
        Status.DRAFT,
        Status.DRAFT,
        "Giảm số lượng",
    )
    [event] = request.pull_events()
    assert event.type == "request.updated"
    assert event.data["changed_fields"] == ["lines", "exam_session"]


def test_update_without_a_change_is_a_no_op() -> None:
    request = new_request()
    request.pull_events()
    assert not request.update(unit_actor(), academic_year="2024-2025")
    assert not request.update(unit_actor())
    assert request.version == 1
    assert request.events == []


def test_update_with_explicit_line_ids() -> None:
    request = new_request()
    first, _second = request.lines
    request.update(
        unit_actor(),
        lines=[LineInput("BTN-THCS", 5, line_id=first.id), LineInput("BTN-THPT", 6)],
    )
    by_code = {line.form_type_code: line.id for line in request.lines}
    assert by_code["BTN-THCS"] == first.id
    assert by_code["BTN-THPT"] != first.id  # the id was claimed by another line, so a new one
    with pytest.raises(InvalidField):
        request.update(
            unit_actor(),
            lines=[LineInput("A", 1, line_id=first.id), LineInput("B", 1, line_id=first.id)],
        )
    with pytest.raises(NoLines):
        request.update(unit_actor(), lines=[])


def test_edit_is_allowed_in_returned_but_not_after_submission() -> None:
    returned = in_state(Status.RETURNED)
    assert returned.update(unit_actor(), justification="Đã bổ sung chữ ký")
    assert returned.status is Status.RETURNED
    submitted = in_state(Status.SUBMITTED)
    with pytest.raises(IllegalTransition):
        submitted.update(unit_actor(), justification="x")
    with pytest.raises(IllegalTransition):
        submitted.add_attachment(unit_actor(), letter())


def test_attachments() -> None:
    request = new_request(with_letter=False)
    request.pull_events()
    with pytest.raises(AttachmentRequired) as info:
        request.submit(unit_actor())
    assert info.value.code == "request.attachment_required"
    attachment = letter()
    request.add_attachment(unit_actor(), attachment)
    with pytest.raises(DuplicateAttachment):
        request.add_attachment(unit_actor(), attachment)
    request.remove_attachment(unit_actor(), attachment.id)
    with pytest.raises(UnknownAttachment):
        request.remove_attachment(unit_actor(), attachment.id)
    request.add_attachment(unit_actor(), letter("to-trinh.pdf"))
    request.submit(unit_actor())
    assert request.status is Status.SUBMITTED
    types = [e.type for e in request.pull_events()]
    assert types == ["request.updated"] * 3 + ["request.submitted"]
    # each letter's change is said in the entry; no text is made up for the comment
    assert [(h.attachment, h.comment) for h in request.history[-4:]] == [
        (AttachmentEdit(AttachmentChange.ADDED, "cong-van-de-nghi.pdf"), None),
        (AttachmentEdit(AttachmentChange.REMOVED, "cong-van-de-nghi.pdf"), None),
        (AttachmentEdit(AttachmentChange.ADDED, "to-trinh.pdf"), None),
        (None, None),
    ]


def test_attachment_values_are_validated() -> None:
    with pytest.raises(InvalidField):
        Attachment(id=uuid.uuid4(), filename=" ", content_type="application/pdf", size_bytes=1)
    with pytest.raises(InvalidField):
        Attachment(id=uuid.uuid4(), filename="a.pdf", content_type="application/pdf", size_bytes=0)
    with pytest.raises(InvalidField):
        Attachment(id=uuid.uuid4(), filename="a.pdf", content_type="", size_bytes=1)
    with pytest.raises(InvalidField):
        Attachment(id=uuid.uuid4(), filename="a.pdf", content_type="x", size_bytes=1, sha256="ABC")
    ok = Attachment(id=uuid.uuid4(), filename=" a.pdf ", content_type="x", size_bytes=1, sha256="a" * 64)
    assert ok.filename == "a.pdf"


def test_submit_needs_a_line_even_for_loaded_data() -> None:
    request = new_request()
    request.lines = ()  # as if loaded from a legacy row
    with pytest.raises(NoLines):
        request.submit(unit_actor())


# ---------------------------------------------------------------------------------------------------------
# Review


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_reject_and_return_need_a_reason(reason: str) -> None:
    request = in_state(Status.SUBMITTED)
    with pytest.raises(ReasonRequired) as info:
        request.reject(officer(), reason=reason)
    assert info.value.code == "request.reason_required"
    with pytest.raises(ReasonRequired):
        request.return_for_revision(officer(), reason=reason)
    assert request.status is Status.SUBMITTED


def test_reason_is_stripped_and_capped() -> None:
    request = in_state(Status.SUBMITTED)
    with pytest.raises(InvalidField):
        request.reject(officer(), reason="x" * 2001)
    request.return_for_revision(officer(), reason="  Bổ sung danh sách học sinh  ")
    assert request.history[-1].comment == "Bổ sung danh sách học sinh"
    [event] = request.pull_events()
    assert event.data["reason"] == "Bổ sung danh sách học sinh"


def test_approve_in_full_by_default() -> None:
    request = in_state(Status.SUBMITTED)
    request.approve(officer(), comment="Đồng ý")
    assert [line.approved_quantity for line in request.lines] == [line.quantity for line in request.lines]
    assert request.approval_revision == 1
    [event] = request.pull_events()
    assert event.type == "request.approved"
    assert event.data["note"] == "Đồng ý"
    assert event.data["approval_revision"] == 1


def test_approve_may_lower_a_line_and_approve_a_line_at_zero() -> None:
    request = in_state(Status.SUBMITTED)
    first, second = request.lines
    request.approve(officer(), approved_quantities={first.id: 1000, second.id: 0})
    assert [line.approved_quantity for line in request.lines] == [1000, 0]
    [event] = request.pull_events()
    assert event.data["lines"] == [
        {"line_id": str(first.id), "form_type_code": "BTN-THPT", "requested_quantity": 1200, "approved_quantity": 1000},
        {"line_id": str(second.id), "form_type_code": "BTN-THCS", "requested_quantity": 800, "approved_quantity": 0},
    ]


@pytest.mark.parametrize(
    ("quantities", "error"),
    [
        ({0: 1201}, ApprovedQuantityTooHigh),
        ({0: -1}, InvalidQuantity),
        ({0: 1.5}, InvalidQuantity),
        ({0: True}, InvalidQuantity),
        ({0: 0, 1: 0}, AllLinesZero),
    ],
)
def test_approve_rejects_bad_quantities(quantities: dict[int, object], error: type[Exception]) -> None:
    request = in_state(Status.SUBMITTED)
    before = request.to_snapshot()
    wanted = {request.lines[index].id: value for index, value in quantities.items()}
    with pytest.raises(error):
        request.approve(officer(), approved_quantities=wanted)  # type: ignore[arg-type]
    assert request.to_snapshot() == before


def test_approve_rejects_an_unknown_line() -> None:
    request = in_state(Status.SUBMITTED)
    with pytest.raises(UnknownLine):
        request.approve(officer(), approved_quantities={uuid.uuid4(): 1})


def test_error_codes_are_stable_and_unique() -> None:
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(codes) == len(set(codes))
    # the service's own codes say so; a stale or missing version has the kit-wide codes
    kit_wide = {VersionConflict.code, VersionRequired.code}
    assert all(code.startswith("request.") for code in codes if code not in kit_wide)
    assert (VersionConflict.code, VersionRequired.code) == ("version_mismatch", "if_match_required")
    assert ApprovedQuantityTooHigh.code == "request.approved_quantity_exceeds_requested"
    assert AllLinesZero.code == "request.all_lines_zero"


# ---------------------------------------------------------------------------------------------------------
# Receipt


def test_receipt_in_full_by_default() -> None:
    request = in_state(Status.ALLOCATED)
    request.confirm_receipt(unit_actor(), at=datetime(2025, 6, 10, 20, 0, tzinfo=UTC))
    assert request.status is Status.RECEIVED
    assert request.received_on == date(2025, 6, 11)  # 03:00 on 11 June in Vietnam
    assert all(line.accepted_quantity == line.allocated_quantity for line in request.lines)
    [event] = request.pull_events()
    assert event.data["received_on"] == "2025-06-11"
    assert event.data["allocation_ids"] == [str(request.allocation_id)]


def test_partial_receipt_needs_a_discrepancy_note() -> None:
    request = in_state(Status.ALLOCATED)
    line = request.lines[0]
    with pytest.raises(DiscrepancyNoteRequired) as info:
        request.confirm_receipt(unit_actor(), lines={line.id: ReceiptLine(accepted_quantity=1190)})
    assert info.value.field == f"lines[{line.id}].discrepancy_note"
    with pytest.raises(DiscrepancyNoteRequired):
        request.confirm_receipt(
            unit_actor(), lines={line.id: ReceiptLine(accepted_quantity=1190, discrepancy_note="  ")}
        )
    assert request.status is Status.ALLOCATED
    request.confirm_receipt(
        unit_actor(),
        lines={line.id: ReceiptLine(accepted_quantity=1190, discrepancy_note="Thiếu 10 phôi, hộp bị rách")},
    )
    assert request.lines[0].accepted_quantity == 1190
    assert request.lines[0].discrepancy_note == "Thiếu 10 phôi, hộp bị rách"
    assert request.lines[1].accepted_quantity == request.lines[1].allocated_quantity


def test_a_note_is_allowed_when_everything_was_accepted() -> None:
    request = in_state(Status.ALLOCATED)
    line = request.lines[0]
    request.confirm_receipt(
        unit_actor(), lines={line.id: ReceiptLine(accepted_quantity=1200, discrepancy_note="Bao bì ướt")}
    )
    assert request.lines[0].discrepancy_note == "Bao bì ướt"


@pytest.mark.parametrize(
    ("accepted", "error"),
    [(1201, AcceptedQuantityTooHigh), (-1, InvalidQuantity), (None, InvalidQuantity)],
)
def test_receipt_quantity_bounds(accepted: object, error: type[Exception]) -> None:
    request = in_state(Status.ALLOCATED)
    line = request.lines[0]
    with pytest.raises(error):
        request.confirm_receipt(
            unit_actor(),
            lines={line.id: ReceiptLine(accepted_quantity=accepted, discrepancy_note="x")},  # type: ignore[arg-type]
        )
    assert request.status is Status.ALLOCATED


def test_receipt_rejects_unknown_lines_and_future_dates() -> None:
    request = in_state(Status.ALLOCATED)
    with pytest.raises(UnknownLine):
        request.confirm_receipt(unit_actor(), lines={uuid.uuid4(): ReceiptLine(accepted_quantity=0)})
    with pytest.raises(InvalidField):
        request.confirm_receipt(unit_actor(), received_on=date(2999, 1, 1))


def test_receipt_with_rejected_ranges() -> None:
    request = in_state(Status.ALLOCATED)
    line = request.lines[0]
    [allocated] = line.allocated_ranges
    note = "Hỏng 5 phôi"
    inside = (SerialRange(allocated.first + 10, allocated.first + 14),)
    outside = (SerialRange(allocated.last + 1, allocated.last + 5),)
    wrong_size = (SerialRange(allocated.first, allocated.first + 3),)
    for bad in (outside, wrong_size):
        with pytest.raises(InvalidField):
            request.confirm_receipt(
                unit_actor(),
                lines={line.id: ReceiptLine(accepted_quantity=1195, discrepancy_note=note, rejected_ranges=bad)},
            )
    request.confirm_receipt(
        unit_actor(),
        lines={line.id: ReceiptLine(accepted_quantity=1195, discrepancy_note=note, rejected_ranges=inside)},
    )
    assert request.lines[0].rejected_ranges == inside
    [event] = request.pull_events()
    assert event.data["lines"][0]["rejected_ranges"] == [r.to_dict() for r in inside]


def test_lines_approved_at_zero_are_received_at_zero() -> None:
    request = in_state(Status.SUBMITTED)
    request.approve(officer(), approved_quantities={request.lines[1].id: 0})
    perform(request, Action.MARK_ALLOCATED)
    assert request.lines[1].allocated_ranges == ()
    request.confirm_receipt(unit_actor())
    assert request.lines[1].accepted_quantity == 0
    event = request.pull_events()[-1]
    assert [line["line_id"] for line in event.data["lines"]] == [str(request.lines[0].id)]


# ---------------------------------------------------------------------------------------------------------
# Versions


def test_version_increments_on_every_change() -> None:
    request = new_request()
    versions = [request.version]
    for action in (Action.EDIT, Action.SUBMIT, Action.RETURN, Action.EDIT, Action.SUBMIT, Action.APPROVE):
        perform(request, action)
        versions.append(request.version)
    assert versions == list(range(1, 8))
    assert request.version == len(request.history)


def test_version_conflict() -> None:
    request = in_state(Status.SUBMITTED)
    request.ensure_version(2)
    with pytest.raises(VersionConflict) as info:
        request.ensure_version(1)
    assert (info.value.expected, info.value.actual, info.value.code) == (1, 2, "version_mismatch")
    assert info.value.details()["current_version"] == 2
    with pytest.raises(VersionConflict):
        request.approve(officer(), expected_version=1)
    assert request.status is Status.SUBMITTED
    request.approve(officer(), expected_version=2)
    assert request.version == 3


def test_version_conflict_is_reported_before_an_illegal_transition() -> None:
    request = in_state(Status.APPROVED)
    with pytest.raises(VersionConflict):
        request.reject(officer(), reason="x", expected_version=2)
    with pytest.raises(IllegalTransition):
        request.reject(officer(), reason="x", expected_version=3)


def test_visibility_is_checked_before_the_version() -> None:
    request = new_request()
    with pytest.raises(RequestNotFound):
        request.submit(unit_actor(OTHER_UNIT), expected_version=99)


# ---------------------------------------------------------------------------------------------------------
# History and events


def test_history_records_who_when_from_to_and_why() -> None:
    request = new_request()
    t1, t2, t3 = (T0 + timedelta(hours=h) for h in (1, 2, 3))
    request.submit(unit_actor(), comment="Kính gửi Cục QLCL", at=t1)
    request.return_for_revision(officer(), reason="Thiếu chữ ký", at=t2)
    request.submit(unit_actor(), at=t3)
    rows = [(h.sequence, h.action, h.from_status, h.to_status, h.actor.role, h.at, h.comment) for h in request.history]
    assert rows == [
        (1, Action.CREATE, None, Status.DRAFT, Role.UNIT_ACCOUNT, T0, None),
        (2, Action.SUBMIT, Status.DRAFT, Status.SUBMITTED, Role.UNIT_ACCOUNT, t1, "Kính gửi Cục QLCL"),
        (3, Action.RETURN, Status.SUBMITTED, Status.RETURNED, Role.QLCL_OFFICER, t2, "Thiếu chữ ký"),
        (4, Action.SUBMIT, Status.RETURNED, Status.SUBMITTED, Role.UNIT_ACCOUNT, t3, None),
    ]
    assert request.history[2].actor == officer()
    assert request.updated_at == t3
    assert request.submission_count == 2


def test_naive_datetimes_are_refused() -> None:
    request = new_request()
    with pytest.raises(InvalidField):
        request.submit(unit_actor(), at=datetime(2025, 6, 1, 8, 0))


def _full_life() -> list[RequestEvent]:
    request = new_request()
    for action in (
        Action.EDIT,
        Action.SUBMIT,
        Action.RETURN,
        Action.SUBMIT,
        Action.APPROVE,
        Action.MARK_WAITING_FOR_STOCK,
        Action.MARK_ALLOCATED,
        Action.CONFIRM_RECEIPT,
        Action.CLOSE,
    ):
        perform(request, action)
    cancelled = new_request()
    perform(cancelled, Action.CANCEL)
    rejected = in_state(Status.SUBMITTED)
    perform(rejected, Action.REJECT)
    return request.pull_events() + cancelled.pull_events() + rejected.pull_events()


def test_events_emitted_over_a_full_life() -> None:
    events = _full_life()
    assert [e.type for e in events] == [
        "request.created",
        "request.updated",
        "request.submitted",
        "request.returned",
        "request.submitted",
        "request.approved",
        "request.receipt_confirmed",
        "request.closed",
        "request.created",
        "request.cancelled",
        "request.rejected",
    ]
    assert set(EVENT_TYPES) == {e.type for e in events}
    submitted = [e for e in events if e.type == "request.submitted"]
    assert [e.data["submission_no"] for e in submitted] == [1, 2]
    assert len({e.id for e in events}) == len(events)
    first = events[0]
    assert first.data["request_id"] == str(first.request_id)
    assert first.to_dict()["type"] == "request.created"


def test_event_versions_follow_the_aggregate() -> None:
    request = new_request()
    perform(request, Action.SUBMIT)
    created, submitted = request.pull_events()
    assert (created.version, submitted.version) == (1, 2)
    assert request.pull_events() == []


def test_event_data_matches_the_contracts() -> None:
    for event in _full_life():
        model = event_class(f"{event.type}.v1").model_validate(event.data)
        assert str(model.request_id) == str(event.request_id)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------------
# Snapshot


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_snapshot_round_trip(status: Status) -> None:
    request = in_state(status)
    copy = Request.from_snapshot(request.to_snapshot())
    assert copy.to_snapshot() == request.to_snapshot()
    assert copy.events == []
    assert copy.history == request.history
    assert copy.lines == request.lines
