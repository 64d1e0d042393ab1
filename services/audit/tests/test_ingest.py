"""Every event on the bus becomes one entry; duplicates add nothing; appends keep one unbroken chain."""

from __future__ import annotations

import asyncio
from typing import Any

from phoi_audit.service.verification import verify_chain
from phoi_contracts.catalogue import EVENT_TYPES
from phoi_contracts.envelope import SYSTEM_ACTOR, Actor, Envelope
from phoi_contracts.examples import USER, example_envelope
from phoi_local.testkit import wait_for
from sqlalchemy import text


async def rows_by_type(svc: Any) -> dict[str, Any]:
    async with svc.runtime.database.session() as s:
        rows = (await s.execute(text("SELECT * FROM audit_entries ORDER BY sequence"))).all()
    return {row.type: row for row in rows}


async def test_every_contract_event_type_becomes_one_entry_and_duplicates_add_nothing(
    audit: Any, publish: Any, make_envelope: Any, count_entries: Any, token_for: Any
) -> None:
    examples = [example_envelope(t) for t in EVENT_TYPES]
    unknown = Envelope(
        type="diploma.issued.v1",  # a type from a newer producer: recorded too
        source="/phoi/requests",
        subject="diploma-1",
        actor=Actor(user_id="u-9", username="sgd-hni", role="unit_account", unit_code="SGD-HNI"),
        data={"serial": 1000001, "register_entry_number": "12/2025"},
    )
    auditor = token_for("auditor")
    async with audit() as svc:

        async def has(count: int) -> bool:
            return bool(await count_entries(svc) >= count)

        # identity's account event first: sign-in events (other partitions) then find the account's unit
        await publish(svc.topic_prefix, [example_envelope("account.created.v1")])
        await wait_for(lambda: has(1), timeout=30, what="the account entry")
        await publish(svc.topic_prefix, [*examples, unknown])
        expected = len(examples) + 1
        await wait_for(lambda: has(expected), timeout=30, what=f"{expected} audit entries")

        # Re-delivery of every event adds nothing; a new event published after them does.
        sentinel = make_envelope(1, type="sentinel.published.v1")
        await publish(svc.topic_prefix, [*examples, unknown, sentinel])
        await wait_for(lambda: has(expected + 1), timeout=30, what="the sentinel entry")
        assert await count_entries(svc) == expected + 1

        recorded = await rows_by_type(svc)
        assert set(recorded) == {*EVENT_TYPES, unknown.type, sentinel.type}
        for env in [*examples, unknown]:
            row = recorded[env.type]
            assert row.event_id == env.id
            assert row.subject == env.subject
            assert row.occurred_at == env.time
        assert sorted(row.sequence for row in recorded.values()) == list(range(1, expected + 2))

        # the unit concerned and the actor, as derived
        approved = recorded["request.approved.v1"]
        assert (approved.unit_code, approved.actor_username, approved.actor_role) == (
            "SGD-HNI",  # data.unit_code; the actor is a QLCL officer
            "qlcl.lan",
            "qlcl_officer",
        )
        assert recorded["unit.created.v1"].unit_code == "SGD-HNI"  # data.code: the unit itself
        assert recorded["print_batch.received.v1"].unit_code == "QLCL"  # the acting officer's unit
        assert recorded["audit.checkpoint.v1"].unit_code is None  # a system fact
        assert recorded["diploma.issued.v1"].unit_code == "SGD-HNI"
        # sign-ins come from Keycloak as system events: the actor is the account, known from identity
        login = recorded["auth.login_succeeded.v1"]
        assert (login.actor_user_id, login.actor_username) == (USER, "sgd-hni")
        assert (login.actor_role, login.actor_unit_code, login.unit_code) == ("unit_account", "SGD-HNI", "SGD-HNI")
        failed = recorded["auth.login_failed.v1"]
        assert (failed.actor_username, failed.unit_code) == ("sgd-hni", "SGD-HNI")
        assert recorded["security.access_denied.v1"].unit_code == "SGD-HNI"
        # the counted summaries of a flood are about the same account and unit as the events they count
        failures = recorded["auth.login_failed_summary.v1"]
        assert (failures.actor_user_id, failures.actor_username, failures.unit_code) == (USER, "sgd-hni", "SGD-HNI")
        refusals = recorded["security.access_denied_summary.v1"]
        assert (refusals.actor_user_id, refusals.unit_code) == (USER, "SGD-HNI")

        # the kit's token revocation still runs for the types the audit service also records
        async with svc.runtime.database.session() as s:
            revoked = (await s.execute(text("SELECT user_id FROM token_revocations"))).scalars().all()
        assert USER in revoked

        response = await svc.client.get("/api/v1/verify", headers=auditor.headers)
        assert response.status_code == 200
        assert response.json()["ok"] is True
        assert response.json()["checked_count"] == expected + 1

        metrics = (await svc.client.get("/metrics")).text
        assert 'audit_entries_total{service="audit",type="request.approved.v1"}' in metrics
        assert 'audit_entries_total{service="audit",type="other"}' in metrics


async def test_direct_recording_is_idempotent_and_chains(audit: Any, make_envelope: Any, record_all: Any) -> None:
    async with audit(background=False) as svc:
        first, second = make_envelope(1), make_envelope(2)
        await record_all(svc, [first, second, first])
        await record_all(svc, [second])
        async with svc.runtime.database.session() as s:
            rows = (await s.execute(text("SELECT * FROM audit_entries ORDER BY sequence"))).all()
            head = (await s.execute(text("SELECT sequence, hash FROM audit_head"))).one()
        assert [r.event_id for r in rows] == [first.id, second.id]
        assert rows[0].prev_hash == "0" * 64
        assert rows[1].prev_hash == rows[0].hash
        assert (head.sequence, head.hash) == (2, rows[1].hash)


async def test_a_payload_that_cannot_be_hashed_as_is_is_still_recorded(
    audit: Any, make_envelope: Any, record_all: Any
) -> None:
    async with audit(background=False) as svc:
        odd = Envelope(
            type="request.submitted.v1",
            source="/phoi/requests",
            subject="req-odd",
            actor=SYSTEM_ACTOR,
            data={"note": "NUL \x00 inside", "big": 1e16, "lone": "\ud800"},
        )
        nul = make_envelope(2, data={"note": "NUL \x00 inside", "big": 1e16, "small": 1.5e-7})
        await record_all(svc, [odd, nul])
        async with svc.runtime.database.session() as s:
            payloads = (await s.execute(text("SELECT payload FROM audit_entries ORDER BY sequence"))).scalars().all()
        assert "unrecordable_payload" in payloads[0]
        assert "\\ud800" in payloads[0]
        assert payloads[1] == '{"big":1e+16,"note":"NUL \\u0000 inside","small":1.5e-07}'
        report = await verify_chain(svc.runtime.database)
        assert report.ok, report.result
        assert report.result.checked_count == 2


async def test_concurrent_appenders_keep_one_unbroken_chain(audit: Any, make_envelope: Any, record_all: Any) -> None:
    async with audit(background=False) as svc:

        async def writer(base: int) -> None:
            for n in range(base, base + 25):
                await record_all(svc, [make_envelope(n)])

        await asyncio.gather(*(writer(base) for base in (0, 100, 200, 300)))
        report = await verify_chain(svc.runtime.database)
        assert report.ok, report.result
        assert report.result.checked_count == 100
