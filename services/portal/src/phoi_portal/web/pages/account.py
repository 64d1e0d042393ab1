"""The account: who holds it since when, recent sign-ins, and changing the password (through Keycloak)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.web.deps import SignedIn
from phoi_portal.web.pages._common import Api, page_router
from phoi_portal.web.templating import render

router = page_router()


@router.get("/account")
async def account(request: Request, session: SignedIn, done: str | None = None) -> Response:
    api = Api(request, session)
    details: Any = None
    holders: list[Any] = []
    activity: list[Any] = []
    try:
        accounts = (await api.get("identity", "/api/v1/accounts"))["items"]
        details = next((a for a in accounts if a.get("keycloak_user_id") == session.user_id), None)
        if details is not None:
            holders = (await api.get("identity", f"/api/v1/accounts/{details['id']}/holders"))["items"]
            activity = (await api.get("identity", "/api/v1/sign-in-activity/events", account=details["id"], limit=10))[
                "items"
            ]
    except ApiProblem:
        pass  # not every account is in the directory (e.g. a test user): the page shows what is known
    return render(
        request,
        "account.html",
        details=details,
        holders=holders,
        activity=activity,
        notice="password" if done == "password" else None,
    )
