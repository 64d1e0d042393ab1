"""The auditors' pages over the audit service: the log (filters, cursor pages), one entry with its hashes,
the CSV export passed through as it streams, and the verification of the hash chain.

Auditors and QLCL administrators read the whole log (the audit service decides; a page only checks the
role so that others get the plain "You cannot use this page"). The export is recorded by the audit
service itself (``data.exported.v1``) when its stream ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import httpx
from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from phoi_contracts.catalogue import EVENT_TYPES
from phoi_kit.auth import Role

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.deps import role
from phoi_portal.web.i18n import VIETNAM
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, Api, FormErrors, has_control_chars, page_router
from phoi_portal.web.pages.receipts import parse_vn_date
from phoi_portal.web.state import portal
from phoi_portal.web.templating import render

router = page_router()

AuditorSession = Annotated[Session, role(Role.AUDITOR, Role.QLCL_ADMIN)]

PAGE_SIZE: Final = 50
MAX_SEQUENCE: Final = 2**63 - 1
FILTER_NAMES: Final = ("actor", "unit", "subject", "type", "start", "end")
# Verifying reads the whole chain in one request (issue 15 moves it to a background job); give it time.
VERIFY_TIMEOUT_SECONDS: Final = 300.0
CHECKPOINT_TYPE: Final = "audit.checkpoint.v1"


def event_type_options() -> list[str]:
    """Every group (``request.*``) then every type the catalogue knows, for the type filter."""
    groups = sorted({t.split(".", 1)[0] + ".*" for t in EVENT_TYPES})
    return groups + sorted(EVENT_TYPES)


@dataclass(frozen=True)
class Filters:
    """The log's filters as the auditor typed them (kept on the page) and as the audit API takes them."""

    values: dict[str, str]
    params: dict[str, Any]

    def query(self) -> str:
        """The filters as a query string, for the next page and the export link."""
        return urlencode({k: v for k, v in self.values.items() if v})


def read_filters(raw: dict[str, str | None], errors: FormErrors) -> Filters:
    """Check the filters; every mistake is put beside its field."""
    values = {name: (raw.get(name) or "").strip() for name in FILTER_NAMES}
    limits = {"actor": 200, "unit": 64, "subject": 200}
    for name, limit in limits.items():
        if has_control_chars(values[name]):
            errors.add(name, i18n.gettext("Remove the special characters from this field."))
        elif len(values[name]) > limit:
            errors.add(name, i18n.gettext("Enter at most %(n)s characters.") % {"n": limit})
    if values["type"] and values["type"] not in event_type_options():
        errors.add("type", i18n.gettext("Choose an event type from the list."))
    first = _day(values["start"], "start", i18n.gettext("Enter the first day as dd/mm/yyyy."), errors)
    last = _day(values["end"], "end", i18n.gettext("Enter the last day as dd/mm/yyyy."), errors)
    if first and last and first > last:
        errors.add("end", i18n.gettext("The last day must not be before the first day."))
    params: dict[str, Any] = {
        "actor": values["actor"],
        "unit": values["unit"],
        "subject": values["subject"],
        "type": values["type"],
        # Days are Vietnam's days: from the first day's midnight to the midnight after the last day.
        "from": _midnight(first).isoformat() if first else None,
        "to": _midnight(last + timedelta(days=1)).isoformat() if last else None,
    }
    return Filters(values, params)


def _day(value: str, name: str, message: str, errors: FormErrors) -> date | None:
    if not value:
        return None
    parsed = parse_vn_date(value)
    if parsed is None:
        errors.add(name, message)
    return parsed


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM)


def _raw_filters(request: Request) -> dict[str, str | None]:
    return {name: request.query_params.get(name) for name in FILTER_NAMES}


@router.get("/audit/entries")
async def audit_log(request: Request, session: AuditorSession, cursor: str | None = None) -> Response:
    errors = FormErrors()
    filters = read_filters(_raw_filters(request), errors)
    page: Any = None
    if not errors:
        try:
            page = await Api(request, session).get(
                "audit", "/api/v1/entries", **filters.params, cursor=cursor, limit=PAGE_SIZE
            )
        except ApiProblem as problem:
            errors.from_problem(problem, {"from": "start", "to": "end"})
    return render(
        request,
        "audit/log.html",
        status_code=FORM_ERRORS_STATUS,
        form=filters.values,
        query=filters.query(),
        page=page,
        cursor=cursor,
        type_options=event_type_options(),
        labels=EVENT_LABELS,
        **errors.context(),
    )


