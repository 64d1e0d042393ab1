"""The requests side of the issuance saga, with this test playing inventory's part on the bus.

`allocation.completed` / `allocation.waiting_for_stock` envelopes, built from the contract models, are
published on the requests service's private copy of phoi.inventory, exactly as inventory's relay would.
Duplicates and late arrivals must not change the outcome; answers that cannot be right are dead-lettered
instead of silently dropped.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from phoi_contracts import topics
from phoi_contracts.envelope import Envelope
from phoi_contracts.events.common import SerialRange
from phoi_contracts.events.inventory import AllocatedLine, AllocationCompleted
from phoi_contracts.events.requests import RequestReceiptConfirmed
from phoi_local.testkit import read_topic
from sqlalchemy import text


def _ranges(request: dict[str, Any]) -> list[list[tuple[int, int]]]:
    return [[(r["first"], r["last"]) for r in line["allocated_ranges"]] for line in request["lines"]]


async def test_allocation_shows_the_ranges_and_the_unit_confirms_receipt(env: Any) -> None:
    approved = await env.approved()
    rid = approved["id"]
    assert approved["status"] == "approved"
    allocation = env.allocation(approved, start=100_001)
    sent = await env.publish(allocation)
    await env.processed(sent)

    allocated = await env.get(rid, env.unit())
    body = allocated.json()
    assert body["status"] == "allocated"
    assert allocated.headers["ETag"] == f'"{approved["version"] + 1}"'
    assert body["allocation_id"] == str(allocation.allocation_id)
    assert _ranges(body) == [[(100_001, 101_200)], [(101_201, 102_000)]]
    assert [line["allocated_quantity"] for line in body["lines"]] == [1200, 800]
    assert body["available_actions"] == ["confirm_receipt"]
    history = (await env.client.get(f"/api/v1/requests/{rid}/history", headers=env.unit())).json()["items"]
    assert (history[-1]["action"], history[-1]["to_status"]) == ("mark_allocated", "allocated")
    assert history[-1]["actor"]["role"] == "system"
    waiting = await env.client.get("/api/v1/requests", params={"waiting_for": "me"}, headers=env.unit())
    assert [r["id"] for r in waiting.json()["items"]] == [rid]

    # proof of delivery: a short line needs a discrepancy note; the named missing serials must fit
    thpt, thcs = (line["line_id"] for line in body["lines"])
    short = {"line_id": thpt, "accepted_quantity": 1198}
    no_note = await env.act(rid, "confirm-receipt", env.unit(), body={"lines": [short]})
    assert (no_note.status_code, no_note.json()["code"]) == (422, "request.discrepancy_note_required")
    next_year = (datetime.now(UTC) + timedelta(days=366)).date().isoformat()
    future = await env.act(rid, "confirm-receipt", env.unit(), body={"received_on": next_year})
    assert (future.status_code, future.json()["code"]) == (422, "request.invalid_field")
    received = await env.act(
        rid,
        "confirm-receipt",
        env.unit(),
        body={
            "received_on": datetime.now(UTC).date().isoformat(),
            "lines": [
                {
                    **short,
                    "discrepancy_note": "Hai phôi bị rách khi vận chuyển",
                    "rejected_ranges": [{"first": 100_500, "last": 100_501}],
                }
            ],
            "comment": "Đã nhận đủ hồ sơ bàn giao",
        },
    )
    assert received.status_code == 200, received.text
    assert (received.json()["status"], received.json()["allocation_status"]) == ("received", "allocated")
    assert [line["accepted_quantity"] for line in received.json()["lines"]] == [1198, 800]
    closed = await env.act(rid, "close", env.officer())
    assert (closed.json()["status"], closed.json()["allocation_status"]) == ("closed", "allocated")

    # request.receipt_confirmed is what inventory needs to move the blanks into the unit's stock
    async with env.svc.runtime.database.session() as session:
        row = await session.execute(
            text("SELECT payload FROM outbox WHERE type = 'request.receipt_confirmed.v1' AND key = :rid"), {"rid": rid}
        )
        envelope = Envelope.model_validate_json(row.scalar_one())
    receipt = RequestReceiptConfirmed.model_validate(envelope.data)
    assert receipt.allocation_ids == (allocation.allocation_id,)
    assert receipt.unit_code == env.UNIT
    assert [(str(li.line_id), li.allocated_quantity, li.accepted_quantity) for li in receipt.lines] == [
        (thpt, 1200, 1198),
        (thcs, 800, 800),
    ]
    assert receipt.lines[0].rejected_ranges == (SerialRange(first=100_500, last=100_501),)


async def test_allocation_status_is_null_before_approval_and_after_a_rejection(api_env: Any) -> None:
    submitted = await api_env.submitted()
    assert (submitted["status"], submitted["allocation_status"]) == ("submitted", None)
    rejected = await api_env.act(submitted["id"], "reject", api_env.officer(), body={"reason": "Không đủ căn cứ"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["allocation_status"]) == ("rejected", None)


async def test_waiting_for_stock_is_visible_then_allocated(env: Any) -> None:
    """Every inventory-driven transition: approved → waiting → waiting (shortfall changed) → allocated →
    allocated (a different allocation replaced it) → waiting (released) → allocated."""
    approved = await env.approved()
    rid = approved["id"]
    # the approval's own answer already says that the inventory is at work
    assert (approved["status"], approved["allocation_status"]) == ("approved", "allocating")

    async def answer(event: Any) -> dict[str, Any]:
        await env.processed(await env.publish(event))
        body: dict[str, Any] = await env.read(rid)
        return body

    async def listed() -> str | None:
        page = (await env.client.get("/api/v1/requests", headers=env.officer())).json()["items"]
        [summary] = [r for r in page if r["id"] == rid]
        status: str | None = summary["allocation_status"]
        return status

    assert await listed() == "allocating"
    body = await answer(env.shortage(approved, available=300))
    assert (body["status"], body["allocation_status"]) == ("waiting_for_stock", "waiting_for_stock")
    assert await listed() == "waiting_for_stock"
    assert [line["shortfall"] for line in body["lines"]] == [900, 500]
    assert _ranges(body) == [[], []]
    counts = (await env.client.get("/api/v1/requests/counts", headers=env.officer())).json()
    assert counts["counts"]["waiting_for_stock"] == 1

    body = await answer(env.shortage(approved, available=600))
    assert (body["status"], [line["shortfall"] for line in body["lines"]]) == ("waiting_for_stock", [600, 200])

    first = env.allocation(approved, start=1)
    body = await answer(first)
    assert (body["status"], body["allocation_id"]) == ("allocated", str(first.allocation_id))
    assert (body["allocation_status"], await listed()) == ("allocated", "allocated")
    assert [line["shortfall"] for line in body["lines"]] == [None, None]
    assert _ranges(body) == [[(1, 1200)], [(1201, 2000)]]

    replacement = env.allocation(approved, start=90_001)
    body = await answer(replacement)
    assert (body["status"], body["allocation_id"]) == ("allocated", str(replacement.allocation_id))
    assert _ranges(body) == [[(90_001, 91_200)], [(91_201, 92_000)]]

    body = await answer(env.shortage(approved, available=0))
    assert (body["status"], body["allocation_id"], _ranges(body)) == ("waiting_for_stock", None, [[], []])

    final = env.allocation(approved, start=500)
    body = await answer(final)
    assert (body["status"], _ranges(body)) == ("allocated", [[(500, 1699)], [(1700, 2499)]])

    history = (await env.client.get(f"/api/v1/requests/{rid}/history", headers=env.officer())).json()["items"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history][-6:] == [
        ("mark_waiting_for_stock", "approved", "waiting_for_stock"),
        ("mark_waiting_for_stock", "waiting_for_stock", "waiting_for_stock"),
        ("mark_allocated", "waiting_for_stock", "allocated"),
        ("mark_allocated", "allocated", "allocated"),
        ("mark_waiting_for_stock", "allocated", "waiting_for_stock"),
        ("mark_allocated", "waiting_for_stock", "allocated"),
    ]
    assert body["version"] == approved["version"] + 6


async def test_duplicates_and_late_arrivals_change_nothing(env: Any) -> None:
    first, second = await env.approved(), await env.approved()
    t0 = datetime.now(UTC)

    # 1. the same envelope twice (a re-delivery), then the same fact in a new envelope (a re-publication)
    allocation = env.allocation(first, start=5_000)
    envelope = env.envelope(allocation, time=t0)
    republished = env.envelope(allocation, time=t0 + timedelta(seconds=5))
    await env.send(envelope, envelope, republished)
    await env.processed(envelope, republished)
    body = await env.read(first["id"])
    assert (body["status"], body["version"]) == ("allocated", first["version"] + 1)
    assert _ranges(body) == [[(5_000, 6_199)], [(6_200, 6_999)]]

    # 2. a waiting_for_stock decided before the allocation arrives after it: stale, ignored
    stale = env.envelope(env.shortage(first), time=t0 - timedelta(seconds=30))
    await env.send(stale)
    await env.processed(stale)
    after = await env.read(first["id"])
    assert after == body

    # 3. out of order for another request: the allocation (newer) overtakes the shortage (older)
    newer = env.envelope(env.allocation(second, start=50_000), time=t0 + timedelta(seconds=2))
    older = env.envelope(env.shortage(second, available=10), time=t0 + timedelta(seconds=1))
    await env.send(newer, older)
    await env.processed(newer, older)
    body = await env.read(second["id"])
    assert (body["status"], body["version"]) == ("allocated", second["version"] + 1)
    assert _ranges(body) == [[(50_000, 51_199)], [(51_200, 51_999)]]

    history = (await env.client.get(f"/api/v1/requests/{first['id']}/history", headers=env.officer())).json()
    assert [h["action"] for h in history["items"]].count("mark_allocated") == 1

    # after receipt, a repeat of the allocation changes nothing either
    received = await env.act(first["id"], "confirm-receipt", env.unit())
    assert received.status_code == 200
    late = env.envelope(allocation, time=t0 + timedelta(seconds=10))
    await env.send(late)
    await env.processed(late)
    final = await env.read(first["id"])
    assert (final["status"], final["version"]) == ("received", received.json()["version"])


async def test_answers_that_cannot_be_right_are_dead_lettered(env: Any, broker: Any) -> None:
    approved = await env.approved()
    submitted = await env.submitted()
    submitted["lines"] = [{**line, "approved_quantity": line["quantity"]} for line in submitted["lines"]]
    wrong_total = env.allocation(approved)
    lines = list(wrong_total.lines)
    lines[0] = AllocatedLine(
        line_id=lines[0].line_id,
        form_type_code=lines[0].form_type_code,
        quantity=10,
        ranges=(SerialRange(first=1, last=10),),
    )
    bad = [
        env.envelope(wrong_total.model_copy(update={"lines": tuple(lines)})),  # not the approved quantity
        env.envelope(env.allocation({**approved, "id": str(uuid.uuid4())})),  # a request we never had
        env.envelope(env.allocation({**approved, "unit_code": env.OTHER_UNIT})),  # another unit's
        env.envelope(env.allocation(submitted)),  # a request not approved (yet)
    ]
    good = env.envelope(env.allocation(approved, start=7))
    await env.send(*bad, good)
    await env.processed(good)  # the partition moved on past the bad ones

    dead = await read_topic(
        broker.bootstrap, env.svc.topic_prefix + topics.dead_letter(topics.INVENTORY), count=len(bad), timeout=30
    )
    assert sorted(Envelope.from_bytes(r.value).id for r in dead) == sorted(e.id for e in bad)
    errors = {dict(r.headers)["error_type"] for r in dead}
    assert errors == {b"AllocationMismatch", b"UnknownRequest"}  # not approved: no approval revision 1 yet
    assert (await env.read(submitted["id"]))["status"] == "submitted"

    body = await env.read(approved["id"])
    assert body["status"] == "allocated"
    assert _ranges(body) == [[(7, 1206)], [(1207, 2006)]]


def test_allocation_envelopes_are_keyed_by_request() -> None:
    """The lead's cross-service test relies on inventory keying allocation events by request id."""
    event = AllocationCompleted(
        request_id=uuid.uuid4(),
        unit_code="SGD-HN",
        allocation_id=uuid.uuid4(),
        approval_revision=1,
        lines=(
            AllocatedLine(line_id=uuid.uuid4(), form_type_code="F", quantity=1, ranges=(SerialRange(first=1, last=1),)),
        ),
    )
    envelope = Envelope.wrap(event, source="/phoi/inventory")
    assert (envelope.subject, envelope.topic) == (str(event.request_id), topics.INVENTORY)
