"""GET /api/v1/entries: who reads what, filters, keyset pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from phoi_contracts.envelope import SYSTEM_ACTOR, Actor

HN = Actor(user_id="u-hn", username="sgd-hni", role="unit_account", unit_code="SGD-HNI")
HCM = Actor(user_id="u-hcm", username="sgd-hcm", role="unit_account", unit_code="SGD-HCM")
OFFICER = Actor(user_id="u-officer", username="qlcl.lan", role="qlcl_officer", unit_code="QLCL")


def seed(make_envelope: Any) -> list[Any]:
    """14 entries: requests of two units, QLCL's own actions, sign-ins, a system fact."""
    envs = []
    for n in range(1, 5):
        envs.append(make_envelope(n, type="request.submitted.v1", unit="SGD-HNI", actor=HN, subject=f"req-hn-{n}"))
        envs.append(make_envelope(10 + n, type="request.submitted.v1", unit="SGD-HCM", actor=HCM))
    envs.append(make_envelope(20, type="request.approved.v1", unit="SGD-HNI", actor=OFFICER, subject="req-hn-1"))
    envs.append(make_envelope(21, type="print_batch.received.v1", unit=None, actor=OFFICER, subject="batch-1"))
    envs.append(make_envelope(22, type="auth.login_failed.v1", unit=None, actor=SYSTEM_ACTOR, data={"username": "x"}))
    envs.append(make_envelope(23, type="auth.login_succeeded.v1", unit=None, actor=HN, data={"user_id": "u-hn"}))
    envs.append(make_envelope(24, type="audit.checkpoint.v1", unit=None, actor=SYSTEM_ACTOR, subject="audit-chain"))
    envs.append(make_envelope(25, type="request.approved.v1", unit="SGD-HCM", actor=OFFICER))
    return envs


async def all_pages(svc: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await svc.client.get("/api/v1/entries", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= body["limit"]
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


async def _bad_input_is_a_problem(svc: Any, auditor: dict[str, str]) -> None:
    """Bad input is a 4xx problem, never a 500."""
    for params, status, code in (
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"from": "2025-06-02T10:00:00"}, 422, "validation_failed"),  # no time zone
        ({"from": "2025-06-02T10:00:00Z", "to": "2025-06-02T09:00:00Z"}, 422, "invalid_time_range"),
        ({"limit": 0}, 422, "validation_failed"),
        ({"limit": 501}, 422, "validation_failed"),
        ({"type": "Request Approved"}, 422, "validation_failed"),
        ({"order": "sideways"}, 422, "validation_failed"),
    ):
        response = await svc.client.get("/api/v1/entries", params=params, headers=auditor)
        assert (response.status_code, response.json()["code"]) == (status, code), params
    page = (await svc.client.get("/api/v1/entries", params={"limit": 2}, headers=auditor)).json()
    wrong_order = await svc.client.get(
        "/api/v1/entries", params={"cursor": page["next_cursor"], "order": "asc"}, headers=auditor
    )
    assert (wrong_order.status_code, wrong_order.json()["code"]) == (400, "invalid_cursor")


async def test_reading_entries_by_role_unit_filter_and_page(
    audit_api: Any, record_all: Any, make_envelope: Any, token_for: Any
) -> None:
    envs = seed(make_envelope)
    auditor, admin = token_for("auditor").headers, token_for("qlcl_admin").headers
    unit_hn = token_for("unit_account", "SGD-HNI").headers
    async with audit_api() as svc:
        await record_all(svc, envs)
        total = len(envs)

        # auditor and QLCL admin read everything, newest first by default
        everything = await all_pages(svc, auditor, limit=4)
        assert [e["sequence"] for e in everything] == list(range(total, 0, -1))
        assert [e["sequence"] for e in await all_pages(svc, admin, order="asc", limit=5)] == list(range(1, total + 1))
        first = everything[-1]
        assert first["event_id"] == str(envs[0].id)
        assert first["actor"] == {
            "user_id": "u-hn",
            "username": "sgd-hni",
            "role": "unit_account",
            "unit_code": "SGD-HNI",
        }
        assert first["payload"]["ghi_chú"] == "Sự kiện số 1"
        assert first["prev_hash"] == "0" * 64
        assert everything[-2]["prev_hash"] == first["hash"]

        # a unit account reads only entries about its unit, whatever it asks for
        hn = await all_pages(svc, unit_hn, limit=2)
        assert {e["unit_code"] for e in hn} == {"SGD-HNI"}
        assert len(hn) == 4 + 1 + 1  # its requests, QLCL's approval of one, its sign-in
        assert (await all_pages(svc, unit_hn, unit="SGD-HCM")) == []
        hcm_entry = next(e for e in everything if e["unit_code"] == "SGD-HCM")
        assert (await svc.client.get(f"/api/v1/entries/{hcm_entry['sequence']}", headers=unit_hn)).status_code == 404
        own = next(e for e in hn)
        single = await svc.client.get(f"/api/v1/entries/{own['sequence']}", headers=unit_hn)
        assert single.status_code == 200
        assert single.json() == own
        assert (await svc.client.get("/api/v1/entries/999", headers=auditor)).status_code == 404

        # filters
        async def sequences(**params: Any) -> list[int]:
            return sorted(e["sequence"] for e in await all_pages(svc, auditor, **params))

        by_seq = {e["sequence"]: e for e in everything}
        assert await sequences(actor="qlcl.lan") == [9, 10, 14]
        assert await sequences(actor="u-officer") == await sequences(actor="qlcl.lan")
        assert await sequences(unit="SGD-HCM") == [2, 4, 6, 8, 14]
        assert await sequences(unit="QLCL") == [10]  # no unit in the data: the acting officer's
        assert by_seq[11]["unit_code"] is None  # a failed sign-in by an unknown name concerns no unit
        assert await sequences(subject="req-hn-1") == [1, 9]
        assert await sequences(type="request.approved.v1") == [9, 14]
        assert await sequences(type=["request.approved.v1", "audit.checkpoint.v1"]) == [9, 13, 14]
        assert await sequences(type="auth.*") == [11, 12]
        assert await sequences(type="request.*", unit="SGD-HNI", actor="sgd-hni") == [1, 3, 5, 7]
        t = envs[2].time
        assert await sequences(**{"from": t.isoformat(), "to": (t + timedelta(minutes=2)).isoformat()}) == [3, 5]
        assert await sequences(**{"from": envs[-1].time.isoformat()}) == [total]
        unit_subject = await all_pages(svc, unit_hn, subject="req-hn-1")
        assert [e["sequence"] for e in unit_subject] == [9, 1]

        await _bad_input_is_a_problem(svc, auditor)

        # QLCL officers have no access to the audit log (documented decision); strangers none either.
        # (Last: each refusal is published and soon recorded here, which would change the counts above.)
        assert (await svc.client.get("/api/v1/entries")).status_code == 401
        refused = await svc.client.get("/api/v1/entries", headers=token_for("qlcl_officer").headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
