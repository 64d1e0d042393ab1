"""Listing with filters and cursor pagination, counts per status, and "requests waiting for me"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

ICT = timezone(timedelta(hours=7))


async def _all_pages(api_env: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await api_env.client.get("/api/v1/requests", params=query, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= int(params.get("limit", 50))
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_filters_pages_counts_and_waiting_for_me(api_env: Any) -> None:
    hn, hcm, officer = api_env.unit(), api_env.unit(api_env.OTHER_UNIT), api_env.officer()
    thcs_only = [{"form_type_code": "BTN-THCS", "quantity": 5}]
    made = {
        "hn_draft": await api_env.create(hn),
        "hn_draft_2023": await api_env.create(hn, academic_year="2023-2024", lines=thcs_only),
        "hn_submitted": await api_env.submitted(hn),
        "hn_approved": await api_env.approved(hn),
        "hcm_submitted": await api_env.submitted(hcm, lines=thcs_only),
        "hcm_draft": await api_env.create(hcm),
    }
    returned = await api_env.act(made["hn_submitted"]["id"], "return", officer, body={"reason": "Thiếu chữ ký"})
    made["hn_submitted"] = returned.json()  # now: returned
    ids = {name: r["id"] for name, r in made.items()}

    # newest first, every request exactly once across pages
    everything = await _all_pages(api_env, officer, limit=2)
    assert [r["id"] for r in everything] == [ids[n] for n in reversed(list(made))]
    assert everything[0]["lines"][0]["form_type_code"] == "BTN-THPT"
    # oldest first (a review queue), pages continuing the other way round, filters still applied
    oldest = await _all_pages(api_env, officer, limit=2, order="oldest")
    assert [r["id"] for r in oldest] == [ids[n] for n in made]
    queue = await _all_pages(api_env, officer, limit=1, order="oldest", status=["submitted", "returned"])
    assert [r["id"] for r in queue] == [ids["hn_submitted"], ids["hcm_submitted"]]
    unordered = await api_env.client.get("/api/v1/requests", params={"order": "random"}, headers=officer)
    assert unordered.status_code == 422

    async def ids_of(headers: dict[str, str], **params: Any) -> set[str]:
        return {r["id"] for r in await _all_pages(api_env, headers, **params)}

    assert await ids_of(officer, unit_code=api_env.UNIT) == {ids[n] for n in made if n.startswith("hn_")}
    assert await ids_of(officer, status="draft") == {ids["hn_draft"], ids["hn_draft_2023"], ids["hcm_draft"]}
    assert await ids_of(officer, status=["submitted", "returned"]) == {ids["hn_submitted"], ids["hcm_submitted"]}
    assert await ids_of(officer, form_type="BTN-THCS") == set(ids.values())
    assert await ids_of(officer, form_type="BTN-THCS", academic_year="2024-2025", unit_code=api_env.OTHER_UNIT) == {
        ids["hcm_submitted"],
        ids["hcm_draft"],
    }
    assert await ids_of(officer, form_type="BTN-THPT") == set(ids.values()) - {
        ids["hn_draft_2023"],
        ids["hcm_submitted"],
    }
    assert await ids_of(officer, academic_year="2023-2024") == {ids["hn_draft_2023"]}
    today = datetime.now(UTC).astimezone(ICT).date()
    assert await ids_of(officer, created_from=today.isoformat(), created_to=today.isoformat()) == set(ids.values())
    assert await ids_of(officer, created_from=(today + timedelta(days=1)).isoformat()) == set()
    assert await ids_of(officer, created_to=(today - timedelta(days=1)).isoformat()) == set()
    backwards = await api_env.client.get(
        "/api/v1/requests", params={"created_from": today.isoformat(), "created_to": "2000-01-01"}, headers=officer
    )
    assert backwards.status_code == 422

    # a unit only ever lists its own
    assert await ids_of(hn) == {ids[n] for n in made if n.startswith("hn_")}
    assert await ids_of(hcm, status="submitted") == {ids["hcm_submitted"]}

    # waiting for me: the unit finishes drafts and returned requests; the officer reviews submitted ones
    assert await ids_of(hn, waiting_for="me") == {ids["hn_draft"], ids["hn_draft_2023"], ids["hn_submitted"]}
    assert await ids_of(hcm, waiting_for="me") == {ids["hcm_draft"]}
    assert await ids_of(officer, waiting_for="me") == {ids["hcm_submitted"]}
    assert await ids_of(officer, waiting_for="me", unit_code=api_env.UNIT) == set()
    assert await ids_of(hn, waiting_for="me", status="returned") == {ids["hn_submitted"]}
    assert await ids_of(api_env.auditor(), waiting_for="me") == set()
    bad = await api_env.client.get("/api/v1/requests", params={"waiting_for": "someone"}, headers=officer)
    assert bad.status_code == 422

    # counts per status, for dashboards, scoped like the list
    counts = (await api_env.client.get("/api/v1/requests/counts", headers=officer)).json()
    assert counts["total"] == 6
    assert {k: v for k, v in counts["counts"].items() if v} == {
        "draft": 3,
        "returned": 1,
        "submitted": 1,
        "approved": 1,
    }
    assert len(counts["counts"]) == 10
    assert counts["waiting_for_me"] == 1
    unit_counts = (await api_env.client.get("/api/v1/requests/counts", headers=hn)).json()
    assert (unit_counts["total"], unit_counts["waiting_for_me"]) == (4, 3)
    filtered = (
        await api_env.client.get(
            "/api/v1/requests/counts", params={"academic_year": "2023-2024"}, headers=api_env.auditor()
        )
    ).json()
    assert (filtered["total"], filtered["counts"]["draft"], filtered["waiting_for_me"]) == (1, 1, 0)
