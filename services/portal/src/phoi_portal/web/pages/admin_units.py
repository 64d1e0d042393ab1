"""QLCL administrator: the directory of units — list, register, change, deactivate and reactivate."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.pages._admin import AdminSession, check_reason, check_text, place_problem, version_of
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, Api, FormErrors, page_router, text
from phoi_portal.web.templating import render

router = page_router()

KINDS = ("institution", "department", "qlcl")
STATUSES = ("active", "inactive")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
DETAILS = ("name", "name_en", "province", "head_name", "head_position", "head_contact")
# The service's field paths → this form's field names.
FIELD_NAMES = {"code": "code", "kind": "kind", "head.name": "head_name", "head.position": "head_position"}
FIELD_NAMES |= {"head.contact": "head_contact", "name": "name", "name_en": "name_en", "province": "province"}


def _path(code: str) -> str:
    if not CODE.match(code):
        from starlette.exceptions import HTTPException

        raise HTTPException(404)
    return f"/api/v1/units/{code.upper()}"


@router.get("/admin/units")
async def list_units(
    request: Request, session: AdminSession, status: str | None = None, cursor: str | None = None
) -> Response:
    chosen = status if status in STATUSES else None
    page = await Api(request, session).get("identity", "/api/v1/units", status=chosen, cursor=cursor, limit=50)
    return render(request, "admin/units.html", page=page, status=chosen, statuses=STATUSES)


@router.get("/admin/units/new")
async def new_unit(request: Request, session: AdminSession) -> Response:
    return render(request, "admin/unit_form.html", form={"kind": "institution"}, kinds=KINDS, editing=None)


@router.post("/admin/units/new")
async def create_unit(request: Request, session: AdminSession) -> Response:
    form = await request.form()
    values, errors = _read(form, creating=True)
    if not errors:
        body = {"code": values["code"], "kind": values["kind"], **_details(values, empty=None)}
        try:
            unit = await Api(request, session).send("identity", "POST", "/api/v1/units", json=body)
        except ApiProblem as problem:
            place_problem(errors, problem, FIELD_NAMES)
        else:
            return RedirectResponse(f"/admin/units/{unit['code']}?done=created", status_code=303)
    return render(
        request,
        "admin/unit_form.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        kinds=KINDS,
        editing=None,
        **errors.context(),
    )


@router.get("/admin/units/{code}")
async def unit_detail(request: Request, session: AdminSession, code: str, done: str | None = None) -> Response:
    api = Api(request, session)
    unit = await api.get("identity", _path(code))
    accounts = await api.get("identity", "/api/v1/accounts", unit_code=unit["code"], limit=50)
    return render(request, "admin/unit.html", unit=unit, accounts=accounts["items"], notice=done)


@router.get("/admin/units/{code}/edit")
async def edit_unit(request: Request, session: AdminSession, code: str) -> Response:
    unit = await Api(request, session).get("identity", _path(code))
    return render(request, "admin/unit_form.html", form=_form_of(unit), kinds=KINDS, editing=unit)


@router.post("/admin/units/{code}/edit")
async def save_unit(request: Request, session: AdminSession, code: str) -> Response:
    api = Api(request, session)
    unit = await api.get("identity", _path(code))
    form = await request.form()
    values, errors = _read(form, creating=False)
    values["version"] = version_of(form) or unit["version"]
    if not errors:
        try:
            await api.send(
                "identity", "PATCH", _path(code), json=_details(values, empty=None), version=values["version"]
            )
        except ApiProblem as problem:
            place_problem(errors, problem, FIELD_NAMES)
        else:
            return RedirectResponse(f"/admin/units/{unit['code']}?done=saved", status_code=303)
    return render(
        request,
        "admin/unit_form.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        kinds=KINDS,
        editing=unit,
        **errors.context(),
    )


@router.get("/admin/units/{code}/deactivate")
async def confirm_deactivate(request: Request, session: AdminSession, code: str) -> Response:
    return await _confirm(request, session, code, "deactivate")


@router.get("/admin/units/{code}/reactivate")
async def confirm_reactivate(request: Request, session: AdminSession, code: str) -> Response:
    return await _confirm(request, session, code, "reactivate")


@router.post("/admin/units/{code}/deactivate")
async def deactivate(request: Request, session: AdminSession, code: str) -> Response:
    return await _change_status(request, session, code, "deactivate")


@router.post("/admin/units/{code}/reactivate")
async def reactivate(request: Request, session: AdminSession, code: str) -> Response:
    return await _change_status(request, session, code, "reactivate")


async def _confirm(request: Request, session: Session, code: str, action: str) -> Response:
    unit = await Api(request, session).get("identity", _path(code))
    return render(request, "admin/unit_status.html", unit=unit, action=action, form={"version": unit["version"]})


async def _change_status(request: Request, session: Session, code: str, action: str) -> Response:
    """Deactivate (its accounts are disabled; a reason is required) or reactivate, with the version seen."""
    api = Api(request, session)
    form = await request.form()
    values: dict[str, Any] = {"reason": text(form, "reason"), "version": version_of(form)}
    errors = FormErrors()
    check_reason(errors, values["reason"], required=action == "deactivate")
    if not errors:
        try:
            await api.send(
                "identity",
                "POST",
                f"{_path(code)}/{action}",
                json={"reason": values["reason"] or None},
                version=values["version"],
            )
        except ApiProblem as problem:
            place_problem(errors, problem, {"reason": "reason"})
        else:
            return RedirectResponse(f"/admin/units/{code.upper()}?done={action}d", status_code=303)
    unit = await api.get("identity", _path(code))
    return render(
        request,
        "admin/unit_status.html",
        status_code=FORM_ERRORS_STATUS,
        unit=unit,
        action=action,
        form=values,
        **errors.context(),
    )


def _read(form: FormData, *, creating: bool) -> tuple[dict[str, Any], FormErrors]:
    _ = i18n.gettext
    values: dict[str, Any] = {name: text(form, name) for name in ("code", "kind", *DETAILS)}
    errors = FormErrors()
    if creating:
        if not values["code"]:
            errors.add("code", _("Enter the unit's code, for example SGD-HN."))
        elif not CODE.match(values["code"]):
            errors.add("code", _("Use only letters without accents, digits, dots, dashes and underscores."))
        if values["kind"] not in KINDS:
            errors.add("kind", _("Choose the kind of unit."))
    check_text(errors, "name", values["name"], required=_("Enter the unit's name."))
    for name in DETAILS[1:]:
        check_text(errors, name, values[name])
    return values, errors


def _details(values: dict[str, Any], *, empty: None) -> dict[str, Any]:
    """The unit's details as the API takes them; an empty field is sent as null (cleared)."""
    head = {key: values[f"head_{key}"] or empty for key in ("name", "position", "contact")}
    return {
        "name": values["name"],
        "name_en": values["name_en"] or empty,
        "province": values["province"] or empty,
        "head": head if any(head.values()) else empty,
    }


def _form_of(unit: dict[str, Any]) -> dict[str, Any]:
    head = unit.get("head") or {}
    return {
        "code": unit["code"],
        "kind": unit["kind"],
        "name": unit["name"],
        "name_en": unit["name_en"] or "",
        "province": unit["province"] or "",
        "head_name": head.get("name") or "",
        "head_position": head.get("position") or "",
        "head_contact": head.get("contact") or "",
        "version": unit["version"],
    }
