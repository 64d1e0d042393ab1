"""The audit hash chain: appending, tamper detection, streaming verification, checkpoints."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from phoi_audit.domain import (
    GENESIS_HASH,
    AuditActor,
    AuditEntry,
    BreakReason,
    Checkpoint,
    InvalidAuditEntry,
    chain_next,
    verify,
)

T0 = datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
N = 7
OFFICER = AuditActor(user_id="u-1", username="canbo.qlcl", role="qlcl_officer")


def make_entry(previous: AuditEntry | None, index: int) -> AuditEntry:
    return chain_next(
        previous,
        event_id=uuid.UUID(int=index + 1),
        type="request.approved.v1" if index % 2 else "request.submitted.v1",
        actor=OFFICER if index % 2 else AuditActor("u-9", "sohanoi", "unit_account", "SGDDT-HN"),
        subject=f"req-{index}",
        unit_code="SGDDT-HN",
        occurred_at=T0 + timedelta(seconds=index),
        recorded_at=T0 + timedelta(seconds=index, microseconds=500),
        payload={"index": index, "ghi_chú": f"Phê duyệt lần {index}", "lines": [{"qty": index * 10}]},
    )


def make_chain(n: int = N) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for index in range(n):
        entries.append(make_entry(entries[-1] if entries else None, index))
    return entries


def stream(n: int) -> Iterator[AuditEntry]:
    previous: AuditEntry | None = None
    for index in range(n):
        previous = make_entry(previous, index)
        yield previous


# ---------------------------------------------------------------------------------------------------------
# Appending


def test_chain_links_and_numbers_entries() -> None:
    entries = make_chain()
    assert [e.sequence for e in entries] == list(range(1, N + 1))
    assert entries[0].prev_hash == GENESIS_HASH
    for previous, current in itertools.pairwise(entries):
        assert current.prev_hash == previous.hash
    for entry in entries:
        assert entry.hash == hashlib.sha256(entry.prev_hash.encode() + entry.canonical_bytes()).hexdigest()
        assert len(entry.hash) == 64


def test_chain_next_normalises_times_and_detaches_the_payload() -> None:
    payload: dict[str, Any] = {"ranges": ({"first": 1, "last": 9},)}
    entry = chain_next(
        None,
        event_id=uuid.uuid4(),
        type="allocation.completed.v1",
        actor=AuditActor(),
        subject=None,
        unit_code=None,
        occurred_at=datetime(2025, 6, 1, 8, 0, tzinfo=timezone(timedelta(hours=7))),
        recorded_at=T0,
        payload=payload,
    )
    payload["ranges"] = []
    assert entry.payload == {"ranges": [{"first": 1, "last": 9}]}
    assert entry.occurred_at == T0
    assert entry.occurred_at.tzinfo is UTC


def test_chain_next_continues_from_a_checkpoint() -> None:
    entries = make_chain(3)
    checkpoint = Checkpoint.of(entries[-1], time=T0)
    following = make_entry(None, 3)
    via_checkpoint = chain_next(
        checkpoint,
        event_id=following.event_id,
        type=following.type,
        actor=following.actor,
        subject=following.subject,
        unit_code=following.unit_code,
        occurred_at=following.occurred_at,
        recorded_at=following.recorded_at,
        payload=following.payload,
    )
    assert via_checkpoint == make_entry(entries[-1], 3)


def test_recorded_at_defaults_to_now() -> None:
    before = datetime.now(UTC)
    entry = chain_next(
        None,
        event_id=uuid.uuid4(),
        type="t",
        actor=AuditActor(),
        subject=None,
        unit_code=None,
        occurred_at=T0,
        payload={},
    )
    assert before <= entry.recorded_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"occurred_at": datetime(2025, 6, 1)}, id="naive-occurred"),
        pytest.param({"recorded_at": datetime(2025, 6, 1)}, id="naive-recorded"),
        pytest.param({"payload": {"x": float("nan")}}, id="nan"),
        pytest.param({"payload": {"x": float("inf")}}, id="infinity"),
        pytest.param({"payload": {1: "x"}}, id="int-key"),
        pytest.param({"payload": {"x": {1, 2}}}, id="set"),
        pytest.param({"payload": {"x": b"bytes"}}, id="bytes"),
        pytest.param({"payload": {"x": T0}}, id="datetime-in-payload"),
        pytest.param({"payload": {"x": "\ud800"}}, id="lone-surrogate"),
        pytest.param({"payload": ["not", "an", "object"]}, id="not-an-object"),
        pytest.param({"type": ""}, id="empty-type"),
        pytest.param({"event_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}, id="str-uuid"),
        pytest.param({"subject": 42}, id="int-subject"),
    ],
)
def test_chain_next_refuses_what_cannot_be_canonicalised(overrides: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "type": "t.x.v1",
        "actor": AuditActor(),
        "subject": None,
        "unit_code": None,
        "occurred_at": T0,
        "recorded_at": T0,
        "payload": {},
    }
    fields.update(overrides)
    with pytest.raises(InvalidAuditEntry) as info:
        chain_next(None, **fields)
    assert info.value.code == "audit.invalid_entry"
    assert isinstance(info.value, ValueError)


def test_chain_next_refuses_a_bad_previous_hash() -> None:
    head = Checkpoint.of(None, time=T0)
    bad = dataclasses.replace(make_chain(1)[0], hash="XYZ")
    chain_next(
        head,
        event_id=uuid.uuid4(),
        type="t",
        actor=AuditActor(),
        subject=None,
        unit_code=None,
        occurred_at=T0,
        payload={},
    )
    with pytest.raises(InvalidAuditEntry):
        chain_next(
            bad,
            event_id=uuid.uuid4(),
            type="t",
            actor=AuditActor(),
            subject=None,
            unit_code=None,
            occurred_at=T0,
            payload={},
        )


def test_entry_round_trips_through_dict() -> None:
    for entry in make_chain():
        assert AuditEntry.from_dict(entry.to_dict()) == entry
        assert hash(AuditEntry.from_dict(entry.to_dict())) == hash(entry)


# ---------------------------------------------------------------------------------------------------------
# Verification: an intact chain


def test_intact_chain_verifies() -> None:
    entries = make_chain()
    result = verify(entries)
    assert result.ok
    assert (result.first_broken_sequence, result.reason, result.checked_count) == (None, None, N)
    assert (result.last_sequence, result.last_hash) == (N, entries[-1].hash)


def test_empty_chain_verifies() -> None:
    result = verify([])
    assert result.ok
    assert result.checked_count == 0
    assert result.last_sequence is None


def test_verify_a_suffix_after_a_checkpoint() -> None:
    entries = make_chain()
    checkpoint = Checkpoint.of(entries[2], time=T0)
    result = verify(
        entries[3:], expected_start_prev_hash=checkpoint.hash, expected_first_sequence=checkpoint.sequence + 1
    )
    assert result.ok
    assert result.checked_count == N - 3
    wrong = verify(entries[3:], expected_first_sequence=4)  # genesis is not the hash before entry 4
    assert (wrong.ok, wrong.first_broken_sequence, wrong.reason) == (False, 4, BreakReason.PREV_HASH_MISMATCH)


# ---------------------------------------------------------------------------------------------------------
# Verification: tampering


def _other(value: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 100
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=value.int ^ 1)
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, AuditActor):
        return dataclasses.replace(value, username=f"{value.username}-x")
    if isinstance(value, dict):
        return {**value, "index": -1}
    if isinstance(value, str) and len(value) == 64:
        return ("1" if value[0] == "0" else "0") + value[1:]
    if isinstance(value, str):
        return value + "!"
    if value is None:
        return "x"
    raise AssertionError(value)  # pragma: no cover


FIELDS = [f.name for f in dataclasses.fields(AuditEntry)]
EXPECTED_REASON = {
    "sequence": BreakReason.SEQUENCE_MISMATCH,
    "prev_hash": BreakReason.PREV_HASH_MISMATCH,
}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("position", range(N))
def test_tampering_any_field_of_any_entry_breaks_exactly_there(field: str, position: int) -> None:
    entries = make_chain()
    entries[position] = dataclasses.replace(entries[position], **{field: _other(getattr(entries[position], field))})
    result = verify(entries)
    assert not result.ok
    assert result.first_broken_sequence == position + 1
    assert result.reason is EXPECTED_REASON.get(field, BreakReason.HASH_MISMATCH)
    assert result.checked_count == position
    assert result.detail


@pytest.mark.parametrize("actor_field", ["user_id", "username", "role", "unit_code"])
def test_tampering_any_actor_field_is_detected(actor_field: str) -> None:
    entries = make_chain()
    actor = dataclasses.replace(entries[3].actor, **{actor_field: "kẻ-giả-mạo"})
    entries[3] = dataclasses.replace(entries[3], actor=actor)
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (4, BreakReason.HASH_MISMATCH)


def test_mutating_a_nested_payload_value_is_detected() -> None:
    entries = make_chain()
    entries[2].payload["lines"][0]["qty"] = 999_999
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (3, BreakReason.HASH_MISMATCH)


def test_rehashing_a_tampered_entry_breaks_the_next_link() -> None:
    entries = make_chain()
    forged = dataclasses.replace(entries[2], payload={"index": 2, "ghi_chú": "đã sửa"})
    entries[2] = dataclasses.replace(forged, hash=forged.compute_hash())
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (4, BreakReason.PREV_HASH_MISMATCH)


@pytest.mark.parametrize("position", range(N - 1))
def test_deleting_an_entry_is_a_gap(position: int) -> None:
    entries = make_chain()
    del entries[position]
    result = verify(entries)
    assert not result.ok
    assert result.first_broken_sequence == position + 1
    assert result.reason is BreakReason.SEQUENCE_MISMATCH
    assert result.checked_count == position


def test_deleting_the_newest_entry_needs_a_checkpoint() -> None:
    entries = make_chain()
    checkpoint = Checkpoint.of(entries[-1], time=T0)
    assert verify(entries[:-1]).ok  # a chain cannot know its own end
    result = verify(entries[:-1], checkpoint=checkpoint)
    assert (result.ok, result.first_broken_sequence, result.reason) == (False, N, BreakReason.TRUNCATED)
    assert result.checked_count == N - 1


@pytest.mark.parametrize("position", range(N - 1))
def test_swapping_two_neighbours_breaks_at_the_first(position: int) -> None:
    entries = make_chain()
    entries[position], entries[position + 1] = entries[position + 1], entries[position]
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (position + 1, BreakReason.SEQUENCE_MISMATCH)


def test_swapping_distant_entries_and_renumbering_is_detected() -> None:
    entries = make_chain()
    a, b = entries[1], entries[5]
    entries[1] = dataclasses.replace(b, sequence=2)
    entries[5] = dataclasses.replace(a, sequence=6)
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (2, BreakReason.PREV_HASH_MISMATCH)


def test_a_duplicated_entry_is_detected() -> None:
    entries = make_chain()
    entries.insert(3, entries[3])
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (5, BreakReason.SEQUENCE_MISMATCH)


def test_a_wrong_genesis_is_detected() -> None:
    entries = make_chain()
    entries[0] = dataclasses.replace(entries[0], prev_hash="f" * 64)
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (1, BreakReason.PREV_HASH_MISMATCH)


def test_a_rewritten_tail_is_caught_by_a_checkpoint() -> None:
    entries = make_chain()
    checkpoint = Checkpoint.of(entries[4], time=T0)
    # an attacker with write access rewrites entry 3 and re-chains everything after it
    forged: list[AuditEntry] = entries[:2]
    for index in range(2, N):
        entry = make_entry(forged[-1], index)
        if index == 2:
            entry = chain_next(
                forged[-1],
                event_id=entry.event_id,
                type=entry.type,
                actor=entry.actor,
                subject=entry.subject,
                unit_code=entry.unit_code,
                occurred_at=entry.occurred_at,
                recorded_at=entry.recorded_at,
                payload={"index": 2, "ghi_chú": "bản giả"},
            )
        forged.append(entry)
    assert verify(forged).ok
    result = verify(forged, checkpoint=checkpoint)
    assert (result.ok, result.first_broken_sequence, result.reason) == (False, 5, BreakReason.CHECKPOINT_MISMATCH)
    assert verify(entries, checkpoint=checkpoint).ok


def test_checkpoint_at_the_start_boundary() -> None:
    entries = make_chain()
    assert verify(entries, checkpoint=Checkpoint.of(None, time=T0)).ok
    bad = Checkpoint(sequence=0, hash="a" * 64, count=0, time=T0)
    result = verify(entries, checkpoint=bad)
    assert (result.ok, result.reason) == (False, BreakReason.CHECKPOINT_MISMATCH)
    with pytest.raises(ValueError, match="precedes"):
        verify(entries[3:], expected_first_sequence=4, expected_start_prev_hash=entries[2].hash, checkpoint=bad)


def test_malformed_stored_entry_is_reported_not_raised() -> None:
    entries = make_chain()
    entries[4] = dataclasses.replace(entries[4], occurred_at=datetime(2025, 6, 1))
    result = verify(entries)
    assert (result.first_broken_sequence, result.reason) == (5, BreakReason.MALFORMED_ENTRY)
    assert result.detail is not None
    assert "timezone" in result.detail


def test_verify_refuses_a_malformed_start_hash() -> None:
    with pytest.raises(InvalidAuditEntry):
        verify([], expected_start_prev_hash="nope")


# ---------------------------------------------------------------------------------------------------------
# Streaming


def test_verify_reads_an_iterator_once_and_stops_at_the_break() -> None:
    entries = make_chain()
    entries[2] = dataclasses.replace(entries[2], type="forged")
    consumed: list[int] = []

    def source() -> Iterator[AuditEntry]:
        for entry in entries:
            consumed.append(entry.sequence)
            yield entry

    result = verify(source())
    assert result.first_broken_sequence == 3
    assert consumed == [1, 2, 3]


@pytest.mark.slow
def test_verify_runs_in_constant_memory() -> None:
    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            assert verify(stream(n)).ok
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(100), peak(2000)
    assert large < small * 2 + 64_000  # 20 times the entries, (nearly) the same peak


# ---------------------------------------------------------------------------------------------------------
# Checkpoint values


def test_checkpoint_values() -> None:
    entries = make_chain()
    checkpoint = Checkpoint.of(entries[-1], time=T0)
    assert (checkpoint.sequence, checkpoint.hash, checkpoint.count) == (N, entries[-1].hash, N)
    assert checkpoint.to_dict()["time"] == "2025-06-01T01:00:00.000000Z"
    assert Checkpoint.of(None, time=T0) == Checkpoint(0, GENESIS_HASH, 0, T0)
    invalid: list[Callable[[], Checkpoint]] = [
        lambda: Checkpoint(-1, GENESIS_HASH, 0, T0),
        lambda: Checkpoint(1, "A" * 64, 1, T0),
        lambda: Checkpoint(1, GENESIS_HASH, -1, T0),
        lambda: Checkpoint(1, GENESIS_HASH, 1, datetime(2025, 1, 1)),
    ]
    for build in invalid:
        with pytest.raises(InvalidAuditEntry):
            build()
