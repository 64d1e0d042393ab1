"""Plain unit tests of the API's and the service's small pieces: error mapping, versions, cursors, uploads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from phoi_kit.auth import CurrentUser
from phoi_kit.auth import Role as TokenRole
from phoi_kit.errors import Problem, problem_from, status_of
from phoi_kit.pagination import decode_cursor, encode_cursor
from phoi_kit.versioning import parse_if_match
from phoi_requests.adapters.requests import StaleRequest
from phoi_requests.api.deps import actor_of, parse_request_cursor, request_cursor
from phoi_requests.api.errors import ERROR_MAP
from phoi_requests.domain import (
    ALL_ERRORS,
    ActionForbidden,
    AllocationConflict,
    IllegalTransition,
    InvalidQuantity,
    RequestDomainError,
    RequestNotFound,
    Role,
    RuleViolation,
    UnitInactive,
    VersionConflict,
)
from phoi_requests.service.uploads import (
    JPEG,
    PDF,
    PNG,
    check_upload,
    clean_filename,
    content_disposition,
    sniff,
)


def _user(*roles: TokenRole, unit: str | None = None) -> CurrentUser:
    return CurrentUser(
        user_id="u1", username="someone", roles=frozenset(roles), unit_code=unit, session_id=None, issued_at=0
    )


# --- domain errors → problems ----------------------------------------------------------------------------


def problem_for(error: RequestDomainError | StaleRequest) -> Problem:
    """What the kit answers for this error, with the service's error map."""
    status = status_of(ERROR_MAP, error)
    assert status is not None
    return problem_from(error, status)


def _instance(cls: type[RequestDomainError]) -> RequestDomainError:
    if cls is RequestNotFound:
        return RequestNotFound(uuid.uuid4())
    if cls is ActionForbidden:
        return ActionForbidden("approve", "auditor")
    if cls is IllegalTransition:
        return IllegalTransition("closed", "approve")
    if cls is VersionConflict:
        return VersionConflict(1, 2)
    if cls is AllocationConflict:
        return AllocationConflict("received", uuid.uuid4(), uuid.uuid4())
    if cls is UnitInactive:
        return UnitInactive("SGD-HN")
    if issubclass(cls, RuleViolation):
        return cls("bad", field="somewhere")
    return cls("something")


EXPECTED_STATUS = {
    RequestNotFound: 404,
    ActionForbidden: 403,
    VersionConflict: 412,
    IllegalTransition: 409,
    AllocationConflict: 409,
    UnitInactive: 409,
}


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_domain_error_maps_to_a_problem_keeping_its_code(cls: type[RequestDomainError]) -> None:
    problem = problem_for(_instance(cls))
    assert isinstance(problem, Problem)
    assert problem.code == cls.code
    if cls in EXPECTED_STATUS:
        assert problem.status == EXPECTED_STATUS[cls]
    elif issubclass(cls, RuleViolation):
        assert problem.status == 422
        assert problem.extra["field"] == "somewhere"
    body = problem.to_body()
    assert body["code"] == cls.code


def test_a_concurrent_save_is_a_version_conflict() -> None:
    problem = problem_for(StaleRequest(uuid.uuid4(), 4))
    assert (problem.status, problem.code, problem.extra) == (412, "version_mismatch", {"expected_version": 4})
    assert problem.title == "The resource changed since you read it"


def test_illegal_transition_problem_names_the_current_state() -> None:
    body = problem_for(IllegalTransition("approved", "submit")).to_body()
    assert (body["status"], body["current_state"], body["action"]) == (409, "approved", "submit")
    assert problem_for(InvalidQuantity("no", field="lines[0].quantity")).to_body()["field"] == "lines[0].quantity"


# --- who acts --------------------------------------------------------------------------------------------


