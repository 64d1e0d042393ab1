"""Article 8.5: the holder reports at once when the account may be taken over or the software fails."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.web import i18n
from phoi_portal.web.deps import SignedIn
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, Api, FormErrors, has_control_chars, page_router, text
from phoi_portal.web.templating import render

router = page_router()

KINDS = ("suspected_takeover", "unreachable", "other")


@router.get("/incidents/new")
async def incident_form(request: Request, session: SignedIn) -> Response:
    return render(request, "incidents/new.html", form={"kind": ""}, kinds=KINDS)


@router.post("/incidents/new")
async def report_incident(request: Request, session: SignedIn) -> Response:
    _ = i18n.gettext
    form = await request.form()
    values = {"kind": text(form, "kind"), "description": text(form, "description")}
    errors = FormErrors()
    if values["kind"] not in KINDS:
        errors.add("kind", _("Choose what happened."))
    if len(values["description"]) < 10:
        errors.add("description", _("Describe what happened in at least 10 characters."))
    elif has_control_chars(values["description"]) or len(values["description"]) > 4000:
        errors.add("description", _("Remove the special characters from this field."))
    if not errors:
        try:
            await Api(request, session).send("identity", "POST", "/api/v1/incidents", json=values)
        except ApiProblem as problem:
            errors.from_problem(problem)
        else:
            # A suspected takeover locks the account: every session, this one included, ends.
            target = (
                "/signed-out?reason=reported" if values["kind"] == "suspected_takeover" else "/dashboard?done=reported"
            )
            return RedirectResponse(target, status_code=303)
    return render(
        request, "incidents/new.html", status_code=FORM_ERRORS_STATUS, form=values, kinds=KINDS, **errors.context()
    )
