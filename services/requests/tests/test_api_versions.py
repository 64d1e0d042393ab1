"""Optimistic concurrency: ETag on every read and change, If-Match required (428), stale → 412, and two
officers deciding at once — exactly one wins."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text


async def test_if_match_is_required_and_checked(api_env: Any) -> None:
    created = await api_env.create()
    rid = created["id"]
    got = await api_env.get(rid, api_env.unit())
    assert got.headers["ETag"] == '"1"'
    url = f"/api/v1/requests/{rid}"

    missing = await api_env.client.patch(url, json={"justification": "x"}, headers=api_env.unit())
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    assert (missing.json()["code"], missing.json()["current_version"]) == ("if_match_required", 1)
    for action in ("submit", "cancel"):
        refused = await api_env.client.post(f"{url}/{action}", headers=api_env.unit())
        assert (refused.status_code, refused.json()["code"]) == (428, "if_match_required")

    garbage = await api_env.client.patch(url, json={"justification": "x"}, headers={**api_env.unit(), "If-Match": "*"})
    assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_if_match")

    stale = await api_env.client.patch(url, json={"justification": "x"}, headers={**api_env.unit(), "If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    assert stale.json()["title"] == "The resource changed since you read it"
    assert (stale.json()["expected_version"], stale.json()["current_version"]) == (7, 1)

    # a weak ETag is accepted; the answer carries the new one
    edited = await api_env.client.patch(
        url, json={"justification": "Mới"}, headers={**api_env.unit(), "If-Match": 'W/"1"'}
    )
    assert (edited.status_code, edited.headers["ETag"], edited.json()["justification"]) == (200, '"2"', "Mới")

    # the version read before the edit no longer works, even for an action legal now
    late = await api_env.act(rid, "cancel", api_env.unit(), version=1)
    assert (late.status_code, late.json()["code"]) == (412, "version_mismatch")
    assert (await api_env.read(rid))["status"] == "draft"

    # the check order: another unit's request is 404 even without If-Match; a read-only role 403
    assert (await api_env.client.post(f"{url}/submit", headers=api_env.unit(api_env.OTHER_UNIT))).status_code == 404
    assert (await api_env.client.post(f"{url}/submit", headers=api_env.auditor())).status_code == 403


async def test_two_officers_deciding_at_once_one_wins(committed_env: Any) -> None:
    # committed_env, not api_env: the two decisions run at once, each in a transaction of its own
    first = await committed_env.submitted()
    second = await committed_env.submitted()

    async def decide(request: dict[str, Any], action: str, body: dict[str, Any]) -> Any:
        return await committed_env.act(
            request["id"], action, committed_env.officer(), version=request["version"], body=body
        )

    races: list[tuple[dict[str, Any], tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = [
        (first, ("approve", {}), ("approve", {})),
        (second, ("approve", {}), ("reject", {"reason": "Không đủ điều kiện"})),
    ]
    for request, (a, body_a), (b, body_b) in races:
        results = await asyncio.gather(decide(request, a, body_a), decide(request, b, body_b))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 412], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 412)
        assert loser.json()["code"] == "version_mismatch"
        history = await committed_env.client.get(
            f"/api/v1/requests/{request['id']}/history", headers=committed_env.officer()
        )
        decisions = [e for e in history.json()["items"] if e["action"] in ("approve", "reject")]
        assert len(decisions) == 1
        after = await committed_env.read(request["id"])
        assert after["version"] == request["version"] + 1

    # the events published match: one decision per request
    async with committed_env.svc.runtime.database.session() as session:
        rows = await session.execute(
            text("SELECT key, type FROM outbox WHERE type IN ('request.approved.v1', 'request.rejected.v1')")
        )
        decided = sorted(r.key for r in rows)
    assert decided == sorted([first["id"], second["id"]])