@router.get("/audit/entries/{sequence}")
async def audit_entry(
    request: Request, session: AuditorSession, sequence: Annotated[int, Path(ge=1, le=MAX_SEQUENCE)]
) -> Response:
    entry = await Api(request, session).get("audit", f"/api/v1/entries/{sequence}")
    return render(
        request,
        "audit/entry.html",
        entry=entry,
        labels=EVENT_LABELS,
        readable_key=readable_key,
        payload_json=json.dumps(entry["payload"], ensure_ascii=False, indent=2, sort_keys=True),
    )


@router.get("/audit/export")
async def audit_export(request: Request, session: AuditorSession) -> Response:
    """The audit service's CSV, passed to the browser chunk by chunk as it arrives (never held whole)."""
    errors = FormErrors()
    filters = read_filters(_raw_filters(request), errors)
    if errors:  # the log page shows the same filters with their messages
        return RedirectResponse(f"/audit/entries?{filters.query()}", status_code=303)
    upstream = await portal(request).services.stream(
        "audit", "/api/v1/entries/export", token=session.tokens.access_token, params=filters.params
    )
    stamp = datetime.now(VIETNAM).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        _passed_through(upstream),
        media_type=upstream.headers.get("content-type", "text/csv; charset=utf-8"),
        headers={"Content-Disposition": f'attachment; filename="nhat-ky-kiem-toan_{stamp}.csv"'},
    )


async def _passed_through(upstream: httpx.Response) -> AsyncIterator[bytes]:
    # Closed however the download ends (finished, or the browser went away): the audit service then
    # records the export with the rows actually sent.
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()


@router.get("/audit/verify")
async def verify_page(request: Request, session: AuditorSession) -> Response:
    return render(request, "audit/verify.html", result=None, checkpoint=await _last_checkpoint(Api(request, session)))


@router.post("/audit/verify")
async def run_verification(request: Request, session: AuditorSession) -> Response:
    """Runs the verification in this request (the audit service does it synchronously) and shows it."""
    api = Api(request, session)
    errors = FormErrors()
    result: Any = None
    try:
        response = await portal(request).services.call(
            "audit", "GET", "/api/v1/verify", token=session.tokens.access_token, timeout=VERIFY_TIMEOUT_SECONDS
        )
        result = response.json()
    except ApiProblem as problem:
        if problem.code == "range_beyond_head":
            errors.general.append(i18n.gettext("The audit log has no entries yet: there is nothing to verify."))
        else:
            errors.from_problem(problem)
    return render(
        request,
        "audit/verify.html",
        status_code=FORM_ERRORS_STATUS,
        result=result,
        checkpoint=await _last_checkpoint(api),
        **errors.context(),
    )


async def _last_checkpoint(api: Api) -> dict[str, Any] | None:
    """The newest checkpoint the audit service recorded (its own periodic verification), if any."""
    page = await api.get("audit", "/api/v1/entries", type=CHECKPOINT_TYPE, limit=1)
    items = page["items"]
    return items[0] if items else None


def readable_key(key: str) -> str:
    """A payload field's name in the reader's language when it is a common one, else as words
    (``keycloak_event_id`` → ``keycloak event id``); the exact name stays in the JSON below."""
    if key in PAYLOAD_LABELS:
        return i18n.gettext(PAYLOAD_LABELS[key])
    return re.sub(r"_+", " ", key).strip()


