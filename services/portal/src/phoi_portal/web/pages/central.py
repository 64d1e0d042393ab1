"""QLCL's central stock: form types (list, create, edit), print batches (list, record), the vault's stock
as ranges, and the allocations: requests waiting for stock with their shortfall, ranges allocated."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.web import i18n
from phoi_portal.web.pages._common import (
    CENTRAL_STOCK,
    FORM_ERRORS_STATUS,
    Api,
    FormErrors,
    has_control_chars,
    page_router,
    text,
    whole_number,
)
from phoi_portal.web.pages.receipts import parse_vn_date
from phoi_portal.web.pages.requests import labelled
from phoi_portal.web.pages.review import OfficerSession
from phoi_portal.web.templating import render

router = page_router()

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
PREFIX = re.compile(r"^[A-Z0-9]{1,10}$")
TEMPLATE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_DIGITS = 18  # inventory: a serial below 2**63
MAX_SERIAL = 2**63 - 2


# --- stock and allocations --------------------------------------------------------------------------------


@router.get("/central/stock")
async def central_stock(request: Request, session: OfficerSession) -> Response:
    items = (await Api(request, session).get("inventory", "/api/v1/stock", unit_code=CENTRAL_STOCK))["items"]
    return render(request, "officer/stock.html", items=items)


@router.get("/allocations")
async def allocations(request: Request, session: OfficerSession, cursor: str | None = None) -> Response:
    api = Api(request, session)
    waiting, allocated = await asyncio.gather(
        api.get("requests", "/api/v1/requests", status="waiting_for_stock", order="oldest", limit=50),
        api.get("inventory", "/api/v1/allocations", status="completed", cursor=cursor, limit=50),
    )
    # The list gives no shortfall: each waiting request's own lines do.
    details = await asyncio.gather(*(api.get("requests", f"/api/v1/requests/{r['id']}") for r in waiting["items"]))
    return render(
        request, "officer/allocations.html", waiting=[await labelled(api, d) for d in details], allocated=allocated
    )


# --- form types ------------------------------------------------------------------------------------------


@router.get("/central/form-types")
async def form_types(request: Request, session: OfficerSession) -> Response:
    page = await Api(request, session).get("inventory", "/api/v1/form-types", include_inactive=True, limit=200)
    return render(request, "officer/form_types.html", items=page["items"])


FORM_TYPE_FIELDS = ("code", "name_vi", "name_en", "serial_prefix", "digits", "template_version")


@router.get("/central/form-types/new")
async def new_form_type(request: Request, session: OfficerSession) -> Response:
    return render(request, "officer/form_type.html", form=dict.fromkeys(FORM_TYPE_FIELDS, ""), editing=None)


def _names(values: dict[str, str], errors: FormErrors) -> None:
    _ = i18n.gettext
    if not values["name_vi"]:
        errors.add("name_vi", _("Enter the Vietnamese name."))
    if not values["name_en"]:
        errors.add("name_en", _("Enter the English name."))
    if not TEMPLATE_VERSION.match(values["template_version"]):
        errors.add("template_version", _("Enter the template version, for example 2024.1."))
    for name in ("name_vi", "name_en"):
        if has_control_chars(values[name]) or len(values[name]) > 255:
            errors.add(name, _("Remove the special characters from this field."))


def _read_new_form_type(form: FormData) -> tuple[dict[str, str], dict[str, Any], FormErrors]:
    _ = i18n.gettext
    values = {name: text(form, name) for name in FORM_TYPE_FIELDS}
    values["code"], values["serial_prefix"] = values["code"].upper(), values["serial_prefix"].upper()
    errors = FormErrors()
    if not CODE.match(values["code"]):
        errors.add("code", _("Enter a code of capital letters, digits, - or _, for example THPT."))
    _names(values, errors)
    if not PREFIX.match(values["serial_prefix"]):
        errors.add("serial_prefix", _("Enter the prefix printed before the number: up to 10 letters or digits."))
    digits = whole_number(values["digits"])
    if digits is None or not 1 <= digits <= MAX_DIGITS:
        errors.add("digits", _("Enter the number of digits as a whole number from 1 to %(n)s.") % {"n": MAX_DIGITS})
    body = {**values, "digits": digits or 0}
    return values, body, errors


@router.post("/central/form-types/new")
async def create_form_type(request: Request, session: OfficerSession) -> Response:
    values, body, errors = _read_new_form_type(await request.form())
    if not errors:
        try:
            await Api(request, session).send("inventory", "POST", "/api/v1/form-types", json={**body, "active": True})
        except ApiProblem as problem:
            field = "code" if problem.code == "form_type_exists" else None
            if field:
                errors.add(field, i18n.problem_message(problem.code, problem.detail))
            else:
                errors.from_problem(problem)
        else:
            return RedirectResponse(f"/central/form-types?done=created&code={values['code']}", status_code=303)
    return render(
        request, "officer/form_type.html", status_code=FORM_ERRORS_STATUS, form=values, editing=None, **errors.context()
    )


def _edit_values(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name_vi": item["name_vi"],
        "name_en": item["name_en"],
        "template_version": item["template_version"],
        "active": "yes" if item["active"] else "no",
    }


@router.get("/central/form-types/{code}/edit")
async def edit_form_type(request: Request, session: OfficerSession, code: str) -> Response:
    item = await Api(request, session).get("inventory", f"/api/v1/form-types/{_code(code)}")
    return render(request, "officer/form_type.html", form=_edit_values(item), editing=item)


@router.post("/central/form-types/{code}/edit")
async def save_form_type(request: Request, session: OfficerSession, code: str) -> Response:
    api = Api(request, session)
    item = await api.get("inventory", f"/api/v1/form-types/{_code(code)}")
    form = await request.form()
    values: dict[str, Any] = {n: text(form, n) for n in ("name_vi", "name_en", "template_version", "active")}
    errors = FormErrors()
    _names(values, errors)
    if values["active"] not in ("yes", "no"):
        errors.add("active", i18n.gettext("Choose whether units may still request this form type."))
    version = whole_number(text(form, "version")) or item["version"]
    if not errors:
        body = {k: values[k] for k in ("name_vi", "name_en", "template_version")}
        body["active"] = values["active"] == "yes"
        try:
            await api.send("inventory", "PATCH", f"/api/v1/form-types/{item['code']}", json=body, version=version)
        except ApiProblem as problem:
            errors.from_problem(problem)
            if problem.status == 412:  # show what it is now; what the officer typed stays in the fields
                item = await api.get("inventory", f"/api/v1/form-types/{item['code']}")
        else:
            return RedirectResponse(f"/central/form-types?done=saved&code={item['code']}", status_code=303)
    return render(
        request, "officer/form_type.html", status_code=FORM_ERRORS_STATUS, form=values, editing=item, **errors.context()
    )


def _code(value: str) -> str:
    if not CODE.match(value):
        from starlette.exceptions import HTTPException

        raise HTTPException(404)
    return value


# --- print batches ---------------------------------------------------------------------------------------

BATCH_FIELDS = ("form_type", "first_serial", "last_serial", "printer", "contract_ref", "received_on", "note")


async def _form_type_options(api: Api) -> list[tuple[str, str]]:
    """(code, "code — name") of the form types in use, named in the page's language."""
    items = (await api.get("inventory", "/api/v1/form-types", limit=200))["items"]
    english = i18n.locale_var.get() == "en"
    return [(f["code"], f"{f['code']} — {f['name_en'] if english else f['name_vi']}") for f in items]


