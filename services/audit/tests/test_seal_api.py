"""GET /api/v1/seal: where a fact sits in the chain, for the records the portal prints."""

from __future__ import annotations

from typing import Any

from phoi_contracts.envelope import Actor

HN = Actor(user_id="u-hn", username="sgd-hni", role="unit_account", unit_code="SGD-HNI")
MOVED = "stock.movement_recorded.v2"


async def test_a_seal_names_the_newest_matching_entry_and_only_its_place_in_the_chain(
    audit_api: Any, record_all: Any, make_envelope: Any, tokens: Any
) -> None:
    envs = [
        make_envelope(1, type="allocation.completed.v1", subject="req-1"),
        make_envelope(2, type="account.created.v1", subject="acc-1", unit=None),
        make_envelope(3, type="account.handed_over.v1", subject="acc-1", unit=None),
        # two movements of one unit share the subject (the unit code); the movement id tells them apart,
        # and a nested copy of the same key and value must not be taken for the field itself
        make_envelope(4, type=MOVED, subject="SGD-HNI", data={"movement_id": "m-1", "unit_code": "SGD-HNI"}),
        make_envelope(5, type=MOVED, subject="SGD-HNI", data={"movement_id": "m-2", "unit_code": "SGD-HNI"}),
        make_envelope(6, type=MOVED, subject="SGD-HNI", data={"unit_code": "SGD-HNI", "x": {"movement_id": "m-1"}}),
    ]
    async with audit_api() as svc:
        await record_all(svc, envs)

        async def seal(role: str, unit: str | None = None, **params: Any) -> Any:
            return await svc.client.get("/api/v1/seal", params=params, headers=tokens(role, unit))

        entries = (await svc.client.get("/api/v1/entries", params={"order": "asc"}, headers=tokens("auditor"))).json()
        by_seq = {e["sequence"]: e for e in entries["items"]}

        found = await seal("qlcl_officer", subject="acc-1", type=["account.created.v1", "account.handed_over.v1"])
        assert found.status_code == 200, found.text
        body = found.json()
        assert (body["sequence"], body["type"]) == (3, "account.handed_over.v1")
        assert (body["hash"], body["prev_hash"]) == (by_seq[3]["hash"], by_seq[2]["hash"])
        assert not {"payload", "actor"} & body.keys()  # no content: officers do not read the log

        first = (await seal("auditor", subject="SGD-HNI", type=[MOVED], data="movement_id:m-1")).json()
        assert first["sequence"] == 4
        assert (await seal("auditor", subject="SGD-HNI", type=[MOVED])).json()["sequence"] == 6

        # a unit sees seals of its own unit's entries only; another unit gets the same 404 as "not there"
        own = await seal("unit_account", "SGD-HNI", subject="req-1", type=["allocation.completed.v1"])
        assert own.json()["sequence"] == 1
        other = await seal("unit_account", "SGD-HCM", subject="req-1", type=["allocation.completed.v1"])
        missing = await seal("auditor", subject="req-1", type=["allocation.released.v1"])
        for response in (other, missing):
            assert (response.status_code, response.json()["code"]) == (404, "seal_not_found")


async def test_bad_seal_queries_are_problems(audit_api: Any, tokens: Any) -> None:
    async with audit_api() as svc:
        auditor = tokens("auditor")
        for params, status, code in (
            ({"subject": "x"}, 422, "validation_failed"),  # no type
            ({"subject": "x", "type": "Not A Type"}, 422, "validation_failed"),
            ({"subject": "x", "type": "a.b.v1", "data": "movement_id"}, 422, "validation_failed"),  # no value
            ({"subject": "x", "type": "a.b.v1", "data": "Bad-Field:1"}, 422, "validation_failed"),
        ):
            response = await svc.client.get("/api/v1/seal", params=params, headers=auditor)
            assert (response.status_code, response.json()["code"]) == (status, code), params
