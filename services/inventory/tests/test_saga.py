"""The inventory's part of the issuance saga: request.approved → allocation.completed / waiting_for_stock,
request.receipt_confirmed → the unit's stock, re-approval and cancellation; idempotent on the fact."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from phoi_contracts.envelope import Actor, Envelope
from phoi_contracts.events.common import SerialRange
from phoi_contracts.events.requests import ReceiptLine, RequestCancelled
from phoi_inventory.service.saga import SagaError
from phoi_local.testkit import cloudevent_from_record, read_topic, wait_for


async def _published(env: Any, topic: str) -> list[Envelope]:
    """Everything the relay published on the service's private `topic`, once the outbox is drained; each
    record is a CloudEvent by the CloudEvents SDK's reading."""

    async def drained() -> bool:
        return int(await env.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")) == 0

    await wait_for(drained, timeout=20, what="outbox drained")
    count = int(await env.scalar("SELECT count(*) FROM outbox WHERE topic = :t", t=topic))
    records = await read_topic(env.svc.settings.kafka_bootstrap, env.svc.topic_prefix + topic, count=count)
    for record in records:
        cloudevent_from_record(record)
    return [Envelope.from_bytes(r.value) for r in records]


async def test_approval_and_receipt_over_the_bus(env: Any) -> None:
    thpt = await env.form_type()
    other = await env.form_type()
    await env.batch(thpt, 1, 10_000)
    approved = env.approval([(thpt, 3_000), (thpt, 1_000), (other, 0)])
    envelope = env.envelope(approved)
    await env.send(envelope)
    await env.processed(envelope)

    [completed] = [e for e in await _published(env, "phoi.inventory") if e.type == "allocation.completed.v1"]
    assert completed.subject == str(approved.request_id)
    data = completed.data
    assert data["request_id"] == str(approved.request_id)
    assert data["unit_code"] == env.UNIT
    assert data["approval_revision"] == 1
    assert [(line["line_id"], line["quantity"], line["ranges"]) for line in data["lines"]] == [
        (str(approved.lines[0].line_id), 3_000, [{"first": 1, "last": 3_000}]),
        (str(approved.lines[1].line_id), 1_000, [{"first": 3_001, "last": 4_000}]),
    ]

    # the same fact again, in a new envelope (a replay, a double click upstream): nothing changes
    before = await env.snapshot()
    again = env.envelope(approved)
    await env.send(again, envelope)
    await env.processed(again)
    assert await env.snapshot() == before
    [allocation] = await env.allocations(approved.request_id)
    assert allocation["allocation_id"] == data["allocation_id"]

    by_state = {(line["state"], line["holder_unit"]): line for line in await env.stock(form_type=thpt)}
    assert by_state[("allocated", env.UNIT)]["ranges"][0] == {
        "first": 1,
        "last": 4_000,
        "count": 4_000,
        "first_label": "TS0000001",
        "last_label": "TS0004000",
    }
    assert by_state[("central", None)]["count"] == 6_000

    unit_user = Actor(user_id="u-1", username="sgd-hn", role="unit_account", unit_code=env.UNIT)
    receipt = env.envelope(env.receipt(approved, uuid.UUID(data["allocation_id"])), actor=unit_user)
    await env.send(receipt)
    await env.processed(receipt)
    by_state = {(line["state"], line["holder_unit"]): line for line in await env.stock(form_type=thpt)}
    assert by_state[("at_unit", env.UNIT)]["count"] == 4_000
    assert ("allocated", env.UNIT) not in by_state
    [received] = await env.outbox("stock.received_by_unit.v1")
    assert received["subject"] == str(approved.request_id)
    assert [line["quantity"] for line in received["data"]["lines"]] == [3_000, 1_000]
    receive_line = (await env.fetch("SELECT actor_id, actor_role, occurred_on FROM ledger WHERE kind = 'receive'"))[0]
    assert (receive_line.actor_id, receive_line.actor_role) == ("u-1", "unit")
    [allocation] = await env.allocations(approved.request_id)
    assert allocation["status"] == "received"
    assert allocation["received_on"] == "2025-06-10"

    before = await env.snapshot()
    repeat = env.envelope(env.receipt(approved, uuid.UUID(data["allocation_id"])))
    await env.handle(repeat)
    assert await env.snapshot() == before


async def test_shortfall_waits_visibly_and_completes_oldest_first(api_env: Any) -> None:
    ft = await api_env.form_type()
    plenty = await api_env.form_type()
    await api_env.batch(ft, 1, 100)
    await api_env.batch(plenty, 1, 1_000)
    first, a = await api_env.approve([(ft, 300)])
    second, b = await api_env.approve([(ft, 50)], unit=api_env.OTHER_UNIT)
    third, c = await api_env.approve([(plenty, 500)])
    assert (a["status"], b["status"], c["status"]) == ("waiting_for_stock", "waiting_for_stock", "completed")
    assert a["lines"][0]["available_quantity"] == 100
    assert b["lines"][0]["available_quantity"] == 0  # the older request's demand is reserved
    waiting = {e["data"]["request_id"]: e["data"] for e in await api_env.outbox("allocation.waiting_for_stock.v1")}
    assert waiting[str(first.request_id)]["lines"] == [
        {
            "line_id": str(first.lines[0].line_id),
            "form_type_code": ft,
            "approved_quantity": 300,
            "available_quantity": 100,
            "shortfall_quantity": 200,
        }
    ]
    assert waiting[str(second.request_id)]["lines"][0]["shortfall_quantity"] == 50
    # a batch that still does not cover the oldest request changes nothing and says nothing new
    await api_env.batch(ft, 101, 150)
    assert len(await api_env.outbox("allocation.waiting_for_stock.v1")) == 2
    assert not [
        e for e in await api_env.outbox("allocation.completed.v1") if e["data"]["request_id"] != str(third.request_id)
    ]
    await api_env.batch(ft, 151, 400)
    completed = [e["data"] for e in await api_env.outbox("allocation.completed.v1")]
    assert [d["request_id"] for d in completed] == [
        str(third.request_id),
        str(first.request_id),
        str(second.request_id),
    ]
    assert completed[1]["lines"][0]["ranges"] == [{"first": 1, "last": 300}]
    assert completed[2]["lines"][0]["ranges"] == [{"first": 301, "last": 350}]
    [a] = await api_env.allocations(first.request_id)
    assert a["status"] == "completed"
    assert a["lines"][0]["available_quantity"] is None


async def test_receipt_with_rejected_serials_returns_them_to_qlcl(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    approved, allocation = await api_env.approve([(ft, 100), (ft, 50)])
    [line1, line2] = approved.lines
    receipt = api_env.receipt(
        approved,
        uuid.UUID(allocation["allocation_id"]),
        lines=[
            ReceiptLine(
                line_id=line1.line_id,
                form_type_code=ft,
                allocated_quantity=100,
                accepted_quantity=90,
                discrepancy_note="10 tờ bị ẩm",
                rejected_ranges=(SerialRange(first=91, last=100),),
            ),
            ReceiptLine(
                line_id=line2.line_id,
                form_type_code=ft,
                allocated_quantity=50,
                accepted_quantity=45,
                discrepancy_note="thiếu 5 tờ, chưa xác định số hiệu",
            ),
        ],
    )
    await api_env.handle(api_env.envelope(receipt))
    by_state = {line["state"]: line for line in await api_env.stock(form_type=ft, unit_code=api_env.UNIT)}
    assert [(r["first"], r["last"]) for r in by_state["at_unit"]["ranges"]] == [(1, 90), (101, 150)]
    assert [(r["first"], r["last"]) for r in by_state["returned"]["ranges"]] == [(91, 100)]
    [received] = await api_env.outbox("stock.received_by_unit.v1")
    assert [(line["quantity"], line["ranges"]) for line in received["data"]["lines"]] == [
        (90, [{"first": 1, "last": 90}]),
        (50, [{"first": 101, "last": 150}]),
    ]
    [returned] = await api_env.outbox("stock.movement_recorded.v2")
    assert (returned["data"]["kind"], returned["data"]["from_state"], returned["data"]["to_state"]) == (
        "return",
        "at_unit",
        "returned",
    )
    assert returned["data"]["ranges"] == [{"first": 91, "last": 100}]
    [stored] = await api_env.allocations(approved.request_id)
    assert [(li["accepted_quantity"], li["discrepancy_note"]) for li in stored["lines"]] == [
        (90, "10 tờ bị ẩm"),
        (45, "thiếu 5 tờ, chưa xác định số hiệu"),
    ]
    # QLCL takes the returned blanks back into the central stock
    back = await api_env.move(
        {
            "kind": "receive_return",
            "form_type": ft,
            "holder_unit": api_env.UNIT,
            "items": [{"first": 91, "last": 100}],
            "document_ref": "BB-nhận-lại-01",
        },
        api_env.officer(),
    )
    assert back.status_code == 201, back.text
    central = [line for line in await api_env.stock(form_type=ft, unit_code="QLCL") if line["state"] == "central"]
    assert [(r["first"], r["last"]) for r in central[0]["ranges"]] == [(91, 100), (151, 1_000)]


async def test_reapproval_supersedes_stale_is_ignored_and_cancel_releases(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    first = api_env.approval([(ft, 100)])
    await api_env.handle(api_env.envelope(first))
    second = api_env.approval([(ft, 60)], request_id=first.request_id, revision=2)
    second = second.model_copy(update={"lines": (first.lines[0].model_copy(update={"approved_quantity": 60}),)})
    await api_env.handle(api_env.envelope(second))
    [one, two] = await api_env.allocations(first.request_id)
    assert (one["status"], two["status"]) == ("superseded", "completed")
    assert two["lines"][0]["ranges"][0] == {
        "first": 1,
        "last": 60,
        "count": 60,
        "first_label": "TS0000001",
        "last_label": "TS0000060",
    }
    [released] = await api_env.outbox("allocation.released.v1")
    assert released["data"]["allocation_id"] == one["allocation_id"]
    assert released["data"]["lines"][0]["ranges"] == [{"first": 1, "last": 100}]
    # revision 1 again (a late re-delivery in a new envelope): stale, nothing happens
    before = await api_env.snapshot()
    await api_env.handle(api_env.envelope(first))
    assert await api_env.snapshot() == before

    await api_env.handle(
        api_env.envelope(RequestCancelled(request_id=first.request_id, unit_code=api_env.UNIT, reason="Huỷ"))
    )
    [_, two] = await api_env.allocations(first.request_id)
    assert (two["status"], two["closed_reason"]) == ("cancelled", "Huỷ")
    [line] = await api_env.stock(form_type=ft)
    assert (line["state"], line["count"], line["block_count"]) == ("central", 1_000, 1)
    ledger = await api_env.fetch("SELECT kind FROM ledger WHERE form_type = :ft ORDER BY id", ft=ft)
    assert [r.kind for r in ledger] == ["receive_print", "allocate", "release", "allocate", "release"]


async def test_an_approval_for_a_form_type_not_yet_defined_waits_for_its_stock(api_env: Any) -> None:
    approved, allocation = await api_env.approve([("NOT-YET-DEFINED", 20)])
    assert allocation["status"] == "waiting_for_stock"
    assert allocation["lines"][0]["available_quantity"] == 0
    await api_env.form_type("NOT-YET-DEFINED")
    await api_env.batch("NOT-YET-DEFINED", 1, 100)
    [allocation] = await api_env.allocations(approved.request_id)
    assert allocation["status"] == "completed"


async def test_impossible_saga_events_raise_and_change_nothing(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 100)
    approved, allocation = await api_env.approve([(ft, 500)])
    assert allocation["status"] == "waiting_for_stock"
    before = await api_env.snapshot()
    with pytest.raises(SagaError, match="nothing to receive"):
        await api_env.handle(api_env.envelope(api_env.receipt(approved, uuid.UUID(allocation["allocation_id"]))))
    with pytest.raises(SagaError, match="does not know"):
        await api_env.handle(api_env.envelope(api_env.receipt(approved, uuid.uuid4())))
    assert await api_env.snapshot() == before


async def test_an_impossible_event_goes_to_the_dead_letter_topic(env: Any) -> None:
    approved = env.approval([("THPT", 5)])
    bad = env.envelope(env.receipt(approved, uuid.uuid4()))
    before = await env.snapshot()
    await env.send(bad)
    [dead] = await read_topic(
        env.svc.settings.kafka_bootstrap, env.svc.topic_prefix + "phoi.requests.dlq", count=1, timeout=30
    )
    assert Envelope.from_bytes(dead.value).id == bad.id
    assert await env.snapshot() == before
