"""Bad input is a 4xx problem document with a stable code — the domain's codes for business rules,
``validation_failed`` for malformed bodies — never a 500, and nothing is half-written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

LINE = {"form_type_code": "BTN-THPT", "quantity": 10}


async def _create(api_env: Any, **body: Any) -> Any:
    payload = {"academic_year": "2024-2025", "lines": [LINE], **body}
    return await api_env.client.post("/api/v1/requests", json=payload, headers=api_env.unit())


async def test_drafting_refusals_carry_stable_codes(api_env: Any) -> None:
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({"academic_year": "2024-2026"}, 422, "request.invalid_field", "academic_year"),
        ({"lines": []}, 422, "request.no_lines", "lines"),
        ({"lines": [{**LINE, "quantity": 0}]}, 422, "request.invalid_quantity", "lines[0].quantity"),
        ({"lines": [{**LINE, "quantity": 10**9}]}, 422, "request.invalid_quantity", "lines[0].quantity"),
        ({"lines": [LINE, {**LINE, "quantity": 3}]}, 422, "request.duplicate_form_type", "lines[1].form_type_code"),
        (
            {"lines": [{**LINE, "form_type_code": "KHONG-CO"}]},
            422,
            "request.unknown_form_type",
            "lines[0].form_type_code",
        ),
        ({"lines": [{**LINE, "form_type_code": "bad code!"}]}, 422, "request.invalid_field", "lines[0].form_type_code"),
        ({"lines": [{**LINE, "expected_graduates": -1}]}, 422, "request.invalid_quantity", None),
        ({"exam_session": "x" * 201}, 422, "request.invalid_field", "exam_session"),
        ({"lines": [{**LINE, "quantity": "10"}]}, 422, "validation_failed", None),
        ({"lines": [{**LINE, "quantity": True}]}, 422, "validation_failed", None),
        ({"academic_year": None}, 422, "validation_failed", None),
        ({"unit_code": "SGD-HCM"}, 422, "validation_failed", None),  # a unit never names another unit
    ]
    for body, status, code, field in cases:
        response = await _create(api_env, **body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == code, (body, problem)
        if field is not None:
            assert problem["field"] == field, (body, problem)
        if code == "validation_failed":
            assert problem["errors"], problem

    not_json = await api_env.client.post(
        "/api/v1/requests", content=b"{not json", headers={**api_env.unit(), "Content-Type": "application/json"}
    )
    assert (not_json.status_code, not_json.json()["code"]) == (422, "validation_failed")

    # nothing was written by any refusal
    async with api_env.svc.runtime.database.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM requests"))).scalar_one() == 0
        assert (
            await session.execute(
                text("SELECT count(*) FROM outbox WHERE topic = 'phoi.requests' AND type LIKE 'request.%'")
            )
        ).scalar_one() == 0

    for query in ({"limit": 0}, {"limit": 201}, {"status": "lost"}, {"created_from": "x"}):
        listed = await api_env.client.get("/api/v1/requests", params=query, headers=api_env.officer())
        assert listed.status_code == 422, (query, listed.text)
        assert listed.json()["code"] == "validation_failed"
    garbage = await api_env.client.get("/api/v1/requests", params={"cursor": "garbage!"}, headers=api_env.officer())
    assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_cursor")
    assert (await api_env.client.get("/api/v1/requests/not-a-uuid", headers=api_env.officer())).status_code == 422


async def test_edit_semantics(api_env: Any) -> None:
    created = await api_env.create(
        lines=[{**LINE, "justification": "Theo số học sinh"}, {**LINE, "form_type_code": "BTN-THCS"}]
    )
    rid, thpt_line = created["id"], created["lines"][0]["line_id"]

    # absent fields stay, null clears an optional text, lines replace all lines but keep their identity
    patched = await api_env.patch(
        rid,
        {"exam_session": None, "lines": [{"form_type_code": "BTN-THPT", "quantity": 25}]},
        api_env.unit(),
        version=1,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["exam_session"] is None
    assert body["justification"] == created["justification"]
    assert [(line["line_id"], line["quantity"]) for line in body["lines"]] == [(thpt_line, 25)]
    assert body["version"] == 2

    # an edit that changes nothing keeps the version
    same = await api_env.patch(
        rid, {"lines": [{"form_type_code": "BTN-THPT", "quantity": 25}]}, api_env.unit(), version=2
    )
    assert (same.status_code, same.json()["version"], same.headers["ETag"]) == (200, 2, '"2"')

    for patch, code in (
        ({"academic_year": None}, "validation_failed"),
        ({"lines": None}, "validation_failed"),
        ({"lines": [{**LINE, "form_type_code": "KHONG-CO"}]}, "request.unknown_form_type"),
        ({"status": "approved"}, "validation_failed"),
        ({"version": 9}, "validation_failed"),
    ):
        refused = await api_env.patch(rid, patch, api_env.unit(), version=2)
        assert (refused.status_code, refused.json()["code"]) == (422, code), patch
    assert (await api_env.read(rid))["version"] == 2


async def test_decision_refusals_carry_stable_codes(api_env: Any) -> None:
    draft = await api_env.create()
    no_letter = await api_env.act(draft["id"], "submit", api_env.unit(), version=draft["version"])
    assert (no_letter.status_code, no_letter.json()["code"]) == (422, "request.attachment_required")

    request = await api_env.submitted()
    rid, (a, b) = request["id"], [line["line_id"] for line in request["lines"]]
    for action, body, code in (
        ("reject", {}, "request.reason_required"),
        ("reject", {"reason": "   "}, "request.reason_required"),
        ("return", None, "request.reason_required"),
        (
            "approve",
            {"lines": [{"line_id": a, "approved_quantity": 1201}]},
            "request.approved_quantity_exceeds_requested",
        ),
        (
            "approve",
            {"lines": [{"line_id": a, "approved_quantity": 0}, {"line_id": b, "approved_quantity": 0}]},
            "request.all_lines_zero",
        ),
        ("approve", {"lines": [{"line_id": draft["id"], "approved_quantity": 1}]}, "request.unknown_line"),
        ("approve", {"lines": [{"line_id": a, "approved_quantity": -1}]}, "request.invalid_quantity"),
        ("approve", {"lines": [{"line_id": a, "approved_quantity": 1}] * 2}, "validation_failed"),
    ):
        refused = await api_env.act(rid, action, api_env.officer(), body=body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), (action, body, refused.text)
    assert (await api_env.read(rid))["version"] == request["version"]

    # approving less than asked (one line at 0) is fine
    approved = await api_env.act(
        rid,
        "approve",
        api_env.officer(),
        body={
            "lines": [{"line_id": a, "approved_quantity": 1000}, {"line_id": b, "approved_quantity": 0}],
            "comment": "Cấp theo số thí sinh dự thi",
        },
    )
    assert approved.status_code == 200, approved.text
    assert [line["approved_quantity"] for line in approved.json()["lines"]] == [1000, 0]
