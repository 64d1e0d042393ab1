"""The fast synthetic-chain generator (benchmarks, big fixtures) writes exactly what chain_next would."""

from __future__ import annotations

import uuid

from phoi_audit.adapters.entries import ENTRY_COLUMNS, entry_from_row, entry_row
from phoi_audit.domain import Checkpoint, verify
from phoi_audit.synthetic import synthetic_chain, synthetic_rows


def test_synthetic_rows_equal_the_domain_chain_and_verify() -> None:
    ids = [uuid.uuid4() for _ in range(40)]
    via_domain = list(synthetic_chain(40, payload_size=17, event_id=ids.__getitem__))
    rows = list(synthetic_rows(40, payload_size=17, event_id=ids.__getitem__))
    assert rows == [tuple(entry_row(e)[c] for c in ENTRY_COLUMNS) for e in via_domain]
    entries = [entry_from_row(row) for row in rows]
    assert verify(entries).ok

    head = Checkpoint.of(via_domain[-1])
    more = list(synthetic_rows(5, start=head))
    result = verify(
        [entry_from_row(r) for r in more],
        expected_start_prev_hash=head.hash,
        expected_first_sequence=41,
    )
    assert result.ok
    assert result.checked_count == 5
