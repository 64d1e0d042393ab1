"""A unit's requests for blanks: list, new, edit while draft or returned, submit, cancel, detail.

A new request is saved as a draft first, then its signed letter is attached; if the letter is refused
(not a PDF/JPEG/PNG, too large) the draft is kept and the official is taken to it with the message,
so nothing typed is lost and nothing is submitted half-done.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.deps import SignedIn, UnitSession
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
from phoi_portal.web.state import portal
from phoi_portal.web.templating import render

router = page_router()

LINE_ROWS = 3
ACADEMIC_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
STATUSES = (
    "draft",
    "submitted",
    "returned",
    "approved",
    "waiting_for_stock",
    "allocated",
    "received",
    "rejected",
    "cancelled",
    "closed",
)


@router.get("/requests")
async def list_requests(
    request: Request, session: SignedIn, status: str | None = None, cursor: str | None = None
) -> Response:
    api = Api(request, session)
    chosen = status if status in STATUSES else None
    page = await api.get("requests", "/api/v1/requests", status=chosen, cursor=cursor, limit=20)
    return render(request, "requests/list.html", page=page, status=chosen, statuses=STATUSES)


async def _form_types(api: Api) -> list[dict[str, Any]]:
    page = await api.get("requests", "/api/v1/form-types", limit=200)
    return [f for f in page["items"] if f.get("active", True)]


@router.get("/requests/new")
async def new_request(request: Request, session: UnitSession) -> Response:
    form_types = await _form_types(Api(request, session))
    return render(request, "requests/form.html", form=_blank_form(), form_types=form_types, editing=None)


@router.post("/requests/new")
async def create_request(request: Request, session: UnitSession) -> Response:
    api = Api(request, session)
    form = await request.form()
    values, body, errors = _read_request_form(form)
    letter = form.get("letter")
    has_letter = isinstance(letter, UploadFile) and bool(letter.filename)
    if not has_letter:
        errors.add("letter", i18n.gettext("Attach the signed request letter (PDF, JPEG or PNG)."))
    if not errors:
        try:
            created = await api.send("requests", "POST", "/api/v1/requests", json=body)
        except ApiProblem as problem:
            errors.from_problem(problem, _field_names())
        else:
            return await _attach_then_show(api, created, letter)
    form_types = await _form_types(api)
    return render(
        request,
        "requests/form.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        form_types=form_types,
        editing=None,
        **errors.context(),
    )


async def _attach_then_show(api: Api, saved: dict[str, Any], letter: Any) -> Response:
    if isinstance(letter, UploadFile) and letter.filename:
        content = await letter.read()
        try:
            await api.send(
                "requests",
                "POST",
                f"/api/v1/requests/{saved['id']}/attachments",
                version=saved["version"],
                files={"file": (letter.filename, content, letter.content_type or "application/octet-stream")},
            )
        except ApiProblem as problem:
            return RedirectResponse(f"/requests/{saved['id']}/edit?letter_error={problem.code}", status_code=303)
    return RedirectResponse(f"/requests/{saved['id']}?done=saved", status_code=303)


@router.get("/requests/{request_id}")
async def request_detail(request: Request, session: SignedIn, request_id: str, done: str | None = None) -> Response:
    api = Api(request, session)
    item = await labelled(api, await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}"))
    history = await api.get("requests", f"/api/v1/requests/{item['id']}/history")
    return render(request, "requests/detail.html", item=item, history=history["items"], notice=done)


@router.get("/requests/{request_id}/edit")
async def edit_request(
    request: Request, session: UnitSession, request_id: str, letter_error: str | None = None
) -> Response:
    api = Api(request, session)
    item = await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}")
    errors = FormErrors()
    if letter_error:
        errors.add("letter", i18n.problem_message(letter_error))
    return render(
        request,
        "requests/form.html",
        form=_form_of(item),
        form_types=await _form_types(api),
        editing=item,
        **errors.context(),
    )


@router.post("/requests/{request_id}/edit")
async def save_request(request: Request, session: UnitSession, request_id: str) -> Response:
    api = Api(request, session)
    item = await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}")
    form = await request.form()
    values, body, errors = _read_request_form(form)
    version = whole_number(text(form, "version")) or item["version"]
    # PATCH: an empty string clears a field (None would mean "unchanged").
    body["exam_session"], body["justification"] = values["exam_session"], values["justification"]
    if not errors:
        try:
            saved = await api.send("requests", "PATCH", f"/api/v1/requests/{item['id']}", json=body, version=version)
        except ApiProblem as problem:
            errors.from_problem(problem, _field_names())
        else:
            return await _attach_then_show(api, saved, form.get("letter"))
    return render(
        request,
        "requests/form.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        form_types=await _form_types(api),
        editing=item,
        **errors.context(),
    )


@router.post("/requests/{request_id}/submit")
async def submit_request(request: Request, session: UnitSession, request_id: str) -> Response:
    return await _act(request, session, request_id, "submit")


@router.post("/requests/{request_id}/cancel")
async def cancel_request(request: Request, session: UnitSession, request_id: str) -> Response:
    return await _act(request, session, request_id, "cancel")


async def _act(request: Request, session: Session, request_id: str, action: str) -> Response:
    """Submit or cancel, with the version the official saw (a change meanwhile is said plainly)."""
    form = await request.form()
    version = whole_number(text(form, "version"))
    api = Api(request, session)
    try:
        await api.send("requests", "POST", f"/api/v1/requests/{uuid_of(request_id)}/{action}", json={}, version=version)
    except ApiProblem as problem:
        item = await labelled(api, await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}"))
        history = await api.get("requests", f"/api/v1/requests/{item['id']}/history")
        errors = FormErrors(general=[i18n.problem_message(problem.code, problem.detail)])
        return render(
            request,
            "requests/detail.html",
            status_code=FORM_ERRORS_STATUS,
            item=item,
            history=history["items"],
            **errors.context(),
        )
    return RedirectResponse(f"/requests/{request_id}?done={action}", status_code=303)


@router.get("/requests/{request_id}/attachments/{attachment_id}")
async def download_letter(request: Request, session: SignedIn, request_id: str, attachment_id: str) -> Response:
    path = f"/api/v1/requests/{uuid_of(request_id)}/attachments/{uuid_of(attachment_id)}"
    upstream = await portal(request).services.call("requests", "GET", path, token=session.tokens.access_token)
    headers = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "content-disposition")}
    media_type = upstream.headers.get("content-type", "").split(";")[0].strip().lower()
    if upstream.status_code == 200 and media_type in INLINE_TYPES:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-disposition"}
        disposition = upstream.headers.get("content-disposition", "")
        _kind, sep, params = disposition.partition(";")
        headers["Content-Disposition"] = "inline" + sep + params
        headers["Content-Security-Policy"] = DOCUMENT_CSP
    return Response(upstream.content, headers=headers)


# A letter opens in the browser's own viewer, under a policy of its own (web/security.py keeps it): nothing
# may load, run or frame it; object-src 'self' only because Chromium's PDF viewer counts as a plugin.
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg")
DOCUMENT_CSP = (
    "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


async def labelled(api: Api, item: dict[str, Any]) -> dict[str, Any]:
    """Serial ranges as printed on the blanks (PT0000001), from inventory's catalogue."""
    formats = {f["code"]: f for f in (await api.get("inventory", "/api/v1/form-types", limit=200))["items"]}
    for line in item["lines"]:
        form_type = formats.get(line["form_type_code"])
        for key in ("allocated_ranges", "rejected_ranges"):
            for r in line.get(key) or []:
                if form_type:
                    r["first_label"] = serial_label(form_type, r["first"])
                    r["last_label"] = serial_label(form_type, r["last"])
    return item