def test_actor_of_a_token() -> None:
    unit = actor_of(_user(TokenRole.UNIT_ACCOUNT, unit="SGD-HN"))
    assert (unit.role, unit.unit_code) == (Role.UNIT_ACCOUNT, "SGD-HN")
    assert actor_of(_user(TokenRole.QLCL_ADMIN, TokenRole.QLCL_OFFICER)).role is Role.QLCL_OFFICER
    assert actor_of(_user(TokenRole.QLCL_ADMIN)).role is Role.QLCL_ADMIN
    assert actor_of(_user(TokenRole.AUDITOR)).role is Role.AUDITOR
    assert actor_of(_user(TokenRole.QLCL_OFFICER, unit="X")).unit_code is None
    with pytest.raises(Problem) as none:
        actor_of(_user())
    assert (none.value.status, none.value.code) == (403, "role_required")
    with pytest.raises(Problem) as no_unit:
        actor_of(_user(TokenRole.UNIT_ACCOUNT))
    assert (no_unit.value.status, no_unit.value.code) == (403, "unit_code_missing")


# --- versions and cursors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"12"', 12), ("7", 7), (' "1" ', 1), (None, None)])
def test_if_match_forms(header: str | None, version: int | None) -> None:
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", ["*", '"abc"', '"1", "2"', '"-1"', "", '"99999999999"', '"3', 'W/3"'])
def test_if_match_that_is_not_a_version_is_a_bad_request(header: str) -> None:
    with pytest.raises(Problem) as refused:
        parse_if_match(header)
    assert (refused.value.status, refused.value.code) == (400, "invalid_if_match")


def test_cursors_round_trip_and_refuse_garbage() -> None:
    at, rid = datetime(2025, 6, 1, 3, 4, 5, 123456, tzinfo=UTC), uuid.uuid4()
    assert parse_request_cursor(request_cursor(at, rid)) == (at, rid)
    assert decode_cursor(encode_cursor("BTN-THPT"), 1) == ["BTN-THPT"]
    for garbage in ("!!!", encode_cursor("a"), encode_cursor("not-a-date", str(rid)), encode_cursor("x", "y", "z")):
        with pytest.raises(Problem) as refused:
            parse_request_cursor(garbage)
        assert (refused.value.status, refused.value.code) == (400, "invalid_cursor")


# --- uploads ---------------------------------------------------------------------------------------------


def test_sniffing_by_content() -> None:
    assert sniff(b"%PDF-1.4 ...") is PDF
    assert sniff(b"\x89PNG\r\n\x1a\n....") is PNG
    assert sniff(b"\xff\xd8\xff\xdb....") is JPEG
    assert sniff(b"MZ\x90\x00") is None
    assert sniff(b"  %PDF-1.4") is None
    assert sniff(b"GIF89a") is None


def test_check_upload_refusals() -> None:
    def code(content: bytes, declared: str | None = None, limit: int = 100) -> tuple[int, str]:
        with pytest.raises(Problem) as refused:
            check_upload(content, filename="x.pdf", declared_type=declared, limit=limit)
        return refused.value.status, refused.value.code

    assert code(b"%PDF-" + b"x" * 100) == (413, "request.attachment_too_large")
    assert code(b"") == (422, "request.attachment_empty")
    assert code(b"MZ\x90\x00", "application/pdf") == (415, "request.attachment_type_unsupported")
    assert code(b"\x89PNG\r\n\x1a\n", "application/pdf") == (415, "request.attachment_type_mismatch")
    ok = check_upload(b"\x89PNG\r\n\x1a\n", filename="scan", declared_type="application/octet-stream", limit=100)
    assert (ok.kind, ok.filename, ok.size_bytes) == (PNG, "scan", 8)
    assert check_upload(b"\xff\xd8\xff", filename="a.jpg", declared_type="image/jpg", limit=3).kind is JPEG
    assert check_upload(b"%PDF-", filename="a.pdf", declared_type="application/pdf; q=1", limit=5).kind is PDF


def test_filenames_are_cleaned_and_disposed_safely() -> None:
    assert clean_filename("C:\\Users\\a\\Công văn.pdf", PDF) == "Công văn.pdf"
    assert clean_filename("../../etc/passwd", PDF) == "passwd"
    assert clean_filename("a\x00b\nc.pdf", PDF) == "abc.pdf"
    assert clean_filename("", PNG) == "attachment.png"
    long = clean_filename("x" * 300 + ".pdf", PDF)
    assert len(long) == 255
    assert long.endswith(".pdf")
    disposition = content_disposition('Đề nghị "cấp" phôi.pdf')
    assert disposition.startswith("attachment; filename=\"De nghi _cap_ phoi.pdf\"; filename*=UTF-8''")
    assert "%C4%90%E1%BB%81" in disposition
