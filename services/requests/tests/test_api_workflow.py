"""The state machine over HTTP: every (status, user action) pair, legal → 200 and the new status,
illegal → 409 ``request.illegal_transition`` with the current state, and nothing changed.

The inventory-driven statuses (waiting_for_stock, allocated and what follows) are reached the way they
are in production: by inventory's events on the bus.
"""

from __future__ import annotations

import itertools
from typing import Any

from phoi_requests.domain import TRANSITIONS, Action, Status

# The HTTP form of each user action: (method, path suffix or None for PATCH, who, body).
HTTP_ACTIONS: dict[Action, tuple[str, str, dict[str, Any]]] = {
    Action.EDIT: ("unit", "PATCH", {"justification": "Bổ sung số liệu"}),
    Action.SUBMIT: ("unit", "submit", {}),
    Action.CANCEL: ("unit", "cancel", {"reason": "Không còn nhu cầu"}),
    Action.CONFIRM_RECEIPT: ("unit", "confirm-receipt", {}),
    Action.APPROVE: ("officer", "approve", {}),
    Action.REJECT: ("officer", "reject", {"reason": "Không thuộc thẩm quyền"}),
    Action.RETURN: ("officer", "return", {"reason": "Thiếu chữ ký"}),
    Action.CLOSE: ("officer", "close", {}),
}


HTTP_ACTIONS_PATHS = [path for _who, path, _body in HTTP_ACTIONS.values() if path != "PATCH"]


async def _perform(env: Any, request_id: str, action: Action, version: int) -> Any:
    who, path, body = HTTP_ACTIONS[action]
    headers = env.unit() if who == "unit" else env.officer()
    if path == "PATCH":
        return await env.patch(request_id, body, headers, version=version)
    return await env.act(request_id, path, headers, version=version, body=body)


async def _reach(env: Any, statuses: list[Status]) -> dict[int, dict[str, Any]]:
    """One request in each of `statuses` (index → request), inventory's part played on the bus."""
    out = {i: await _up_to_approval(env, status) for i, status in enumerate(statuses)}
    # inventory answers every approval that has to go further
    outcomes = []
    for i, status in enumerate(statuses):
        if status is Status.WAITING_FOR_STOCK:
            outcomes.append(env.envelope(env.shortage(out[i])))
        elif status in (Status.ALLOCATED, Status.RECEIVED, Status.CLOSED):
            outcomes.append(env.envelope(env.allocation(out[i], start=1 + 10_000 * i)))
    await env.send(*outcomes)
    await env.processed(*outcomes)
    for i, status in enumerate(statuses):
        out[i] = await _after_outcome(env, out[i], status)
        assert out[i]["status"] == status.value, (status, out[i])
    return out


async def _up_to_approval(env: Any, status: Status) -> dict[str, Any]:
    """A request in `status`, or approved when `status` lies beyond the approval."""
    unit, officer = env.unit(), env.officer()
    if status is Status.DRAFT:  # a complete draft: its letter attached, ready to submit
        created = await env.create()
        return await env.read(created["id"]) if (await env.attach(created["id"])).status_code == 201 else {}
    if status is Status.CANCELLED:
        created = await env.create()
        body: dict[str, Any] = (await env.act(created["id"], "cancel", unit, version=created["version"])).json()
        return body
    if status is Status.SUBMITTED:
        submitted: dict[str, Any] = await env.submitted()
        return submitted
    if status in (Status.RETURNED, Status.REJECTED):
        submitted = await env.submitted()
        action, reason = ("return", {"reason": "Thiếu"}) if status is Status.RETURNED else ("reject", {"reason": "Sai"})
        body = (await env.act(submitted["id"], action, officer, version=submitted["version"], body=reason)).json()
        return body
    approved: dict[str, Any] = await env.approved()
    return approved


async def _after_outcome(env: Any, request: dict[str, Any], status: Status) -> dict[str, Any]:
    """Once inventory answered: re-read, then confirm receipt and close as far as `status` needs."""
    if status in (Status.WAITING_FOR_STOCK, Status.ALLOCATED, Status.RECEIVED, Status.CLOSED):
        request = await env.read(request["id"])
    if status in (Status.RECEIVED, Status.CLOSED):
        request = (await env.act(request["id"], "confirm-receipt", env.unit(), version=request["version"])).json()
    if status is Status.CLOSED:
        request = (await env.act(request["id"], "close", env.officer(), version=request["version"])).json()
    return request


