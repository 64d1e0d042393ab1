"""Invariants the payload models enforce."""

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from phoi_contracts import events
from phoi_contracts.events import MAX_SERIAL, SerialRange, SerialRanges, total_size
from phoi_contracts.examples import EXAMPLES
from pydantic import TypeAdapter, ValidationError

serials = st.integers(min_value=0, max_value=MAX_SERIAL)
RANGES: TypeAdapter[tuple[SerialRange, ...]] = TypeAdapter(SerialRanges)


@given(serials, serials)
def test_serial_range_accepts_ordered_and_rejects_reversed(a: int, b: int) -> None:
    first, last = min(a, b), max(a, b)
    r = SerialRange(first=first, last=last)
    assert r.size == last - first + 1
    if first != last:
        with pytest.raises(ValidationError, match="must not exceed last"):
            SerialRange(first=last, last=first)


@pytest.mark.parametrize(
    ("first", "last"),
    [(-1, 5), (0, -1), (-5, -1), (0, MAX_SERIAL + 1)],
)
def test_serial_range_rejects_negative_and_too_large(first: int, last: int) -> None:
    with pytest.raises(ValidationError):
        SerialRange(first=first, last=last)


@pytest.mark.parametrize("value", ["12", 1.5, True, None])
def test_serial_range_wants_integers(value: object) -> None:
    with pytest.raises(ValidationError):
        SerialRange.model_validate({"first": value, "last": 20})


def test_serial_range_from_json() -> None:
    assert SerialRange.model_validate_json('{"first": 10, "last": 10}').size == 1
    with pytest.raises(ValidationError):
        SerialRange.model_validate_json('{"first": 11, "last": 10}')


def test_range_lists_are_ascending_and_disjoint() -> None:
    ok = RANGES.validate_python([{"first": 1, "last": 5}, {"first": 6, "last": 9}, {"first": 20, "last": 20}])
    assert total_size(ok) == 10
    for bad in (
        [],
        [{"first": 6, "last": 9}, {"first": 1, "last": 5}],  # descending
        [{"first": 1, "last": 5}, {"first": 5, "last": 9}],  # overlapping on 5
        [{"first": 1, "last": 9}, {"first": 3, "last": 4}],  # nested
    ):
        with pytest.raises(ValidationError):
            RANGES.validate_python(bad)


def _example(event_type: str, **changes: Any) -> dict[str, Any]:
    return {**EXAMPLES[event_type], **changes}


def test_approved_quantity_cannot_exceed_requested() -> None:
    line = {"line_id": uuid.uuid4(), "form_type_code": "BTN-THPT", "requested_quantity": 10}
    assert events.ApprovedLine.model_validate({**line, "approved_quantity": 10}).approved_quantity == 10
    with pytest.raises(ValidationError, match="must not exceed"):
        events.ApprovedLine.model_validate({**line, "approved_quantity": 11})


def test_an_approval_approves_something_and_lines_are_unique() -> None:
    lines = EXAMPLES["request.approved.v1"]["lines"]
    zero = [{**line, "approved_quantity": 0} for line in lines]
    with pytest.raises(ValidationError, match="at least one blank"):
        events.RequestApproved.model_validate(_example("request.approved.v1", lines=zero))
    with pytest.raises(ValidationError, match="more than once"):
        events.RequestApproved.model_validate(_example("request.approved.v1", lines=[lines[0], lines[0]]))


def test_receipt_line_rules() -> None:
    base = {"line_id": uuid.uuid4(), "form_type_code": "BTN-THPT", "allocated_quantity": 10}
    assert events.ReceiptLine.model_validate({**base, "accepted_quantity": 10}).discrepancy_note is None
    with pytest.raises(ValidationError, match="discrepancy_note is required"):
        events.ReceiptLine.model_validate({**base, "accepted_quantity": 8})
    with pytest.raises(ValidationError, match="must not exceed"):
        events.ReceiptLine.model_validate({**base, "accepted_quantity": 11, "discrepancy_note": "extra"})
    short = {**base, "accepted_quantity": 8, "discrepancy_note": "2 torn"}
    assert events.ReceiptLine.model_validate({**short, "rejected_ranges": [{"first": 3, "last": 4}]})
    with pytest.raises(ValidationError, match="rejected_ranges"):
        events.ReceiptLine.model_validate({**short, "rejected_ranges": [{"first": 3, "last": 3}]})


def test_allocated_line_quantity_matches_ranges() -> None:
    line = {"line_id": uuid.uuid4(), "form_type_code": "BTN-THPT", "ranges": [{"first": 1, "last": 100}]}
    assert events.AllocatedLine.model_validate({**line, "quantity": 100})
    with pytest.raises(ValidationError, match="quantity must equal"):
        events.AllocatedLine.model_validate({**line, "quantity": 99})


def test_print_batch_quantity_matches_serials() -> None:
    with pytest.raises(ValidationError, match="quantity must equal"):
        events.PrintBatchReceived.model_validate(_example("print_batch.received.v1", quantity=1))