def serial_label(form_type: dict[str, Any], serial: int) -> str:
    return f"{form_type['serial_prefix']}{serial:0{int(form_type['digits'])}d}"


def _blank_form() -> dict[str, Any]:
    return {"academic_year": "", "exam_session": "", "justification": "", "lines": [{} for _ in range(LINE_ROWS)]}


def _form_of(item: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {"form_type": ln["form_type_code"], "quantity": str(ln["quantity"]), "justification": ln["justification"] or ""}
        for ln in item["lines"]
    ]
    lines += [{} for _ in range(max(LINE_ROWS - len(lines), 1))]
    return {
        "academic_year": item["academic_year"],
        "exam_session": item["exam_session"] or "",
        "justification": item["justification"] or "",
        "lines": lines,
        "version": item["version"],
    }


def _field_names() -> dict[str, str]:
    """The service's field paths → this form's field names."""
    names = {"academic_year": "academic_year", "exam_session": "exam_session", "justification": "justification"}
    for i in range(20):
        names[f"lines.{i}.quantity"] = f"line-{i}-quantity"
        names[f"lines.{i}.form_type_code"] = f"line-{i}-form_type"
        names[f"lines.{i}.justification"] = f"line-{i}-justification"
    return names


def _read_request_form(form: FormData) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    """The typed values (to show again), the API body, and the errors found before calling the service."""
    _ = i18n.gettext
    errors = FormErrors()
    values: dict[str, Any] = {name: text(form, name) for name in ("academic_year", "exam_session", "justification")}
    year = ACADEMIC_YEAR.match(values["academic_year"])
    if not year or int(year.group(2)) != int(year.group(1)) + 1:
        errors.add("academic_year", _("Enter the school year as two consecutive years, for example 2025-2026."))
    for name in ("academic_year", "exam_session", "justification"):
        if has_control_chars(values[name]):
            errors.add(name, _("Remove the special characters from this field."))
    lines, body_lines, seen = [], [], set()
    count = max(LINE_ROWS, sum(1 for k in form if k.startswith("line-") and k.endswith("-form_type")))
    for i in range(count):
        line = {k: text(form, f"line-{i}-{k}") for k in ("form_type", "quantity", "justification")}
        lines.append(line)
        if not any(line.values()):
            continue
        quantity = whole_number(line["quantity"])
        if not line["form_type"]:
            errors.add(f"line-{i}-form_type", _("Choose the form type."))
        elif line["form_type"] in seen:
            errors.add(f"line-{i}-form_type", _("This form type is already on another line."))
        if quantity is None or quantity <= 0:
            errors.add(f"line-{i}-quantity", _("Enter the number of blanks as a whole number greater than 0."))
        if has_control_chars(line["justification"]):
            errors.add(f"line-{i}-justification", _("Remove the special characters from this field."))
        seen.add(line["form_type"])
        body_lines.append(
            {
                "form_type_code": line["form_type"],
                "quantity": quantity or 0,
                "justification": line["justification"] or None,
            }
        )
    if not body_lines:
        errors.add("line-0-form_type", _("Add at least one line: a form type and a number of blanks."))
    values["lines"] = lines
    body = {
        "academic_year": values["academic_year"],
        "exam_session": values["exam_session"] or None,
        "justification": values["justification"] or None,
        "lines": body_lines,
    }
    return values, body, errors
