"""QLCL administrator: the queue of access incidents (Article 8.5) and sign-in activity.

Reports come from signed-in holders and from the public "cannot sign in" page (`source: public`, with
the reference the reporter was given). The administrator reads one, may lock the account it names, and
resolves it with a note; resetting the password shows the new temporary password once.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.pages._admin import (
    LONG,
    AdminSession,
    check_reason,
    check_text,
    place_problem,
    version_of,
)
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, Api, FormErrors, page_router, text, uuid_of
from phoi_portal.web.pages.admin_accounts import issued_page
from phoi_portal.web.templating import render

router = page_router()

STATUSES = ("open", "resolved")
SOURCES = ("public", "signed_in")
ACTIONS = ("none", "keep_locked", "reset_password")


@router.get("/admin/incidents")
async def incident_queue(
    request: Request,
    session: AdminSession,
    status: str | None = "open",
    source: str | None = None,
    cursor: str | None = None,
) -> Response:
    filters = {"status": status if status in STATUSES else None, "source": source if source in SOURCES else None}
    page = await Api(request, session).get("identity", "/api/v1/incidents", cursor=cursor, limit=50, **filters)
    return render(request, "admin/incidents.html", page=page, filters=filters, statuses=STATUSES, sources=SOURCES)


@router.get("/admin/incidents/{incident_id}")
async def incident_detail(
    request: Request, session: AdminSession, incident_id: str, done: str | None = None
) -> Response:
    return await _detail(request, session, incident_id, notice=done)


async def _detail(
    request: Request,
    session: Session,
    incident_id: str,
    *,
    status_code: int = 200,
    notice: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    api = Api(request, session)
    incident = await api.get("identity", f"/api/v1/incidents/{uuid_of(incident_id)}")
    account = None
    if incident.get("account_id"):
        account = await api.get("identity", f"/api/v1/accounts/{incident['account_id']}")
    form = form or {"action": "", "resolution": "", "reason": ""}
    return render(
        request,
        "admin/incident.html",
        status_code=status_code,
        incident=incident,
        account=account,
        actions=ACTIONS,
        form=form,
        notice=notice,
        **(errors or FormErrors()).context(),
    )


@router.post("/admin/incidents/{incident_id}/resolve")
async def resolve(request: Request, session: AdminSession, incident_id: str) -> Response:
    _ = i18n.gettext
    form = await request.form()
    values: dict[str, Any] = {"action": text(form, "action"), "resolution": text(form, "resolution"), "reason": ""}
    errors = FormErrors()
    if values["action"] not in ACTIONS:
        errors.add("action", _("Choose what to do with the account."))
    check_text(
        errors, "resolution", values["resolution"], required=_("Say what you found and what you did."), limit=LONG
    )
    if not errors:
        body = {"action": values["action"], "resolution": values["resolution"]}
        path = f"/api/v1/incidents/{uuid_of(incident_id)}/resolve"
        try:
            resolved = await Api(request, session).send("identity", "POST", path, json=body, version=version_of(form))
        except ApiProblem as problem:
            place_problem(errors, problem, {"action": "action", "resolution": "resolution"})
        else:
            if resolved.get("temporary_password") and resolved.get("account"):
                account = {**resolved["account"], "temporary_password": resolved["temporary_password"]}
                return await issued_page(request, session, account, "reset")
            return RedirectResponse(f"/admin/incidents/{resolved['id']}?done=resolved", status_code=303)
    return await _detail(request, session, incident_id, status_code=FORM_ERRORS_STATUS, form=values, errors=errors)


@router.post("/admin/incidents/{incident_id}/lock-account")
async def lock_account(request: Request, session: AdminSession, incident_id: str) -> Response:
    """Lock the account the incident names, with the account's version as the administrator saw it."""
    api = Api(request, session)
    form = await request.form()
    values: dict[str, Any] = {"action": "", "resolution": "", "reason": text(form, "reason")}
    errors = FormErrors()
    check_reason(errors, values["reason"])
    incident = await api.get("identity", f"/api/v1/incidents/{uuid_of(incident_id)}")
    if not incident.get("account_id"):
        errors.general.append(_no_account())
    if not errors:
        path = f"/api/v1/accounts/{incident['account_id']}/lock"
        try:
            await api.send("identity", "POST", path, json={"reason": values["reason"]}, version=version_of(form))
        except ApiProblem as problem:
            place_problem(errors, problem, {"reason": "reason"})
        else:
            return RedirectResponse(f"/admin/incidents/{incident['id']}?done=locked", status_code=303)
    return await _detail(request, session, incident_id, status_code=FORM_ERRORS_STATUS, form=values, errors=errors)


def _no_account() -> str:
    return i18n.gettext("This report names no existing account: there is no account to lock.")


@router.get("/admin/sign-ins")
async def sign_in_activity(request: Request, session: AdminSession, cursor: str | None = None) -> Response:
    api = Api(request, session)
    report = await api.get("identity", "/api/v1/sign-in-activity")
    events = await api.get("identity", "/api/v1/sign-in-activity/events", cursor=cursor, limit=50)
    return render(request, "admin/sign_ins.html", report=report, events=events)