def test_shortfall_is_consistent() -> None:
    line = EXAMPLES["allocation.waiting_for_stock.v1"]["lines"][0]
    with pytest.raises(ValidationError, match="shortfall_quantity"):
        events.Shortfall.model_validate({**line, "shortfall_quantity": 1})


def test_movement_rules() -> None:
    spoil = _example("stock.movement_recorded.v2")
    assert events.StockMovementRecorded.model_validate(spoil).kind is events.MovementKind.SPOIL
    with pytest.raises(ValidationError, match="must end in state spoiled"):
        events.StockMovementRecorded.model_validate({**spoil, "to_state": "lost"})
    with pytest.raises(ValidationError, match="must differ"):
        events.StockMovementRecorded.model_validate(
            {**spoil, "kind": "destroy", "from_state": "destroyed", "to_state": "destroyed"}
        )
    with pytest.raises(ValidationError, match="quantity must equal"):
        events.StockMovementRecorded.model_validate({**spoil, "quantity": 2})
    with pytest.raises(ValidationError, match="use movements only"):
        events.StockMovementRecorded.model_validate({**spoil, "register_entry_numbers": ["1", "2", "3"]})

    use = {**spoil, "kind": "use", "to_state": "used", "reason": None}
    assert events.StockMovementRecorded.model_validate({**use, "register_entry_numbers": ["A1", "A2", "A3"]})
    with pytest.raises(ValidationError, match="one entry per serial"):
        events.StockMovementRecorded.model_validate({**use, "register_entry_numbers": ["A1"]})
    received = {**spoil, "kind": "receive_return", "from_state": "returned", "to_state": "central"}
    assert events.StockMovementRecorded.model_validate(received).to_state is events.BlankState.CENTRAL
    with pytest.raises(ValidationError, match="must end in state central"):
        events.StockMovementRecorded.model_validate({**received, "to_state": "destroyed"})


def test_movement_v2_speaks_the_rest_api_vocabulary() -> None:
    """One name per state and kind: v2 has the inventory REST API's names, and none of v1's own."""
    assert {s.value for s in events.BlankState} == {
        "central",
        "allocated",
        "at_unit",
        "used",
        "spoiled",
        "lost",
        "destroyed",
        "returned",
    }
    assert "receive_return" in {k.value for k in events.MovementKind}
    for old in ("in_vault", "held", "handed_over"):
        with pytest.raises(ValidationError):
            events.StockMovementRecorded.model_validate(_example("stock.movement_recorded.v2", from_state=old))
    with pytest.raises(ValidationError):
        events.StockMovementRecorded.model_validate(_example("stock.movement_recorded.v2", kind="return_received"))


def test_movement_v1_still_parses_with_its_own_names() -> None:
    """Older messages and audit entries of v1 keep parsing after v2 replaced it."""
    spoil = _example("stock.movement_recorded.v1")
    assert events.StockMovementRecordedV1.model_validate(spoil).from_state is events.BlankStateV1.HELD
    with pytest.raises(ValidationError, match="must differ"):
        events.StockMovementRecordedV1.model_validate(
            {**spoil, "kind": "return_received", "from_state": "returned", "to_state": "returned"}
        )
    received = {**spoil, "kind": "return_received", "from_state": "returned", "to_state": "in_vault"}
    assert events.StockMovementRecordedV1.model_validate(received).to_state is events.BlankStateV1.IN_VAULT
    with pytest.raises(ValidationError):
        events.StockMovementRecordedV1.model_validate({**spoil, "from_state": "at_unit"})


def test_form_type_names_and_digits_are_optional_additions() -> None:
    """name_en and digits came later: events published before them still parse."""
    created = _example("form_type.created.v1")
    assert events.FormTypeCreated.model_validate(created).digits == 7
    older = {k: v for k, v in created.items() if k not in {"name_en", "digits"}}
    event = events.FormTypeCreated.model_validate(older)
    assert (event.name_en, event.digits) == (None, None)
    with pytest.raises(ValidationError):
        events.FormTypeCreated.model_validate({**created, "digits": 19})


def test_unit_account_needs_a_unit() -> None:
    with pytest.raises(ValidationError, match="unit_code"):
        events.AccountCreated.model_validate(_example("account.created.v1", unit_code=None))
    individual = _example("account.created.v1", unit_code=None, kind="individual", role="qlcl_officer")
    assert events.AccountCreated.model_validate(individual).unit_code is None


@pytest.mark.parametrize("time_field", ["tokens_not_before"])
def test_datetimes_need_a_time_zone(time_field: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        events.AccountLocked.model_validate(_example("account.locked.v1", **{time_field: "2025-06-02T09:30:00"}))


@pytest.mark.parametrize("code", ["", "has space", "-leading", "x" * 65, "mã"])
def test_codes_are_restricted(code: str) -> None:
    with pytest.raises(ValidationError):
        events.RequestRejected.model_validate(_example("request.rejected.v1", unit_code=code))


def test_checkpoint_hash_is_hex_sha256() -> None:
    with pytest.raises(ValidationError):
        events.AuditCheckpoint.model_validate(_example("audit.checkpoint.v1", latest_hash="XYZ"))
