"""QLCL officers review requests: the queue (oldest first), one request with what the unit holds and used,
and the decision (approve with per-line quantities, return for revision, reject), each with a reason
the unit sees. The version the officer read goes with the decision: a change meanwhile is said plainly.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from phoi_kit.auth import Role
from starlette.datastructures import FormData

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.deps import role
from phoi_portal.web.i18n import VIETNAM
from phoi_portal.web.pages._common import (
    FORM_ERRORS_STATUS,
    Api,
    FormErrors,
    has_control_chars,
    page_router,
    text,
    uuid_of,
    whole_number,
)
from phoi_portal.web.pages.requests import STATUSES, labelled
from phoi_portal.web.templating import render

router = page_router()

OfficerSession = Annotated[Session, role(Role.QLCL_OFFICER)]
DECISIONS = ("approve", "return", "reject")
MAX_REASON = 2000


@router.get("/review")
async def review_queue(
    request: Request,
    session: OfficerSession,
    status: str = "submitted",
    unit_code: str = "",
    form_type: str = "",
    academic_year: str = "",
    cursor: str | None = None,
) -> Response:
    api = Api(request, session)
    chosen = status if status in STATUSES else None
    scope = {k: v.strip() or None for k, v in (("unit_code", unit_code), ("form_type", form_type))}
    scope["academic_year"] = academic_year.strip() or None
    page, counts, form_types = await asyncio.gather(
        api.get("requests", "/api/v1/requests", status=chosen, order="oldest", cursor=cursor, limit=20, **scope),
        api.get("requests", "/api/v1/requests/counts", **scope),
        api.get("requests", "/api/v1/form-types", limit=200),
    )
    filters = {"status": chosen or "all", **{k: v or "" for k, v in scope.items()}}
    return render(
        request,
        "officer/queue.html",
        page=page,
        counts=counts,
        filters=filters,
        statuses=STATUSES,
        form_types=form_types["items"],
    )


async def _context(api: Api, request_id: str) -> dict[str, Any]:
    """The request, its history, and per requested form type the unit's stock and last 12 months' usage."""
    item = await labelled(api, await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}"))
    today = datetime.now(VIETNAM).date()
    start = today - timedelta(days=365)
    history, stock, usage = await asyncio.gather(
        api.get("requests", f"/api/v1/requests/{item['id']}/history"),
        api.get("inventory", "/api/v1/stock", unit_code=item["unit_code"]),
        api.get(
            "inventory",
            "/api/v1/reports/usage",
            unit_code=item["unit_code"],
            **{"from": start.isoformat(), "to": today.isoformat()},
        ),
    )
    codes = [line["form_type_code"] for line in item["lines"]]
    held = {c: [s for s in stock["items"] if s["form_type"] == c and s["count"] > 0] for c in codes}
    used = {f["form_type"]: f for f in usage.get("form_types", []) if f.get("form_type") in codes}
    return {
        "item": item,
        "history": history["items"],
        "held": held,
        "used": used,
        "usage_period": (start, today),
    }


def _blank_decision(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision": "",
        "reason": "",
        "lines": {ln["line_id"]: str(ln["quantity"]) for ln in item["lines"]},
    }


@router.get("/review/{request_id}")
async def review_page(request: Request, session: OfficerSession, request_id: str, done: str | None = None) -> Response:
    context = await _context(Api(request, session), request_id)
    return render(request, "officer/review.html", form=_blank_decision(context["item"]), notice=done, **context)


def _read_decision(form: FormData, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    """The typed values (shown again), the API body, and the mistakes found before calling the service."""
    _ = i18n.gettext
    errors = FormErrors()
    values: dict[str, Any] = {"decision": text(form, "decision"), "reason": text(form, "reason"), "lines": {}}
    decision, reason = values["decision"], values["reason"]
    if decision not in DECISIONS:
        errors.add("decision", _("Choose a decision: approve, return for revision or reject."))
    lowered = False
    lines = []
    for ln in item["lines"]:
        typed = text(form, f"approved-{ln['line_id']}")
        values["lines"][ln["line_id"]] = typed
        if decision != "approve":
            continue
        quantity = whole_number(typed)
        if quantity is None:
            errors.add(f"approved-{ln['line_id']}", _("Enter the number of blanks approved as a whole number."))
        elif quantity > ln["quantity"]:
            errors.add(
                f"approved-{ln['line_id']}",
                _("Approve no more than the %(n)s requested.") % {"n": i18n.format_number(ln["quantity"])},
            )
        else:
            lowered = lowered or quantity < ln["quantity"]
            lines.append({"line_id": ln["line_id"], "approved_quantity": quantity})
    if decision in ("return", "reject") and not reason:
        errors.add("reason", _("Say why: the unit sees this reason."))
    elif decision == "approve" and lowered and not reason:
        errors.add("reason", _("Say why fewer blanks are approved than requested: the unit sees this reason."))
    if has_control_chars(reason) or len(reason) > MAX_REASON:
        errors.add("reason", _("Remove the special characters from this field."))
    body: dict[str, Any] = (
        {"lines": lines, "comment": reason or None} if decision == "approve" else {"reason": reason or None}
    )
    return values, body, errors


def _field_names(item: dict[str, Any]) -> dict[str, str]:
    names = {"reason": "reason", "comment": "reason"}
    for i, ln in enumerate(item["lines"]):
        names[f"lines.{i}.approved_quantity"] = f"approved-{ln['line_id']}"
    return names


@router.post("/review/{request_id}")
async def decide(request: Request, session: OfficerSession, request_id: str) -> Response:
    api = Api(request, session)
    item = await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}")
    form = await request.form()
    values, body, errors = _read_decision(form, item)
    version = whole_number(text(form, "version")) or item["version"]
    changed = False
    if not errors:
        try:
            await api.send(
                "requests", "POST", f"/api/v1/requests/{item['id']}/{values['decision']}", json=body, version=version
            )
        except ApiProblem as problem:
            if problem.code == "version_mismatch" or problem.status == 412:
                changed = True
                errors.general.append(
                    i18n.gettext(
                        "Someone else changed this request while you were reviewing it. "
                        "It is shown again below as it is now: check it before you decide."
                    )
                )
            else:
                errors.from_problem(problem, _field_names(item))
        else:
            return RedirectResponse(f"/review/{item['id']}?done={values['decision']}", status_code=303)
    context = await _context(api, request_id)
    if changed:  # the request as it is now, with the officer's reason kept
        values = {**_blank_decision(context["item"]), "reason": values["reason"]}
    return render(
        request,
        "officer/review.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        changed=changed,
        **context,
        **errors.context(),
    )
