"""Builders for the requests domain tests: actors, requests in any state.

Test folders are not packages (pytest imports test modules in importlib mode), so this folder is on the
path by configuration: ``pythonpath`` for pytest and ``mypy_path`` for mypy in the root pyproject.toml.

Plain Python, no test framework imports. Example::

    request = in_state(Status.ALLOCATED)
    request.confirm_receipt(unit_actor())
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

from phoi_requests.domain.model import (
    SYSTEM_ACTOR,
    Action,
    Actor,
    Attachment,
    LineInput,
    OutcomeResult,
    Role,
    SerialRange,
    Status,
)
from phoi_requests.domain.request import Request

UNIT: Final = "SGDDT-HN"
OTHER_UNIT: Final = "SGDDT-HCM"
T0: Final = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)


def unit_actor(unit: str = UNIT, *, user_id: str = "u-unit", username: str = "sohanoi") -> Actor:
    return Actor(user_id=user_id, username=username, role=Role.UNIT_ACCOUNT, unit_code=unit)


def officer() -> Actor:
    return Actor(user_id="u-officer", username="canbo.qlcl", role=Role.QLCL_OFFICER)


def admin() -> Actor:
    return Actor(user_id="u-admin", username="quantri", role=Role.QLCL_ADMIN)


def auditor() -> Actor:
    return Actor(user_id="u-auditor", username="thanhtra", role=Role.AUDITOR)


def system() -> Actor:
    return SYSTEM_ACTOR


def letter(name: str = "cong-van-de-nghi.pdf") -> Attachment:
    """The signed request letter."""
    return Attachment(id=uuid.uuid4(), filename=name, content_type="application/pdf", size_bytes=120_000)


def default_lines() -> list[LineInput]:
    return [
        LineInput(form_type_code="BTN-THPT", quantity=1200, expected_graduates=1180, justification="Dự kiến"),
        LineInput(form_type_code="BTN-THCS", quantity=800, expected_graduates=790),
    ]


def new_request(
    *,
    unit: str = UNIT,
    lines: list[LineInput] | None = None,
    with_letter: bool = True,
    at: datetime = T0,
) -> Request:
    return Request.create(
        unit_actor(unit),
        unit_code=unit,
        academic_year="2024-2025",
        exam_session="Kỳ thi tốt nghiệp THPT năm 2025",
        justification="Đề nghị cấp phôi bằng tốt nghiệp năm học 2024-2025",
        lines=default_lines() if lines is None else lines,
        attachments=[letter()] if with_letter else [],
        at=at,
    )


def next_outcome_time(request: Request) -> datetime:
    """An ``as_of`` newer than any outcome the request has seen."""
    return (request.outcome_as_of or T0) + timedelta(minutes=1)


def ranges_for(request: Request, *, start: int = 1) -> dict[uuid.UUID, list[SerialRange]]:
    """One contiguous range per approved line, lowest serials first, starting at ``start``."""
    result: dict[uuid.UUID, list[SerialRange]] = {}
    first = start
    for line in request.lines:
        quantity = line.approved_quantity or 0
        if quantity:
            result[line.id] = [SerialRange(first, first + quantity - 1)]
            first += quantity
    return result


def shortfall_for(request: Request, amount: int = 1) -> dict[uuid.UUID, int]:
    return {line.id: amount for line in request.lines if (line.approved_quantity or 0) >= amount}


DEFAULT_ACTOR: Final = {
    Action.EDIT: unit_actor,
    Action.SUBMIT: unit_actor,
    Action.CANCEL: unit_actor,
    Action.CONFIRM_RECEIPT: unit_actor,
    Action.RETURN: officer,
    Action.APPROVE: officer,
    Action.REJECT: officer,
    Action.CLOSE: officer,
    Action.MARK_WAITING_FOR_STOCK: system,
    Action.MARK_ALLOCATED: system,
}


def perform(request: Request, action: Action, actor: Actor | None = None) -> OutcomeResult | None:
    """Do ``action`` with valid default arguments (inventory outcomes: always newer, always different)."""
    who = actor or DEFAULT_ACTOR[action]()
    at = request.updated_at + timedelta(minutes=1)
    match action:
        case Action.EDIT:
            request.update(who, justification=f"Sửa lần {request.version}", at=at)
        case Action.SUBMIT:
            request.submit(who, at=at)
        case Action.RETURN:
            request.return_for_revision(who, reason="Thiếu chữ ký của thủ trưởng đơn vị", at=at)
        case Action.APPROVE:
            request.approve(who, at=at)
        case Action.REJECT:
            request.reject(who, reason="Không thuộc thẩm quyền cấp", at=at)
        case Action.CANCEL:
            request.cancel(who, at=at)
        case Action.MARK_WAITING_FOR_STOCK:
            return request.mark_waiting_for_stock(
                shortfall_for(request, 1 + request.version % 2),
                as_of=next_outcome_time(request),
                actor=who,
                at=at,
            )
        case Action.MARK_ALLOCATED:
            return request.mark_allocated(
                uuid.uuid4(),
                ranges_for(request, start=1 + 10_000 * request.version),
                as_of=next_outcome_time(request),
                actor=who,
                at=at,
            )
        case Action.CONFIRM_RECEIPT:
            request.confirm_receipt(who, at=at)
        case Action.CLOSE:
            request.close(who, at=at)
        case Action.CREATE:  # pragma: no cover
            raise ValueError("use new_request() to create")
    return None


PATH_TO: Final[dict[Status, tuple[Action, ...]]] = {
    Status.DRAFT: (),
    Status.SUBMITTED: (Action.SUBMIT,),
    Status.RETURNED: (Action.SUBMIT, Action.RETURN),
    Status.APPROVED: (Action.SUBMIT, Action.APPROVE),
    Status.REJECTED: (Action.SUBMIT, Action.REJECT),
    Status.CANCELLED: (Action.CANCEL,),
    Status.WAITING_FOR_STOCK: (Action.SUBMIT, Action.APPROVE, Action.MARK_WAITING_FOR_STOCK),
    Status.ALLOCATED: (Action.SUBMIT, Action.APPROVE, Action.MARK_ALLOCATED),
    Status.RECEIVED: (Action.SUBMIT, Action.APPROVE, Action.MARK_ALLOCATED, Action.CONFIRM_RECEIPT),
    Status.CLOSED: (
        Action.SUBMIT,
        Action.APPROVE,
        Action.MARK_ALLOCATED,
        Action.CONFIRM_RECEIPT,
        Action.CLOSE,
    ),
}


def actor_for(action: Action, *, unit: str = UNIT) -> Actor:
    """The actor that may perform ``action`` on a request of ``unit``."""
    if DEFAULT_ACTOR[action] is unit_actor:
        return unit_actor(unit)
    return DEFAULT_ACTOR[action]()


def in_state(status: Status, *, unit: str = UNIT) -> Request:
    """A request driven through legal actions into ``status``; its events are already drained."""
    request = new_request(unit=unit)
    for action in PATH_TO[status]:
        perform(request, action, actor_for(action, unit=unit))
    assert request.status is status, (request.status, status)
    request.pull_events()
    return request
