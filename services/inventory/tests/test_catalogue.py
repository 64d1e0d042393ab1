"""Form types and print batches over HTTP, against the real database: the happy paths, the events, and bad
input refused with a problem document and nothing changed."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


async def test_the_usual_form_types_are_seeded_with_their_events(api_env: Any) -> None:
    response = await api_env.client.get("/api/v1/form-types", headers=api_env.unit())
    assert response.status_code == 200
    codes = {item["code"]: item for item in response.json()["items"]}
    assert {"THCS", "THPT", "CNHTCT", "BSTHPT"} <= set(codes)
    assert codes["THPT"]["example_serial"] == "PT0000001"
    assert codes["THPT"]["name_vi"] == "Phôi bằng tốt nghiệp trung học phổ thông"
    created = {e["data"]["code"] for e in await api_env.outbox("form_type.created.v1")}
    assert {"THCS", "THPT", "CNHTCT", "BSTHPT"} <= created
    # the launcher POSTs deploy/local/demo-seed.json's form types: a duplicate code is a 409
    seed = {
        "code": "THPT",
        "name": "Phôi bằng tốt nghiệp trung học phổ thông",
        "name_en": "Upper-secondary school diploma blank",
        "serial_prefix": "PT",
        "serial_digits": 7,
        "template_version": "2024.1",
    }
    duplicate = await api_env.client.post("/api/v1/form-types", json=seed, headers=api_env.officer())
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == PROBLEM
    assert duplicate.json()["code"] == "form_type_exists"
    openapi = await api_env.client.get("/openapi.json")
    assert openapi.status_code == 200
    assert {"/api/v1/movements", "/api/v1/reports/usage", "/api/v1/serials/{form_type}/{serial}"} <= set(
        openapi.json()["paths"]
    )


async def test_create_read_update_a_form_type(api_env: Any) -> None:
    body = {
        "code": "TN-THPT-2025",
        "name": "Phôi bằng tốt nghiệp THPT (mẫu 2025)",
        "name_en": "Upper-secondary diploma blank (2025 template)",
        "serial_prefix": "TN",
        "serial_digits": 8,
        "template_version": "2025.1",
    }
    created = await api_env.client.post("/api/v1/form-types", json=body, headers=api_env.officer())
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.json()["example_serial"] == "TN00000001"
    [event] = [e for e in await api_env.outbox("form_type.created.v1") if e["data"]["code"] == "TN-THPT-2025"]
    assert event["subject"] == created.json()["id"]
    assert event["data"]["name"] == body["name"]
    assert (event["data"]["name_en"], event["data"]["digits"]) == (body["name_en"], 8)

    url = "/api/v1/form-types/TN-THPT-2025"
    no_match = await api_env.client.patch(url, json={"active": False}, headers=api_env.officer())
    assert no_match.status_code == 428
    stale = await api_env.client.patch(url, json={"active": False}, headers={**api_env.officer(), "If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    assert stale.json()["title"] == "The resource changed since you read it"
    as_unit = await api_env.client.patch(url, json={"active": False}, headers={**api_env.unit(), "If-Match": '"1"'})
    assert as_unit.status_code == 403
    updated = await api_env.client.patch(
        url, json={"active": False, "template_version": "2025.2"}, headers={**api_env.officer(), "If-Match": '"1"'}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["active"] is False
    assert updated.headers["etag"] == '"2"'
    [changed] = await api_env.outbox("form_type.updated.v1")
    assert changed["data"]["changed_fields"] == ["active", "template_version"]
    listed = (await api_env.client.get("/api/v1/form-types", headers=api_env.auditor())).json()["items"]
    assert "TN-THPT-2025" not in {i["code"] for i in listed}
    listed = (
        await api_env.client.get("/api/v1/form-types", params={"include_inactive": "true"}, headers=api_env.auditor())
    ).json()["items"]
    assert "TN-THPT-2025" in {i["code"] for i in listed}
    page = await api_env.client.get("/api/v1/form-types", params={"limit": 2}, headers=api_env.auditor())
    assert len(page.json()["items"]) == 2
    assert page.json()["next_cursor"]
    missing = await api_env.client.get("/api/v1/form-types/NOPE", headers=api_env.auditor())
    assert missing.status_code == 404


async def test_bad_form_types_are_refused(api_env: Any) -> None:
    good = {
        "code": "GOOD",
        "name_vi": "Phôi",
        "name_en": "Blank",
        "serial_prefix": "GD",
        "digits": 7,
        "template_version": "1",
    }
    cases = [
        ({**good, "code": "bad code"}, 422, "form_type_invalid"),
        ({**good, "digits": 19}, 422, "form_type_invalid"),
        ({**good, "digits": 16}, 422, "form_type_invalid"),
        ({**good, "serial_prefix": ""}, 422, "form_type_invalid"),
        ({**good, "serial_prefix": "ab"}, 422, "form_type_invalid"),
        ({k: v for k, v in good.items() if k != "name_en"}, 422, "validation_failed"),
        ({**good, "colour": "red"}, 422, "validation_failed"),
    ]
    before = await api_env.snapshot()
    for body, status, code in cases:
        response = await api_env.client.post("/api/v1/form-types", json=body, headers=api_env.officer())
        assert (response.status_code, response.json()["code"]) == (status, code), body
        assert response.headers["content-type"] == PROBLEM
    for who in (api_env.unit(), api_env.auditor(), api_env.admin()):
        response = await api_env.client.post("/api/v1/form-types", json=good, headers=who)
        assert response.status_code == 403
        assert response.json()["code"] == "role_required"
    assert await api_env.snapshot() == before
    unauthenticated = await api_env.client.post("/api/v1/form-types", json=good)
    assert unauthenticated.status_code == 401


async def test_print_batch_enters_central_stock_and_merges_with_its_neighbour(committed_env: Any) -> None:
    # committed_env, not api_env: batches list in creation order, and inside one rolled-back transaction
    # PostgreSQL's now() stamps every batch with the same time
    ft = await committed_env.form_type(prefix="PB")
    batch = await committed_env.batch(ft, 1, 50_000)
    assert batch["quantity"] == 50_000
    assert (batch["first_label"], batch["last_label"]) == ("PB0000001", "PB0050000")
    await committed_env.batch(ft, 50_001, 60_000, note="Đợt 2")
    [line] = await committed_env.stock(form_type=ft)
    assert (line["state"], line["holder_unit"], line["count"], line["block_count"]) == ("central", None, 60_000, 1)
    assert line["ranges"] == [
        {"first": 1, "last": 60_000, "count": 60_000, "first_label": "PB0000001", "last_label": "PB0060000"}
    ]
    events = await committed_env.outbox("print_batch.received.v1")
    assert [e["data"]["serials"] for e in events] == [{"first": 1, "last": 50_000}, {"first": 50_001, "last": 60_000}]
    assert events[0]["subject"] == batch["id"]
    ledger = await committed_env.fetch(
        "SELECT kind, lower(serials) AS lo, upper(serials) - 1 AS hi, balance_after FROM ledger WHERE form_type = :ft"
        " ORDER BY id",
        ft=ft,
    )
    assert [(r.kind, r.lo, r.hi, r.balance_after) for r in ledger] == [
        ("receive_print", 1, 50_000, 50_000),
        ("receive_print", 50_001, 60_000, 60_000),
    ]
    listed = await committed_env.client.get(
        "/api/v1/print-batches", params={"form_type": ft}, headers=committed_env.auditor()
    )
    assert [b["first_serial"] for b in listed.json()["items"]] == [1, 50_001]
    assert (await committed_env.client.get("/api/v1/print-batches", headers=committed_env.unit())).status_code == 403


async def test_bad_print_batches_are_refused_and_change_nothing(api_env: Any) -> None:
    ft = await api_env.form_type(digits=6)
    await api_env.batch(ft, 1_000, 1_999)
    inactive = await api_env.form_type()
    patched = await api_env.client.patch(
        f"/api/v1/form-types/{inactive}", json={"active": False}, headers={**api_env.officer(), "If-Match": '"1"'}
    )
    assert patched.status_code == 200
    base = {"printer": "Nhà in", "contract_ref": "HĐ-1", "received_on": "2025-03-01"}
    five = {"form_type": ft, "first_serial": 1, "last_serial": 5}
    cases = [
        ({"form_type": ft, "first_serial": 2_000, "last_serial": 1_999}, 422, "range_reversed"),
        ({"form_type": ft, "first_serial": -1, "last_serial": 5}, 422, "range_invalid"),
        ({"form_type": "UNKNOWN-TYPE", "first_serial": 1, "last_serial": 5}, 422, "form_type_unknown"),
        ({"form_type": ft, "first_serial": 999_000, "last_serial": 1_000_000}, 422, "serial_format"),
        ({"form_type": ft, "first_serial": 1_500, "last_serial": 2_500}, 409, "print_batch_overlap"),
        ({"form_type": ft, "first_serial": 1_999, "last_serial": 1_999}, 409, "print_batch_overlap"),
        ({"form_type": inactive, "first_serial": 1, "last_serial": 5}, 409, "form_type_inactive"),
        ({**five, "received_on": "2999-01-01"}, 422, "validation_failed"),  # beyond the years any date may be
        ({**five, "received_on": "2098-01-01"}, 422, "print_batch_invalid"),  # within them, but in the future
        ({"form_type": ft, "first_serial": 1, "last_serial": 5, "printer": ""}, 422, "validation_failed"),
        ({"form_type": ft, "first_serial": "x", "last_serial": 5}, 422, "validation_failed"),
    ]
    before = await api_env.snapshot()
    for body, status, code in cases:
        response = await api_env.client.post("/api/v1/print-batches", json={**base, **body}, headers=api_env.officer())
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == PROBLEM
        if code is not None:
            assert response.json()["code"] == code, body
    overlap = await api_env.client.post(
        "/api/v1/print-batches",
        json={**base, "form_type": ft, "first_serial": 1_500, "last_serial": 2_500},
        headers=api_env.officer(),
    )
    assert overlap.json()["conflict"] == {"first": 1_500, "last": 1_999, "count": 500}
    assert overlap.json()["conflicting_batch"]["first"] == 1_000
    as_unit = await api_env.client.post(
        "/api/v1/print-batches",
        json={**base, "form_type": ft, "first_serial": 1, "last_serial": 5},
        headers=api_env.unit(),
    )
    assert as_unit.status_code == 403
    assert await api_env.snapshot() == before


async def test_reused_serials_are_refused_even_after_the_blanks_were_destroyed(api_env: Any) -> None:
    ft = await api_env.form_type()
    await api_env.batch(ft, 1, 100)
    spoiled = await api_env.move(
        {"kind": "spoil", "form_type": ft, "items": [{"first": 1, "last": 100}], "document_ref": "BB-hỏng-1"},
        api_env.officer(),
    )
    assert spoiled.status_code == 201, spoiled.text
    destroyed = await api_env.move(
        {"kind": "destroy", "form_type": ft, "items": [{"first": 1, "last": 100}], "document_ref": "BB-hủy-1"},
        api_env.officer(),
    )
    assert destroyed.status_code == 201, destroyed.text
    again = await api_env.client.post(
        "/api/v1/print-batches",
        json={
            "form_type": ft,
            "first_serial": 50,
            "last_serial": 150,
            "printer": "Nhà in",
            "contract_ref": "HĐ-2",
            "received_on": "2025-03-01",
        },
        headers=api_env.officer(),
    )
    assert again.status_code == 409
    assert again.json()["conflict"] == {"first": 50, "last": 100, "count": 51}
