"""The start of a signed-in day: what needs attention, requests by status, blanks on hand."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from phoi_portal.web.deps import SignedIn
from phoi_portal.web.pages._common import Api, page_router
from phoi_portal.web.templating import render

router = page_router()


@router.get("/dashboard")
async def dashboard(request: Request, session: SignedIn) -> Response:
    api = Api(request, session)
    counts = await api.get("requests", "/api/v1/requests/counts")
    context: dict[str, Any] = {"counts": counts, "stock": None, "to_receive": [], "to_revise": []}
    if session.is_unit:
        context["stock"] = (await api.get("inventory", "/api/v1/stock"))["items"]
        allocated = await api.get("requests", "/api/v1/requests", status="allocated", limit=20)
        returned = await api.get("requests", "/api/v1/requests", status="returned", limit=20)
        context["to_receive"] = allocated["items"]
        context["to_revise"] = returned["items"]
    return render(request, "dashboard.html", **context)
