"""Proof of delivery: the unit confirms what arrived, line by line, noting any discrepancy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from phoi_kit.params import MAX_YEAR, MIN_YEAR

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.web import i18n
from phoi_portal.web.deps import UnitSession
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
from phoi_portal.web.pages.requests import labelled
from phoi_portal.web.templating import render

router = page_router()


def _today() -> str:
    return datetime.now(VIETNAM).date().strftime("%d/%m/%Y")


def parse_vn_date(value: str) -> date | None:
    """dd/mm/yyyy as officials write it (yyyy-mm-dd accepted too)."""
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
        return parsed if MIN_YEAR <= parsed.year <= MAX_YEAR else None  # the years the services take
    return None


@router.get("/requests/{request_id}/receipt")
async def receipt_form(request: Request, session: UnitSession, request_id: str) -> Response:
    api = Api(request, session)
    item = await labelled(api, await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}"))
    form = {
        "received_on": _today(),
        "lines": {ln["line_id"]: {"accepted": str(ln["allocated_quantity"]), "note": ""} for ln in item["lines"]},
    }
    return render(request, "requests/receipt.html", item=item, form=form)


@router.post("/requests/{request_id}/receipt")
async def confirm_receipt(request: Request, session: UnitSession, request_id: str) -> Response:
    _ = i18n.gettext
    api = Api(request, session)
    item = await labelled(api, await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}"))
    form = await request.form()
    errors = FormErrors()
    received = parse_vn_date(text(form, "received_on"))
    if received is None or received > datetime.now(VIETNAM).date():
        errors.add("received_on", _("Enter the date the blanks arrived as dd/mm/yyyy, not in the future."))
    values: dict[str, Any] = {"received_on": text(form, "received_on"), "lines": {}}
    lines = []
    for line in item["lines"]:
        lid = line["line_id"]
        accepted_text, note = text(form, f"accepted-{lid}"), text(form, f"note-{lid}")
        values["lines"][lid] = {"accepted": accepted_text, "note": note}
        accepted = whole_number(accepted_text)
        if accepted is None or accepted > line["allocated_quantity"]:
            errors.add(f"accepted-{lid}", _("Enter a whole number from 0 to the number allocated."))
        elif accepted < line["allocated_quantity"] and not note:
            errors.add(f"note-{lid}", _("Say what was missing or damaged."))
        if has_control_chars(note) or len(note) > 4000:
            errors.add(f"note-{lid}", _("Remove the special characters from this field."))
        lines.append({"line_id": lid, "accepted_quantity": accepted or 0, "discrepancy_note": note or None})
    if not errors:
        body = {"received_on": received.isoformat() if received else None, "lines": lines}
        try:
            await api.send(
                "requests",
                "POST",
                f"/api/v1/requests/{item['id']}/confirm-receipt",
                json=body,
                version=whole_number(text(form, "version")),
            )
        except ApiProblem as problem:
            errors.from_problem(problem)
        else:
            return RedirectResponse(f"/requests/{item['id']}?done=received", status_code=303)
    return render(
        request, "requests/receipt.html", status_code=FORM_ERRORS_STATUS, item=item, form=values, **errors.context()
    )