async def test_every_legal_and_illegal_user_transition_over_http(env: Any) -> None:
    user_actions = list(HTTP_ACTIONS)
    legal = [(s, a) for s, a in itertools.product(Status, user_actions) if (s, a) in TRANSITIONS]
    illegal = [(s, a) for s, a in itertools.product(Status, user_actions) if (s, a) not in TRANSITIONS]
    assert len(legal) == 12
    # one fresh request per legal pair (the action moves it on), one shared request per status for the rest
    statuses = [s for s, _ in legal] + list(Status)
    requests = await _reach(env, statuses)
    shared = {status: requests[len(legal) + i] for i, status in enumerate(Status)}

    for i, (status, action) in enumerate(legal):
        request = requests[i]
        response = await _perform(env, request["id"], action, request["version"])
        assert response.status_code == 200, (status, action, response.text)
        body = response.json()
        assert body["status"] == TRANSITIONS[(status, action)].to.value, (status, action)
        assert body["version"] == request["version"] + 1
        assert response.headers["ETag"] == f'"{body["version"]}"'

    for status, action in illegal:
        request = shared[status]
        response = await _perform(env, request["id"], action, request["version"])
        assert response.status_code == 409, (status, action, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "request.illegal_transition"
        assert (problem["current_state"], problem["action"]) == (status.value, action.value)

    for status, request in shared.items():  # refusals changed nothing
        after = await env.read(request["id"])
        assert (after["status"], after["version"]) == (status.value, request["version"])


async def test_history_records_who_when_and_why(api_env: Any) -> None:
    request = await api_env.submitted()
    returned = await api_env.act(request["id"], "return", api_env.officer(), body={"reason": "Thiếu chữ ký thủ trưởng"})
    assert returned.status_code == 200
    resubmitted = await api_env.act(request["id"], "submit", api_env.unit(), body={"comment": "Đã bổ sung"})
    assert resubmitted.json()["submission_count"] == 2
    history = await api_env.client.get(f"/api/v1/requests/{request['id']}/history", headers=api_env.auditor())
    assert history.status_code == 200
    assert history.headers["ETag"] == f'"{resubmitted.json()["version"]}"'
    entries = history.json()["items"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in entries] == [
        ("create", None, "draft"),
        ("edit", "draft", "draft"),
        ("submit", "draft", "submitted"),
        ("return", "submitted", "returned"),
        ("submit", "returned", "submitted"),
    ]
    assert [e["sequence"] for e in entries] == [1, 2, 3, 4, 5]
    # what the attachment changed is said apart; the comment holds only what a person wrote
    assert (entries[1]["attachment"], entries[1]["comment"]) == (
        {"change": "added", "filename": "công-văn-đề-nghị.pdf"},
        None,
    )
    assert [e["attachment"] for e in entries if e["sequence"] != 2] == [None] * 4
    assert entries[3]["comment"] == "Thiếu chữ ký thủ trưởng"
    assert entries[3]["actor"]["role"] == "qlcl_officer"
    assert entries[4]["comment"] == "Đã bổ sung"
    assert entries[4]["actor"] == {**entries[0]["actor"], "role": "unit_account", "unit_code": "SGD-HN"}

    # the API describes itself
    spec = (await api_env.client.get("/openapi.json")).json()
    for path in (
        "/api/v1/requests",
        "/api/v1/requests/counts",
        "/api/v1/requests/{request_id}",
        "/api/v1/requests/{request_id}/history",
        "/api/v1/requests/{request_id}/attachments",
        "/api/v1/requests/{request_id}/attachments/{attachment_id}",
        "/api/v1/form-types",
        *(f"/api/v1/requests/{{request_id}}/{a}" for a in HTTP_ACTIONS_PATHS),
    ):
        assert path in spec["paths"], path
    upload = spec["paths"]["/api/v1/requests/{request_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
