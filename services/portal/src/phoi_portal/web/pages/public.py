"""Pages anyone may open: the start page, and "cannot sign in?" (Article 8.5: report at once to QLCL)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.web import i18n
from phoi_portal.web.deps import load_session
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, FormErrors, has_control_chars, page_router, text
from phoi_portal.web.state import portal
from phoi_portal.web.templating import render

router = page_router()

REPORT_KINDS = ("cannot_access", "suspected_takeover")


@router.get("/")
async def start(request: Request) -> Response:
    if await load_session(request):
        return RedirectResponse("/dashboard", status_code=303)
    return render(request, "start.html")


@router.get("/cannot-sign-in")
async def cannot_sign_in(request: Request, done: str | None = None) -> Response:
    await load_session(request)
    return render(request, "cannot_sign_in.html", form={"kind": "cannot_access"}, reference=done)


@router.post("/cannot-sign-in")
async def report_cannot_sign_in(request: Request) -> Response:
    await load_session(request)
    form = await request.form()
    values = {name: text(form, name) for name in ("reporter", "contact", "description", "kind")}
    errors = FormErrors()
    _check(values, errors)
    if errors:
        return render(request, "cannot_sign_in.html", status_code=FORM_ERRORS_STATUS, form=values, **errors.context())
    body = {**values}
    address = request.client.host if request.client else ""
    try:
        response = await portal(request).services.call(
            "identity",
            "POST",
            "/api/v1/access-reports",
            token=None,
            json=body,
            headers={"X-Forwarded-For": address},
        )
    except ApiProblem as problem:
        errors.from_problem(problem)
        status = 429 if problem.status == 429 else FORM_ERRORS_STATUS
        return render(request, "cannot_sign_in.html", status_code=status, form=values, **errors.context())
    reference = str((response.json() or {}).get("reference") or "")
    return RedirectResponse(f"/cannot-sign-in?done={reference or 'ok'}", status_code=303)


def _check(values: dict[str, str], errors: FormErrors) -> None:
    _ = i18n.gettext
    if not values["reporter"]:
        errors.add("reporter", _("Enter your username or your unit's code."))
    if not values["contact"]:
        errors.add("contact", _("Enter a phone number or an email address where QLCL can reach you."))
    if len(values["description"]) < 10:
        errors.add("description", _("Describe what happened in at least 10 characters."))
    if values["kind"] not in REPORT_KINDS:
        errors.add("kind", _("Choose what happened."))
    for name in ("reporter", "contact", "description"):
        if has_control_chars(values[name]):
            errors.add(name, _("Remove the special characters from this field."))
    for name, limit in (("reporter", 100), ("contact", 200), ("description", 4000)):
        if len(values[name]) > limit:
            errors.add(name, _("This field is too long."))
