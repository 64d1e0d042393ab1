"""The usage report for a period (on screen, CSV, XLSX) and the history of one serial."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.deps import SignedIn
from phoi_portal.web.i18n import VIETNAM
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, Api, FormErrors, page_router
from phoi_portal.web.pages.receipts import parse_vn_date
from phoi_portal.web.pages.records import printed_usage_report
from phoi_portal.web.pages.stock import _serial
from phoi_portal.web.state import portal
from phoi_portal.web.templating import render

router = page_router()

UNIT_CODE = re.compile(r"^[A-Z0-9_-]{1,64}$")
COLUMNS = ("opening", "received", "used", "spoiled", "lost", "destroyed", "returned", "closing")


def _period(start: str | None, end: str | None, errors: FormErrors) -> tuple[date, date]:
    today = datetime.now(VIETNAM).date()
    first = parse_vn_date(start) if start else today.replace(month=1, day=1)
    last = parse_vn_date(end) if end else today
    if first is None:
        errors.add("start", i18n.gettext("Enter the first day as dd/mm/yyyy."))
    if last is None:
        errors.add("end", i18n.gettext("Enter the last day as dd/mm/yyyy."))
    if first and last and first > last:
        errors.add("end", i18n.gettext("The last day must not be before the first day."))
    return first or today, last or today


def _unit_of(session: Session, unit: str | None, errors: FormErrors) -> str | None:
    """QLCL and inspectors choose the unit (QLCL: the central stock); a unit always gets its own."""
    if session.is_unit or not unit:
        return None
    code = unit.strip().upper()
    if not UNIT_CODE.match(code):
        errors.add("unit", i18n.gettext("Enter a unit code of letters and digits, for example QLCL."))
        return None
    return code


@router.get("/reports/usage")
async def usage(
    request: Request, session: SignedIn, start: str | None = None, end: str | None = None, unit: str | None = None
) -> Response:
    errors = FormErrors()
    first, last = _period(start, end, errors)
    chosen = _unit_of(session, unit, errors)
    values = {"start": start or first.strftime("%d/%m/%Y"), "end": end or last.strftime("%d/%m/%Y"), "unit": unit or ""}
    report: Any = None
    if not errors and (session.is_unit or chosen):  # QLCL and inspectors name the unit first
        try:
            report = await Api(request, session).get(
                "inventory",
                "/api/v1/reports/usage",
                unit_code=chosen,
                **{"from": first.isoformat(), "to": last.isoformat()},
            )
        except ApiProblem as problem:
            errors.from_problem(problem, {"from": "start", "to": "end", "unit_code": "unit"})
    status = FORM_ERRORS_STATUS
    return render(
        request,
        "reports/usage.html",
        status_code=status,
        report=report,
        form=values,
        columns=COLUMNS,
        period=(first.isoformat(), last.isoformat()),
        **errors.context(),
    )


@router.get("/reports/usage.{fmt}")
async def usage_download(
    request: Request, session: SignedIn, fmt: str, start: str, end: str, unit: str | None = None
) -> Response:
    """The report as a file: CSV and XLSX from inventory, or the printed report (PDF) drawn here."""
    errors = FormErrors()
    chosen = _unit_of(session, unit, errors)
    first, last = parse_vn_date(start), parse_vn_date(end)
    if fmt not in ("csv", "xlsx", "pdf") or errors or first is None or last is None:
        return render(request, "error.html", status_code=404, kind="not_found")
    if fmt == "pdf":
        return await printed_usage_report(request, session, first, last, chosen)
    params = {"from": first.isoformat(), "to": last.isoformat(), "format": fmt}
    upstream = await portal(request).services.call(
        "inventory",
        "GET",
        "/api/v1/reports/usage",
        token=session.tokens.access_token,
        params=params | ({"unit_code": chosen} if chosen else {}),
    )
    scope = f"{chosen}_" if chosen else ""
    filename = f"bao-cao-su-dung-phoi_{scope}{first.isoformat()}_{last.isoformat()}.{fmt}"
    return Response(
        upstream.content,
        media_type=upstream.headers.get("content-type"),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/serials")
async def serial_lookup(
    request: Request, session: SignedIn, form_type: str | None = None, serial: str | None = None
) -> Response:
    api = Api(request, session)
    form_types = (await api.get("requests", "/api/v1/form-types", limit=200))["items"]
    errors = FormErrors()
    found: Any = None
    values = {"form_type": form_type or "", "serial": serial or ""}
    if serial is not None:
        number = _serial(serial)
        if not form_type:
            errors.add("form_type", i18n.gettext("Choose the form type."))
        if number is None:
            errors.add("serial", i18n.gettext("Enter the first serial number, for example 42 or PT0000042."))
        if not errors:
            try:
                found = await api.get("inventory", f"/api/v1/serials/{form_type}/{number}")
            except ApiProblem as problem:
                if problem.status == 404:
                    errors.add("serial", i18n.gettext("No blank with this serial number is in your records."))
                else:
                    errors.from_problem(problem, {"serial": "serial"})
    return render(
        request,
        "reports/serial.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        form_types=form_types,
        found=found,
        **errors.context(),
    )