PAYLOAD_LABELS: Final[dict[str, str]] = {
    "academic_year": i18n.N_("School year"),
    "accepted_quantity": i18n.N_("Accepted"),
    "account_id": i18n.N_("Account id"),
    "allocated_quantity": i18n.N_("Allocated"),
    "allocation_id": i18n.N_("Allocation id"),
    "approved_quantity": i18n.N_("Approved"),
    "batch_id": i18n.N_("Print batch id"),
    "client_id": i18n.N_("Client"),
    "code": i18n.N_("Code"),
    "contract_ref": i18n.N_("Contract"),
    "count": i18n.N_("Counted"),
    "description": i18n.N_("Description"),
    "discrepancy_note": i18n.N_("Note on the difference"),
    "document_ref": i18n.N_("Document"),
    "errors": i18n.N_("By error"),
    "exam_session": i18n.N_("Exam session"),
    "filters": i18n.N_("Filters"),
    "first": i18n.N_("First serial"),
    "first_failed_at": i18n.N_("First counted failure"),
    "form_type_code": i18n.N_("Form type"),
    "format": i18n.N_("Format"),
    "individually_published": i18n.N_("Recorded one by one before"),
    "individually_recorded": i18n.N_("Recorded one by one before"),
    "ip_address": i18n.N_("IP address"),
    "justification": i18n.N_("Justification"),
    "kind": i18n.N_("Kind"),
    "last": i18n.N_("Last serial"),
    "last_failed_at": i18n.N_("Last failure"),
    "last_method": i18n.N_("Method"),
    "last_path": i18n.N_("Path"),
    "last_refused_at": i18n.N_("Last refusal"),
    "line_id": i18n.N_("Line id"),
    "lines": i18n.N_("Lines"),
    "method": i18n.N_("Method"),
    "name": i18n.N_("Name"),
    "note": i18n.N_("Note"),
    "path": i18n.N_("Path"),
    "printer": i18n.N_("Printer"),
    "province": i18n.N_("Province"),
    "quantity": i18n.N_("Quantity"),
    "ranges": i18n.N_("Serial numbers"),
    "reason": i18n.N_("Reason"),
    "reasons": i18n.N_("By reason"),
    "received_on": i18n.N_("Received on"),
    "request_id": i18n.N_("Request id"),
    "requested_quantity": i18n.N_("Requested"),
    "role": i18n.N_("Role"),
    "row_count": i18n.N_("Rows"),
    "unit_code": i18n.N_("Unit"),
    "user_id": i18n.N_("User id"),
    "username": i18n.N_("Username"),
    "window_end": i18n.N_("Counted until"),
    "window_start": i18n.N_("Counted from"),
}


EVENT_LABELS: Final[dict[str, str]] = {
    "account.created.v1": i18n.N_("Account issued"),
    "account.disabled.v1": i18n.N_("Account disabled"),
    "account.handed_over.v1": i18n.N_("Account handed over"),
    "account.locked.v1": i18n.N_("Account locked"),
    "account.password_reset.v1": i18n.N_("Password reset"),
    "account.unlocked.v1": i18n.N_("Account unlocked"),
    "allocation.completed.v1": i18n.N_("Serial numbers allocated"),
    "allocation.released.v1": i18n.N_("Allocation released"),
    "allocation.waiting_for_stock.v1": i18n.N_("Allocation waiting for stock"),
    "audit.checkpoint.v1": i18n.N_("Audit checkpoint"),
    "auth.login_failed.v1": i18n.N_("Sign-in failed"),
    "auth.login_failed_summary.v1": i18n.N_("Failed sign-ins counted"),
    "auth.login_succeeded.v1": i18n.N_("Signed in"),
    "auth.logout.v1": i18n.N_("Signed out"),
    "auth.password_updated.v1": i18n.N_("Password changed"),
    "data.exported.v1": i18n.N_("Data exported"),
    "form_type.created.v1": i18n.N_("Form type created"),
    "form_type.updated.v1": i18n.N_("Form type changed"),
    "incident.reported.v1": i18n.N_("Incident reported"),
    "incident.resolved.v1": i18n.N_("Incident resolved"),
    "print_batch.received.v1": i18n.N_("Print batch received"),
    "request.approved.v1": i18n.N_("Request approved"),
    "request.cancelled.v1": i18n.N_("Request cancelled"),
    "request.closed.v1": i18n.N_("Request closed"),
    "request.created.v1": i18n.N_("Request created"),
    "request.receipt_confirmed.v1": i18n.N_("Receipt confirmed"),
    "request.rejected.v1": i18n.N_("Request rejected"),
    "request.returned.v1": i18n.N_("Request returned for revision"),
    "request.submitted.v1": i18n.N_("Request submitted"),
    "request.updated.v1": i18n.N_("Request changed"),
    "security.access_denied.v1": i18n.N_("Access refused"),
    "security.access_denied_summary.v1": i18n.N_("Access refusals counted"),
    "stock.movement_recorded.v1": i18n.N_("Blank movement recorded"),
    "stock.movement_recorded.v2": i18n.N_("Blank movement recorded"),
    "stock.received_by_unit.v1": i18n.N_("Blanks received by the unit"),
    "unit.created.v1": i18n.N_("Unit created"),
    "unit.deactivated.v1": i18n.N_("Unit deactivated"),
    "unit.reactivated.v1": i18n.N_("Unit reactivated"),
    "unit.updated.v1": i18n.N_("Unit changed"),
}