@router.get("/central/print-batches")
async def print_batches(request: Request, session: OfficerSession, cursor: str | None = None) -> Response:
    page = await Api(request, session).get("inventory", "/api/v1/print-batches", cursor=cursor, limit=50)
    return render(request, "officer/print_batches.html", page=page)


@router.get("/central/print-batches/new")
async def new_print_batch(request: Request, session: OfficerSession) -> Response:
    options = await _form_type_options(Api(request, session))
    return render(request, "officer/print_batch.html", form=dict.fromkeys(BATCH_FIELDS, ""), form_type_options=options)


def _read_batch(form: FormData) -> tuple[dict[str, str], dict[str, Any], FormErrors]:
    _ = i18n.gettext
    values = {name: text(form, name) for name in BATCH_FIELDS}
    errors = FormErrors()
    if not values["form_type"]:
        errors.add("form_type", _("Choose the form type."))
    first, last = whole_number(values["first_serial"]), whole_number(values["last_serial"])
    if first is None or not 1 <= first <= MAX_SERIAL:
        errors.add("first_serial", _("Enter the first serial number of the batch as a whole number, for example 1."))
    if last is None or not 1 <= last <= MAX_SERIAL:
        errors.add("last_serial", _("Enter the last serial number of the batch as a whole number."))
    elif first is not None and last < first:
        errors.add("last_serial", _("The last serial number must not be smaller than the first."))
    for name, message in (
        ("printer", _("Enter the printer's name.")),
        ("contract_ref", _("Enter the contract reference.")),
    ):
        if not values[name]:
            errors.add(name, message)
    received = parse_vn_date(values["received_on"]) if values["received_on"] else None
    if received is None:
        errors.add("received_on", _("Enter the date received as dd/mm/yyyy."))
    for name in ("printer", "contract_ref", "note"):
        if has_control_chars(values[name]) or len(values[name]) > (4000 if name == "note" else 255):
            errors.add(name, _("Remove the special characters from this field."))
    body = {
        "form_type": values["form_type"],
        "first_serial": first,
        "last_serial": last,
        "printer": values["printer"],
        "contract_ref": values["contract_ref"],
        "received_on": received.isoformat() if received else None,
        "note": values["note"] or None,
    }
    return values, body, errors


@router.post("/central/print-batches/new")
async def record_print_batch(request: Request, session: OfficerSession) -> Response:
    api = Api(request, session)
    values, body, errors = _read_batch(await request.form())
    if not errors:
        try:
            batch = await api.send("inventory", "POST", "/api/v1/print-batches", json=body)
        except ApiProblem as problem:
            place = {"print_batch_overlap": "first_serial", "form_type_not_found": "form_type"}.get(problem.code)
            if place:
                errors.add(place, i18n.problem_message(problem.code, problem.detail))
            else:
                errors.from_problem(problem, {n: n for n in BATCH_FIELDS})
        else:
            return RedirectResponse(f"/central/print-batches?done=recorded&count={batch['quantity']}", status_code=303)
    return render(
        request,
        "officer/print_batch.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        form_type_options=await _form_type_options(api),
        **errors.context(),
    )
