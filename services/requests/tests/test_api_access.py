"""Each role's rights. A unit reaches only its own requests — another unit's request answers exactly like
one that does not exist (404), on every endpoint; QLCL officers act on all; administrators and
auditors read all and change nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

BODIES: dict[str, dict[str, Any]] = {
    "submit": {},
    "approve": {},
    "reject": {"reason": "x"},
    "return": {"reason": "x"},
    "cancel": {"reason": "x"},
    "confirm-receipt": {},
    "close": {},
}
TRANSITIONS = tuple(BODIES)


async def _every_endpoint(api_env: Any, request_id: str, attachment_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """Call every endpoint on one request; returns name → response."""
    match = {**headers, "If-Match": '"1"'}
    base = f"/api/v1/requests/{request_id}"
    client = api_env.client
    calls = {
        "get": client.get(base, headers=headers),
        "history": client.get(f"{base}/history", headers=headers),
        "attachments": client.get(f"{base}/attachments", headers=headers),
        "download": client.get(f"{base}/attachments/{attachment_id}", headers=headers),
        "patch": client.patch(base, json={"justification": "x"}, headers=match),
        "upload": client.post(
            f"{base}/attachments", files={"file": ("a.pdf", api_env.PDF, "application/pdf")}, headers=match
        ),
        "delete": client.delete(f"{base}/attachments/{attachment_id}", headers=match),
        **{name: client.post(f"{base}/{name}", json=BODIES[name], headers=match) for name in TRANSITIONS},
    }
    return {name: await call for name, call in calls.items()}


async def test_a_unit_cannot_see_or_touch_another_units_request(api_env: Any) -> None:
    mine = await api_env.create(api_env.unit(api_env.OTHER_UNIT))
    attached = await api_env.attach(mine["id"], api_env.unit(api_env.OTHER_UNIT))
    attachment_id = attached.json()["attachment_id"]

    intruder = await _every_endpoint(api_env, mine["id"], attachment_id, api_env.unit())
    missing = await _every_endpoint(api_env, str(uuid.uuid4()), attachment_id, api_env.unit())
    for name, response in intruder.items():
        assert response.status_code == 404, (name, response.text)
        assert response.json()["code"] == "request.not_found", name
        assert response.json().keys() == missing[name].json().keys(), name
        assert missing[name].status_code == 404, name

    # listing and counting never show it either, even when asked by unit code
    own = await api_env.create(api_env.unit())
    listed = await api_env.client.get("/api/v1/requests", headers=api_env.unit())
    assert [r["id"] for r in listed.json()["items"]] == [own["id"]]
    asked = await api_env.client.get(
        "/api/v1/requests", params={"unit_code": api_env.OTHER_UNIT}, headers=api_env.unit()
    )
    assert asked.json()["items"] == []
    counts = (await api_env.client.get("/api/v1/requests/counts", headers=api_env.unit())).json()
    assert (counts["total"], counts["counts"]["draft"]) == (1, 1)
    other_counts = await api_env.client.get(
        "/api/v1/requests/counts", params={"unit_code": api_env.OTHER_UNIT}, headers=api_env.unit()
    )
    assert other_counts.json()["total"] == 0

    # the owner's request is untouched
    after = await api_env.read(mine["id"])
    assert (after["status"], after["version"]) == ("draft", 2)

    # and without a token there is nothing at all
    for response in (
        await api_env.client.get("/api/v1/requests"),
        await api_env.client.get(f"/api/v1/requests/{mine['id']}"),
        await api_env.client.get("/api/v1/form-types"),
        await api_env.client.post("/api/v1/requests", json={}),
    ):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


async def test_officers_act_on_all_admins_and_auditors_only_read(api_env: Any) -> None:
    hn = await api_env.submitted()
    hcm = await api_env.submitted(api_env.unit(api_env.OTHER_UNIT))
    attachment_id = hn["attachments"][0]["attachment_id"]

    for who in (api_env.officer(), api_env.admin(), api_env.auditor()):
        listed = await api_env.client.get("/api/v1/requests", headers=who)
        assert {r["id"] for r in listed.json()["items"]} == {hn["id"], hcm["id"]}
        got = await api_env.get(hcm["id"], who)
        assert got.status_code == 200
        assert got.headers["ETag"] == f'"{hcm["version"]}"'
        download = await api_env.client.get(f"/api/v1/requests/{hn['id']}/attachments/{attachment_id}", headers=who)
        assert (download.status_code, download.content) == (200, api_env.PDF)

    # read-only roles: every change is refused with 403, nothing changes
    for who in (api_env.admin(), api_env.auditor()):
        calls = await _every_endpoint(api_env, hn["id"], attachment_id, who)
        for name in ("patch", "upload", "delete", *TRANSITIONS):
            assert calls[name].status_code == 403, (name, calls[name].text)
            assert calls[name].json()["code"] == "request.forbidden"
        created = await api_env.client.post(
            "/api/v1/requests",
            json={"academic_year": "2024-2025", "lines": [{"form_type_code": "BTN-THPT", "quantity": 1}]},
            headers=who,
        )
        assert (created.status_code, created.json()["code"]) == (403, "request.forbidden")
        assert (await api_env.get(hn["id"], who)).json()["available_actions"] == []

    # an officer cannot act as a unit, a unit cannot decide
    officer_submit = await api_env.act(hn["id"], "cancel", api_env.officer())
    assert (officer_submit.status_code, officer_submit.json()["code"]) == (403, "request.forbidden")
    unit_approve = await api_env.act(hn["id"], "approve", api_env.unit())
    assert (unit_approve.status_code, unit_approve.json()["code"]) == (403, "request.forbidden")
    assert (await api_env.get(hcm["id"], api_env.officer())).json()["available_actions"] == [
        "approve",
        "reject",
        "return",
    ]
    assert (await api_env.get(hn["id"], api_env.unit())).json()["available_actions"] == ["cancel"]

    # the officer decides any unit's request
    approved = await api_env.act(hcm["id"], "approve", api_env.officer())
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")

    # every refusal was published as evidence
    async with api_env.svc.runtime.database.session() as session:
        denied = await session.execute(
            text("SELECT count(*) FROM outbox WHERE type = 'security.access_denied.v1' AND topic = 'phoi.requests'")
        )
        assert denied.scalar_one() >= 2 * 10 + 2
