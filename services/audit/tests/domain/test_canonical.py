"""The canonical serialisation: pinned format, determinism, key-order independence (hypothesis)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phoi_audit.domain import (
    GENESIS_HASH,
    AuditActor,
    AuditEntry,
    canonical_bytes_of,
    canonical_datetime,
    canonical_json,
    chain_next,
    verify,
)

GOLDEN_CANONICAL = (
    '{"actor":{"role":"qlcl_officer","unit_code":null,"user_id":"u-1","username":"canbo.qlcl"},'
    '"event_id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","occurred_at":"2025-06-01T01:02:03.000004Z",'
    '"payload":{"a":[1,1.5,true,null],"b":{"y":2,"z":1},"lý_do":"Đồng ý cấp phôi"},'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"recorded_at":"2025-06-01T01:02:04.000000Z","sequence":1,"subject":"req-1",'
    '"type":"request.approved.v1","unit_code":"SGDDT-HN"}'
)
GOLDEN_HASH = "3d4e6d3403f9de0ca301e5e3fecdf9f3674bda1aeb7dd8378a17cf768ed3e474"


def golden_entry() -> AuditEntry:
    return chain_next(
        None,
        event_id=uuid.UUID("3F2504E0-4F89-11D3-9A0C-0305E82C3301"),
        type="request.approved.v1",
        actor=AuditActor(user_id="u-1", username="canbo.qlcl", role="qlcl_officer", unit_code=None),
        subject="req-1",
        unit_code="SGDDT-HN",
        occurred_at=datetime(2025, 6, 1, 8, 2, 3, 4, tzinfo=timezone(timedelta(hours=7))),
        recorded_at=datetime(2025, 6, 1, 1, 2, 4, tzinfo=UTC),
        payload={"lý_do": "Đồng ý cấp phôi", "a": [1, 1.5, True, None], "b": {"z": 1, "y": 2}},
    )


def test_golden_entry_is_pinned() -> None:
    """If this fails, the format changed and every stored hash with it: that needs a new format version."""
    entry = golden_entry()
    assert entry.canonical_bytes() == GOLDEN_CANONICAL.encode("utf-8")
    assert entry.hash == GOLDEN_HASH
    assert hashlib.sha256((GENESIS_HASH + GOLDEN_CANONICAL).encode("utf-8")).hexdigest() == GOLDEN_HASH


def test_format_rules() -> None:
    raw = golden_entry().canonical_bytes()
    text = raw.decode("utf-8")
    assert "Đồng ý cấp phôi".encode() in raw  # UTF-8, not \\u escapes
    assert "\\u" not in text
    assert ", " not in text
    assert ": " not in text
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert "hash" not in json.loads(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2025, 6, 1, 7, 0, tzinfo=timezone(timedelta(hours=7))), "2025-06-01T00:00:00.000000Z"),
        (datetime(2025, 1, 1, tzinfo=UTC), "2025-01-01T00:00:00.000000Z"),
        (datetime(999, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "0999-01-01T00:00:00.000001Z"),
    ],
)
def test_datetimes(value: datetime, expected: str) -> None:
    assert canonical_datetime(value, field="t") == expected


def test_equal_instants_in_other_zones_hash_the_same() -> None:
    utc_entry = golden_entry()
    shifted = AuditEntry(
        **{
            **{name: getattr(utc_entry, name) for name in AuditEntry.__dataclass_fields__},
            "recorded_at": utc_entry.recorded_at.astimezone(timezone(timedelta(hours=-5))),
        }
    )
    assert shifted.compute_hash() == utc_entry.hash


def test_numbers_keep_their_kind() -> None:
    assert canonical_json({"a": 1}) != canonical_json({"a": 1.0})
    assert canonical_json({"a": True}) != canonical_json({"a": 1})
    assert canonical_json({"a": (1, 2)}) == canonical_json({"a": [1, 2]})


# ---------------------------------------------------------------------------------------------------------
# Hypothesis

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
texts = st.one_of(
    st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " _-.0123456789", max_size=20),
    st.text(max_size=12),  # any Unicode (hypothesis leaves out lone surrogates)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(texts, children, max_size=5),
    ),
    max_leaves=25,
)
payloads = st.dictionaries(texts, json_values, max_size=8)


def reorder(value: Any) -> Any:
    """The same JSON value with every object's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {key: reorder(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(item) for item in value]
    return value


@settings(max_examples=150, deadline=None)
@given(payloads)
def test_canonical_form_is_deterministic_and_key_order_independent(payload: dict[str, Any]) -> None:
    first = canonical_bytes_of(payload)
    assert canonical_bytes_of(payload) == first
    assert canonical_bytes_of(reorder(payload)) == first
    # what is read back (e.g. from a JSONB column) serialises to the same bytes
    assert canonical_bytes_of(json.loads(first.decode("utf-8"))) == first


@settings(max_examples=50, deadline=None)
@given(payloads, payloads, texts)
def test_random_payloads_chain_and_verify(first: dict[str, Any], second: dict[str, Any], unit: str) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    a = chain_next(
        None,
        event_id=uuid.uuid4(),
        type="stock.movement_recorded.v2",
        actor=AuditActor(username="người-dùng", unit_code=unit),
        subject=None,
        unit_code=unit,
        occurred_at=now,
        recorded_at=now,
        payload=first,
    )
    b = chain_next(
        a,
        event_id=uuid.uuid4(),
        type="stock.movement_recorded.v2",
        actor=AuditActor(),
        subject="s",
        unit_code=None,
        occurred_at=now,
        recorded_at=now,
        payload=reorder(second),
    )
    assert verify([a, b]).ok
    assert AuditEntry.from_dict(json.loads(json.dumps(a.to_dict()))).compute_hash() == a.hash
    tampered = AuditEntry(
        **{
            **{name: getattr(b, name) for name in AuditEntry.__dataclass_fields__},
            "payload": {**b.payload, "\x00thêm": "giả"},
        }
    )
    result = verify([a, tampered])
    assert (result.ok, result.first_broken_sequence) == (False, 2)
