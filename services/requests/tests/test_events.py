"""Every transition publishes its contract event on phoi.requests, through the outbox, in order."""

from __future__ import annotations

from typing import Any

from phoi_contracts import topics
from phoi_contracts.catalogue import parse_data
from phoi_contracts.envelope import Envelope, EventData
from phoi_contracts.events.requests import (
    RequestApproved,
    RequestCancelled,
    RequestCreated,
    RequestRejected,
    RequestReturned,
    RequestSubmitted,
    RequestUpdated,
)
from phoi_local.testkit import cloudevent_from_record, read_topic, wait_for
from sqlalchemy import text


async def _published_outbox(env: Any) -> list[Any]:
    """The requests' outbox rows in commit order, once the relay has published them all."""

    async def rows() -> list[Any]:
        async with env.svc.runtime.database.session() as session:
            result = await session.execute(
                text(
                    "SELECT topic, key, type, payload, published_at FROM outbox WHERE type LIKE 'request.%' ORDER BY id"
                )
            )
            return list(result.all())

    async def all_published() -> bool:
        return all(r.published_at is not None for r in await rows())

    await wait_for(all_published, timeout=10, what="the relay published the outbox")
    return await rows()


def _assert_first_request_payloads(
    env: Any, first: dict[str, Any], line: str, envelopes: list[Envelope], flow: list[Envelope]
) -> None:
    """The payloads of the first request's events (``flow``, in order) carry what each transition did."""
    parsed = {e.id: parse_data(e) for e in envelopes}  # every payload validates against its contract model
    created = parsed[flow[0].id]
    assert isinstance(created, RequestCreated)
    assert [(li.form_type_code, li.quantity) for li in created.lines] == [("BTN-THPT", 1200), ("BTN-THCS", 800)]
    assert created.note == first["justification"]
    assert (flow[0].actor.role, flow[0].actor.unit_code) == ("unit_account", env.UNIT)
    letter = parsed[flow[1].id]
    assert isinstance(letter, RequestUpdated)
    assert letter.changed_fields == ("attachments",)
    resubmitted = parsed[flow[5].id]
    assert isinstance(resubmitted, RequestSubmitted)
    assert resubmitted.submission_no == 2
    assert [str(a) for a in resubmitted.attachment_ids] == [first["attachments"][0]["attachment_id"]]
    decision = parsed[flow[6].id]
    assert isinstance(decision, RequestApproved)
    assert decision.approval_revision == 1
    assert [(str(li.line_id), li.requested_quantity, li.approved_quantity) for li in decision.lines] == [
        (line, 1000, 900)
    ]
    assert flow[6].actor.role == "qlcl_officer"
    returned = parsed[flow[3].id]
    assert isinstance(returned, RequestReturned)
    assert returned.reason == "Thiếu chữ ký"


async def test_transitions_publish_contract_events(env: Any, broker: Any) -> None:
    unit, officer = env.unit(), env.officer()
    first = await env.submitted()  # created, updated (letter), submitted
    rid = first["id"]
    await env.act(rid, "return", officer, body={"reason": "Thiếu chữ ký"})
    await env.patch(rid, {"lines": [{"form_type_code": "BTN-THPT", "quantity": 1000}]}, unit)
    await env.act(rid, "submit", unit)
    line = first["lines"][0]["line_id"]
    approved = await env.act(rid, "approve", officer, body={"lines": [{"line_id": line, "approved_quantity": 900}]})
    assert approved.status_code == 200
    second = await env.submitted()
    await env.act(second["id"], "reject", officer, body={"reason": "Trùng đề nghị"})
    third = await env.create()
    await env.act(third["id"], "cancel", unit)

    expected: list[tuple[str, type[EventData]]] = [
        (rid, RequestCreated),
        (rid, RequestUpdated),
        (rid, RequestSubmitted),
        (rid, RequestReturned),
        (rid, RequestUpdated),
        (rid, RequestSubmitted),
        (rid, RequestApproved),
        (second["id"], RequestCreated),
        (second["id"], RequestUpdated),
        (second["id"], RequestSubmitted),
        (second["id"], RequestRejected),
        (third["id"], RequestCreated),
        (third["id"], RequestCancelled),
    ]

    # the outbox holds the exact bytes the relay publishes, in commit order; the relay sends them all
    outbox = await _published_outbox(env)
    assert {r.topic for r in outbox} == {topics.REQUESTS}
    envelopes = [Envelope.model_validate_json(r.payload) for r in outbox]
    by_request: dict[str, list[Envelope]] = {}
    for row, envelope in zip(outbox, envelopes, strict=True):
        assert (row.key, row.type) == (envelope.subject, envelope.type)  # key = request id: its events stay ordered
        by_request.setdefault(envelope.subject, []).append(envelope)
    assert len(envelopes) == len(expected)
    for request_id in (rid, second["id"], third["id"]):
        got = [(e.subject, e.type) for e in by_request[request_id]]
        assert got == [(i, cls.TYPE) for i, cls in expected if i == request_id]

    flow = by_request[rid]
    assert all(e.source == "/phoi/requests" for e in envelopes)
    _assert_first_request_payloads(env, first, line, envelopes, flow)

    # on the wire: the service's (private) topic carries the same bytes
    records = await read_topic(broker.bootstrap, env.svc.topic_prefix + topics.REQUESTS, count=len(expected))
    assert sorted(r.value for r in records) == sorted(r.payload.encode() for r in outbox)
    events = {e.get_id(): e for e in map(cloudevent_from_record, records)}  # the CloudEvents SDK reads each
    assert events[str(flow[0].id)].get_extension("actorrole") == "unit_account"
    assert events[str(flow[0].id)].get_extension("actorunit") == env.UNIT
    assert events[str(flow[6].id)].get_extension("actorrole") == "qlcl_officer"
