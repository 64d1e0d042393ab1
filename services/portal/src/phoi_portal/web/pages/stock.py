"""The unit's blanks: what it holds, as inclusive serial ranges, and recording what happened to them."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.web import i18n
from phoi_portal.web.deps import SignedIn, UnitSession
from phoi_portal.web.i18n import N_
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
from phoi_portal.web.templating import render

router = page_router()

KINDS = ("use", "spoil", "lose", "destroy", "return")
# Every movement names its supporting record (inventory refuses one without); the message says which.
DOCUMENT_MESSAGES = {
    "use": N_("Enter the reference of the register book or the issuing decision."),
    "spoil": N_("Enter the reference of the record of the spoiled blanks."),
    "lose": N_("Enter the police report reference."),
    "destroy": N_("Enter the destruction record reference."),
    "return": N_("Enter the reference of the handover note."),
}
NOTE_LIMIT = 4000
SERIAL_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@router.get("/stock")
async def stock(request: Request, session: SignedIn, movement: str | None = None) -> Response:
    items = (await Api(request, session).get("inventory", "/api/v1/stock"))["items"]
    destruction = None
    if request.query_params.get("done") == "destroy" and movement:
        destruction = uuid_of(movement)  # offered right after recording it: print the destruction record
    return render(request, "stock/stock.html", items=items, destruction=destruction)


async def _held(api: Api) -> list[dict[str, Any]]:
    items = (await api.get("inventory", "/api/v1/stock"))["items"]
    return [i for i in items if i["count"] > 0]


@router.get("/movements/new")
async def movement_form(request: Request, session: UnitSession, kind: str | None = None) -> Response:
    held = await _held(Api(request, session))
    form = {"kind": kind if kind in KINDS else "", "form_type": held[0]["form_type"] if held else ""}
    return render(request, "stock/movement.html", held=held, form=form, kinds=KINDS)


@router.post("/movements/new")
async def record_movement(request: Request, session: UnitSession) -> Response:
    api = Api(request, session)
    form = await request.form()
    names = ("kind", "form_type", "first", "last", "register_entry_first", "document_ref", "note")
    values = {n: text(form, n) for n in names}
    errors = FormErrors()
    body = _movement_body(values, errors)
    if not errors:
        try:
            moved = await api.send("inventory", "POST", "/api/v1/movements", json=body)
        except ApiProblem as problem:
            errors.from_problem(
                problem,
                {
                    "document_ref": "document_ref",
                    "items": "first",
                    "items.0.first": "first",
                    "form_type": "form_type",
                    "note": "note",
                },
            )
        else:
            done = f"done={values['kind']}&count={moved['quantity']}&movement={moved['movement_id']}"
            return RedirectResponse(f"/stock?{done}", status_code=303)
    held = await _held(api)
    return render(
        request,
        "stock/movement.html",
        status_code=FORM_ERRORS_STATUS,
        held=held,
        form=values,
        kinds=KINDS,
        **errors.context(),
    )


def _serial(value: str) -> int | str | None:
    """A serial as a number (42) or as printed (PT0000042)."""
    cleaned = value.strip().upper()
    if cleaned.isdigit():
        return int(cleaned) if 0 < len(cleaned) <= 18 and int(cleaned) >= 1 else None
    if cleaned and len(cleaned) <= 40 and set(cleaned) <= SERIAL_CHARS:
        return cleaned
    return None


def _movement_body(values: dict[str, str], errors: FormErrors) -> dict[str, Any]:
    _ = i18n.gettext
    if values["kind"] not in KINDS:
        errors.add("kind", _("Choose what happened to the blanks."))
    if not values["form_type"]:
        errors.add("form_type", _("Choose the form type."))
    first = _serial(values["first"])
    last = _serial(values["last"]) if values["last"] else first
    if first is None:
        errors.add("first", _("Enter the first serial number, for example 42 or PT0000042."))
    if values["last"] and last is None:
        errors.add("last", _("Enter the last serial number, or leave it empty for a single blank."))
    entry = whole_number(values["register_entry_first"]) if values["register_entry_first"] else None
    if values["kind"] == "use" and (entry is None or entry <= 0):
        errors.add("register_entry_first", _("Enter the register entry number of the first blank."))
    if values["kind"] in DOCUMENT_MESSAGES and not values["document_ref"]:
        errors.add("document_ref", _(DOCUMENT_MESSAGES[values["kind"]]))
    if has_control_chars(values["document_ref"]) or len(values["document_ref"]) > 255:
        errors.add("document_ref", _("Remove the special characters from this field."))
    if has_control_chars(values["note"]) or len(values["note"]) > NOTE_LIMIT:
        errors.add("note", _("Keep the note under 4,000 characters, without special characters."))
    item: dict[str, Any] = {"first": first, "last": last}
    if values["kind"] == "use":
        item["register_entry_first"] = entry
    return {
        "kind": values["kind"],
        "form_type": values["form_type"],
        "items": [item],
        "document_ref": values["document_ref"] or None,
        "note": values["note"] or None,
    }
