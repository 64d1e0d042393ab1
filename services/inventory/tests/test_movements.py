"""POST /api/v1/movements: what units and QLCL record, all or nothing, per range."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


async def _states(api_env: Any, ft: str, unit: str | None = None) -> dict[str, list[tuple[int, int]]]:
    params = {"form_type": ft, **({"unit_code": unit} if unit else {})}
    return {
        line["state"]: [(r["first"], r["last"]) for r in line["ranges"]]
        for line in await api_env.stock(**params)
        if unit is None or line["holder_unit"] == unit
    }


async def test_a_unit_uses_spoils_loses_destroys_and_returns_its_blanks(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    assert await api_env.hold(ft, 500) == [(1, 500)]

    used = await api_env.move(
        {
            "kind": "use",
            "form_type": ft,
            "document_ref": "QĐ công nhận tốt nghiệp số 123/QĐ-SGDĐT",
            "items": [
                {"first": 1, "last": 100, "register_entry_first": 1},
                {"first": "TS0000150", "register_entry_first": 101},
                {"first": 151, "last": 152, "register_entry_first": 102},
            ],
        }
    )
    assert used.status_code == 201, used.text
    body = used.json()
    assert body["quantity"] == 103
    assert [(r["first"], r["last"]) for r in body["ranges"]] == [(1, 100), (150, 152)]
    assert [line["balance_after"] for line in body["lines"]] == [400, 397]
    [event] = await api_env.outbox("stock.movement_recorded.v2")
    assert await api_env.outbox("stock.movement_recorded.v1") == []  # superseded, no longer published
    data = event["data"]
    assert event["subject"] == api_env.UNIT
    assert (data["kind"], data["from_state"], data["to_state"], data["quantity"]) == ("use", "at_unit", "used", 103)
    # one vocabulary: the event names the states and the kind exactly as the API answered them
    assert {(line["kind"], line["from_state"], line["to_state"]) for line in body["lines"]} == {
        (data["kind"], data["from_state"], data["to_state"])
    }
    assert data["register_entry_numbers"][:2] == ["1", "2"]
    assert data["register_entry_numbers"][-3:] == ["101", "102", "103"]
    assert data["document_ref"] == "QĐ công nhận tốt nghiệp số 123/QĐ-SGDĐT"

    spoiled = await api_env.move(
        {
            "kind": "spoil",
            "form_type": ft,
            "serials": [201, 203, 205],
            "reason": "spoiled_miswritten",
            "document_ref": "BB-hỏng-01",
            "note": "Viết sai tên",
        }
    )
    assert spoiled.status_code == 201, spoiled.text
    lost = await api_env.move(
        {"kind": "lose", "form_type": ft, "items": [{"first": 300, "last": 309}], "document_ref": "CV-CA-2025/17"}
    )
    assert lost.status_code == 201, lost.text
    destroyed = await api_env.move(
        {"kind": "destroy", "form_type": ft, "serials": [201, 203], "document_ref": "BB-hủy-2025/02"}
    )
    assert destroyed.status_code == 201, destroyed.text
    # the destruction record is printed later from the movement as recorded; another unit cannot see it
    movement_path = f"/api/v1/movements/{destroyed.json()['movement_id']}"
    read_back = await api_env.client.get(movement_path, headers=api_env.unit())
    assert read_back.status_code == 200, read_back.text

    def as_recorded(movement: dict[str, Any]) -> dict[str, Any]:  # the ledger adds line ids and the date
        lines = [{k: v for k, v in line.items() if k not in ("id", "occurred_on")} for line in movement["lines"]]
        return {**movement, "lines": lines}

    assert as_recorded(read_back.json()) == as_recorded(destroyed.json())
    assert None not in {line["occurred_on"] for line in read_back.json()["lines"]}
    assert (await api_env.client.get(movement_path, headers=api_env.officer())).json() == read_back.json()
    hidden = await api_env.client.get(movement_path, headers=api_env.unit(api_env.OTHER_UNIT))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "movement_not_found")
    returned = await api_env.move(
        {"kind": "return", "form_type": ft, "items": [{"first": 401, "last": 500}], "document_ref": "BB-trả-01"}
    )
    assert returned.status_code == 201, returned.text
    states = await _states(api_env, ft, api_env.UNIT)
    assert states["used"] == [(1, 100), (150, 152)]
    assert states["spoiled"] == [(205, 205)]
    assert states["destroyed"] == [(201, 201), (203, 203)]
    assert states["lost"] == [(300, 309)]
    assert states["returned"] == [(401, 500)]
    assert states["at_unit"] == [(101, 149), (153, 200), (202, 202), (204, 204), (206, 299), (310, 400)]
    kinds = [e["data"]["kind"] for e in await api_env.outbox("stock.movement_recorded.v2")]
    assert kinds == ["use", "spoil", "lose", "destroy", "return"]
    balance = await api_env.scalar(
        "SELECT balance FROM stock_balances WHERE form_type = :ft AND holder_key = :u", ft=ft, u=api_env.UNIT
    )
    assert balance == sum(b - a + 1 for a, b in states["at_unit"])


async def test_refused_movements_name_the_serials_and_change_nothing(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    await api_env.hold(ft, 100)  # 1..100 at SGD-HN
    await api_env.hold(ft, 100, unit=api_env.OTHER_UNIT)  # 101..200 at SGD-HCM
    first = await api_env.move(
        {
            "kind": "use",
            "form_type": ft,
            "items": [{"first": 1, "last": 5, "register_entry_first": 1}],
            "document_ref": "QĐ 1",
        }
    )
    assert first.status_code == 201
    doc = {"document_ref": "BB-01"}
    cases = [
        # another unit's serial: not found, like any other unit's data (and it does not say who holds it)
        ({"kind": "spoil", "form_type": ft, "items": [{"first": 90, "last": 110}], **doc}, 404, "serials_not_held"),
        # never printed: the same answer
        ({"kind": "spoil", "form_type": ft, "serials": [5_000], **doc}, 404, "serials_not_held"),
        # central stock is QLCL's, not the unit's: the same answer
        ({"kind": "spoil", "form_type": ft, "serials": [900], **doc}, 404, "serials_not_held"),
        # already used
        (
            {"kind": "use", "form_type": ft, "items": [{"first": 5, "last": 6, "register_entry_first": 50}], **doc},
            409,
            "serials_wrong_state",
        ),
        # destroy takes spoiled (or obsolete) blanks only
        ({"kind": "destroy", "form_type": ft, "serials": [50], **doc}, 409, "serials_wrong_state"),
        ({"kind": "lose", "form_type": ft, "serials": [50]}, 422, "document_required"),
        ({"kind": "destroy", "form_type": ft, "serials": [50], "document_ref": "  "}, 422, "document_required"),
        ({"kind": "spoil", "form_type": ft, "serials": [50]}, 422, "document_required"),
        ({"kind": "use", "form_type": ft, "serials": [50], **doc}, 422, "register_entries_invalid"),
        (
            {"kind": "spoil", "form_type": ft, "items": [{"first": 50, "register_entry_first": 3}], **doc},
            422,
            "register_entries_invalid",
        ),
        (
            {"kind": "use", "form_type": ft, "items": [{"first": 50, "last": 51, "register_entry_first": 4}], **doc},
            409,
            "register_entry_used",
        ),
        ({"kind": "spoil", "form_type": ft, "items": [{"first": 60, "last": 50}], **doc}, 422, "range_reversed"),
        (
            {"kind": "spoil", "form_type": ft, "items": [{"first": 50, "last": 60}], "serials": [55], **doc},
            422,
            "duplicate_serials",
        ),
        ({"kind": "spoil", "form_type": ft, "serials": [], **doc}, 422, "request_empty"),
        ({"kind": "spoil", "form_type": "NO-SUCH-TYPE", "serials": [1], **doc}, 422, "form_type_unknown"),
        ({"kind": "spoil", "form_type": ft, "serials": ["XX0000050"], **doc}, 422, "serial_format"),
        ({"kind": "spoil", "form_type": ft, "serials": [50], "reason": "lost", **doc}, 422, "reason_not_allowed"),
        ({"kind": "receive_return", "form_type": ft, "serials": [50], **doc}, 403, "movement_forbidden"),
        (
            {"kind": "spoil", "form_type": ft, "serials": [50], "holder_unit": api_env.OTHER_UNIT, **doc},
            403,
            "movement_forbidden",
        ),
        ({"kind": "teleport", "form_type": ft, "serials": [50], **doc}, 422, "validation_failed"),
    ]
    # the offending serial in a big batch of good ones is still named
    cases.append(
        ({"kind": "spoil", "form_type": ft, "serials": [*range(10, 100), 150], **doc}, 404, "serials_not_held"),
    )
    before = await api_env.snapshot()
    for body, status, code in cases:
        response = await api_env.move(body)
        assert (response.status_code, response.json().get("code")) == (status, code), (body, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert await api_env.snapshot() == before

    not_held = (await api_env.move(cases[0][0])).json()
    assert not_held["serials"] == {
        "first": 101,
        "last": 110,
        "count": 10,
        "first_label": "TS0000101",
        "last_label": "TS0000110",
    }
    assert not_held["holder_unit"] == api_env.UNIT
    wrong = (await api_env.move(cases[3][0])).json()
    assert (wrong["serials"]["first"], wrong["serials"]["last"], wrong["state"]) == (5, 5, "used")
    lose = (await api_env.move(cases[5][0])).json()
    assert lose["document"] == "police_report"
    big = (await api_env.move(cases[-1][0])).json()
    assert big["serials"]["first"] == 150
    for who in (api_env.auditor(), api_env.admin()):
        assert (await api_env.move(cases[1][0], who)).status_code == 403
    assert await api_env.snapshot() == before


async def test_serials_outside_the_units_custody_all_look_the_same(api_env: Any) -> None:
    """Another unit's blanks, the central stock's and never-printed serials get one answer: a unit cannot
    tell which exist or who holds them. Only its own blanks in a wrong state are a 409 naming the state."""
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    await api_env.hold(ft, 100)  # 1..100 at SGD-HN
    await api_env.hold(ft, 100, unit=api_env.OTHER_UNIT)  # 101..200 at SGD-HCM; 201..1000 central
    doc = {"document_ref": "BB-02"}
    answers = {}
    for where, serial in (("other unit", 150), ("central stock", 900), ("never printed", 5_000)):
        response = await api_env.move({"kind": "spoil", "form_type": ft, "serials": [serial], **doc})
        body = response.json()
        assert (response.status_code, body["code"], body["title"]) == (404, "serials_not_held", "Not found"), where
        body.pop("serials")
        answers[where] = {**body, "detail": body["detail"].replace(str(serial), "N")}
    assert answers["other unit"] == answers["central stock"] == answers["never printed"]
    assert answers["other unit"]["holder_unit"] == api_env.UNIT  # the caller, never the real holder
    own = await api_env.move({"kind": "destroy", "form_type": ft, "serials": [50], **doc})
    assert (own.status_code, own.json()["code"], own.json()["state"]) == (409, "serials_wrong_state", "at_unit")


async def test_qlcl_spoils_and_destroys_in_central_stock_and_takes_returns_back(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    spoil = await api_env.move(
        {"kind": "spoil", "form_type": ft, "items": [{"first": 1, "last": 20}], "document_ref": "BB-kho-01"},
        api_env.officer(),
    )
    assert spoil.status_code == 201, spoil.text
    destroy = await api_env.move(
        {"kind": "destroy", "form_type": ft, "items": [{"first": 1, "last": 10}], "document_ref": "BB-hủy-kho-01"},
        api_env.officer(),
    )
    assert destroy.status_code == 201, destroy.text
    [event] = [e for e in await api_env.outbox("stock.movement_recorded.v2") if e["data"]["kind"] == "destroy"]
    assert (event["data"]["unit_code"], event["data"]["from_state"]) == ("QLCL", "spoiled")
    # a waiting request completes when returned blanks come back into the central stock
    held = await api_env.hold(ft, 980)
    assert held == [(21, 1_000)]
    approved, waiting = await api_env.approve([(ft, 30)], unit=api_env.OTHER_UNIT)
    assert waiting["status"] == "waiting_for_stock"
    returned = await api_env.move(
        {"kind": "return", "form_type": ft, "items": [{"first": 21, "last": 70}], "document_ref": "BB-trả-02"}
    )
    assert returned.status_code == 201
    back = await api_env.move(
        {
            "kind": "receive_return",
            "form_type": ft,
            "holder_unit": api_env.UNIT,
            "items": [{"first": 21, "last": 70}],
            "document_ref": "BB-nhận-02",
        },
        api_env.officer(),
    )
    assert back.status_code == 201, back.text
    [taken_back] = [
        e for e in await api_env.outbox("stock.movement_recorded.v2") if e["data"]["kind"] == "receive_return"
    ]
    assert (taken_back["data"]["from_state"], taken_back["data"]["to_state"]) == ("returned", "central")
    [done] = await api_env.allocations(approved.request_id)
    assert done["status"] == "completed"
    assert [(r["first"], r["last"]) for r in done["lines"][0]["ranges"]] == [(21, 50)]
    # blanks of an obsolete (inactive) form type may be destroyed straight from stock
    patched = await api_env.client.patch(
        f"/api/v1/form-types/{ft}", json={"active": False}, headers={**api_env.officer(), "If-Match": '"1"'}
    )
    assert patched.status_code == 200
    obsolete = await api_env.move(
        {"kind": "destroy", "form_type": ft, "items": [{"first": 71, "last": 100}], "document_ref": "BB-hủy-03"}
    )
    assert obsolete.status_code == 201, obsolete.text
    assert obsolete.json()["lines"][0]["reason"] == "destroyed_obsolete"


async def test_a_batch_of_thousands_of_single_serials(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 10_000)
    await api_env.hold(ft, 10_000)
    serials = list(range(1, 10_001, 2))  # 5,000 single serials, none adjacent: 5,000 ranges
    response = await api_env.move({"kind": "spoil", "form_type": ft, "serials": serials, "document_ref": "BB-lô-lớn"})
    assert response.status_code == 201, response.text[:500]
    assert response.json()["quantity"] == 5_000
    [spoiled] = [line for line in await api_env.stock(form_type=ft, state="spoiled")]
    assert (spoiled["count"], spoiled["block_count"], spoiled["ranges_truncated"]) == (5_000, 5_000, True)
    assert len(spoiled["ranges"]) == 1_000  # stock_max_ranges; the count is always complete
    assert int(await api_env.scalar("SELECT count(*) FROM blocks WHERE form_type = :ft", ft=ft)) == 10_000
    back = await api_env.move({"kind": "destroy", "form_type": ft, "serials": serials, "document_ref": "BB-hủy-lô"})
    assert back.status_code == 201
