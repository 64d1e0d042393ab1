"""The broker down for `OUTAGE_SECONDS` while units submit and QLCL approves, then back — empty, as the
one-machine Tansu broker (memory storage) always comes back. The services keep answering; their outboxes hold
every event; once the broker is up, the launcher's recovery (topics created, `python -m phoi_local replay`:
every retained outbox row re-published in order, then the services started) brings every event back, and the
consumers apply none twice.

(Tansu on `s3://` storage would keep its log over a restart; that variant needs an S3 server such as moto,
which is not in requirements.lock: not run here.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from phoi_contracts import topics
from phoi_kit.kafka import ensure_topics, with_dead_letters
from phoi_local.faults import OUTAGE_SECONDS, Clock, FaultStack, ready, say
from phoi_local.procutil import wait_until
from phoi_local.stack import replay_databases

pytestmark = [pytest.mark.slow]


def test_work_done_while_the_broker_is_down_goes_through_after_it_returns_empty(
    faults: FaultStack, fault_broker: Any
) -> None:
    before = faults.submitted(100)
    faults.approve(before, 100)
    faults.wait_status(before["id"], "allocated")
    faults.check()

    fault_broker.stop()
    say(f"broker stopped for {OUTAGE_SECONDS:.0f}s; units submit and QLCL approves meanwhile")
    down = Clock()
    faults.confirm_receipt(before["id"])
    during = [faults.submitted(q) for q in (40, 60)]
    for request, quantity in zip(during, (40, 60), strict=True):
        faults.approve(request, quantity)
    assert {faults.status(r["id"]) for r in during} == {"approved"}  # inventory cannot have heard of them
    if (left := OUTAGE_SECONDS - down()) > 0:
        time.sleep(left)  # the outage itself, not a wait for anything

    fault_broker.start()
    back = Clock()
    replayed = relaunch_recovery(faults, fault_broker.bootstrap)
    say(f"broker back after {down():.1f}s down, empty; replay marked {replayed} for re-publishing")
    settled = faults.check()
    wait_until(lambda: all(ready(s.url) for s in faults.stack.services.values()), timeout=60, what="ready")
    say(
        f"every request where it belongs and every outbox drained {settled:.1f}s after replay ({back():.1f}s after "
        "the broker returned)"
    )


def relaunch_recovery(faults: FaultStack, bootstrap: str) -> dict[str, int]:
    """What `make run` does with a broker that comes back empty: the topics, the replay of every outbox, then
    the services. They are restarted because a running consumer keeps its read positions from before the
    outage, past the end of the new, shorter topics, and would wait there for offsets that never come."""
    services = list(faults.stack.services.values())
    for service in services:
        service.stop()
    prefixed = [faults.topic_prefix + t for t in with_dead_letters(topics.ALL)]
    asyncio.run(ensure_topics(bootstrap, prefixed))
    replayed = asyncio.run(replay_databases(faults.databases))
    for service in services:
        service.launch()
    for service in services:
        service.wait_healthy()
    return replayed
