"""Printed records (PDF): blank handover record, account handover slip, usage report, destruction record.

Each route gathers the facts from the services with the official's own token (so the services decide
who may print what), asks the audit service for the seal of the fact the paper records, and returns the
PDF inline (it opens in the browser's viewer, ready to print). The layouts live in `phoi_portal.printing`.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.printing import records
from phoi_portal.printing.document import Record, Seal, render
from phoi_portal.web.deps import SignedIn
from phoi_portal.web.i18n import VIETNAM
from phoi_portal.web.pages._admin import AdminSession, no_store
from phoi_portal.web.pages._common import CENTRAL_STOCK, Api, page_router, uuid_of
from phoi_portal.web.pages.requests import labelled
from phoi_portal.web.state import portal

router = page_router()

PDF_CSP: Final = "default-src 'none'; object-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SEAL_POLL_SECONDS: Final = 0.25


@router.get("/requests/{request_id}/handover-record.pdf")
async def handover_record(request: Request, session: SignedIn, request_id: str) -> Response:
    api = Api(request, session)
    item = await labelled(api, await api.get("requests", f"/api/v1/requests/{uuid_of(request_id)}"))
    if not any(line.get("allocated_ranges") for line in item["lines"]):
        raise HTTPException(404)  # nothing handed over yet: the page offers no link before allocation
    seal, at = await _seal(api, subject=item["id"], types=("allocation.completed.v1",))
    record = records.handover_record(
        item, unit=await _unit(api, item["unit_code"]), form_types=await _form_types(api), dated=at, seal=seal
    )
    return await _pdf(record, f"bien-ban-ban-giao-phoi_{item['unit_code']}_{item['id']}.pdf")


@router.get("/admin/accounts/{account_id}/slip.pdf")
async def account_slip(request: Request, session: AdminSession, account_id: str) -> Response:
    api = Api(request, session)
    account = await api.get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    holders = (await api.get("identity", f"/api/v1/accounts/{account['id']}/holders", limit=100))["items"]
    seal, at = await _seal(api, subject=account["id"], types=("account.created.v1", "account.handed_over.v1"))
    held_from = _vietnam_date(holders[-1]["held_from"]) if holders else at
    unit = await _unit(api, account["unit_code"]) if account.get("unit_code") else None
    record = records.account_slip(account, unit=unit, held_from=held_from, handed_over=len(holders) > 1, seal=seal)
    return no_store(await _pdf(record, f"phieu-ban-giao-tai-khoan_{account['username']}.pdf"))


async def printed_usage_report(
    request: Request, session: Session, first: date, last: date, unit: str | None
) -> Response:
    """Printing the report is an export: inventory records it, and the paper carries that record's seal
    (GET /reports/usage.pdf, beside the CSV and XLSX downloads)."""
    api = Api(request, session)
    report = await api.get(
        "inventory",
        "/api/v1/reports/usage",
        unit_code=unit,
        record_as="pdf",
        **{"from": first.isoformat(), "to": last.isoformat()},
    )
    wait = portal(request).settings.record_seal_wait_seconds
    seal, _ = await _seal(api, subject=report["export_id"], types=("data.exported.v1",), wait=wait)
    record = records.usage_report(
        report,
        unit=await _unit(api, report["unit_code"]),
        form_types=await _form_types(api),
        dated=datetime.now(VIETNAM).date(),
        seal=seal,
    )
    return await _pdf(record, f"bao-cao-su-dung-phoi_{report['unit_code']}_{first.isoformat()}_{last.isoformat()}.pdf")


@router.get("/movements/{movement_id}/destruction-record.pdf")
async def destruction_record(request: Request, session: SignedIn, movement_id: str) -> Response:
    api = Api(request, session)
    movement = await api.get("inventory", f"/api/v1/movements/{uuid_of(movement_id)}")
    if movement["kind"] != "destroy":
        raise HTTPException(404)
    subject = movement["holder_unit"] or CENTRAL_STOCK  # movement events are keyed by the unit concerned
    seal, _ = await _seal(
        api, subject=subject, types=("stock.movement_recorded.v2",), field=("movement_id", movement["movement_id"])
    )
    form_types = await _form_types(api)
    holder = movement["holder_unit"]
    record = records.destruction_record(
        movement,
        unit=await _unit(api, holder) if holder else None,
        form_type=form_types.get(movement["form_type"]),
        seal=seal,
    )
    return await _pdf(record, f"bien-ban-huy-phoi_{movement['movement_id']}.pdf")


async def _seal(
    api: Api, *, subject: str, types: tuple[str, ...], field: tuple[str, str] | None = None, wait: float = 0.0
) -> tuple[Seal, date]:
    """The seal of the fact, and the day it happened (today while it is not in the log yet).

    `wait`: a fact the official has just caused (the export of this very report) reaches the log a
    moment later; the route waits that long for it, then prints the reference instead of the seal."""
    params: dict[str, Any] = {"subject": subject, "type": list(types)}
    if field is not None:
        params["data"] = f"{field[0]}:{field[1]}"
    base = portal(api.request).settings.public_url.rstrip("/")
    deadline = time.monotonic() + wait
    while True:
        try:
            found = await api.get("audit", "/api/v1/seal", **params)
        except ApiProblem as problem:
            if problem.code != "seal_not_found":
                raise
            if time.monotonic() < deadline:
                await asyncio.sleep(SEAL_POLL_SECONDS)
                continue
            search = f"{base}/audit/entries?{urlencode({'subject': subject})}"
            return Seal(url=search, reference=field[1] if field else subject), datetime.now(VIETNAM).date()
        url = f"{base}/audit/entries/{found['sequence']}"
        seal = Seal(url=url, reference=subject, sequence=found["sequence"], hash=found["hash"])
        return seal, _vietnam_date(found["occurred_at"])


async def _unit(api: Api, code: str) -> dict[str, Any] | None:
    """The unit's name for the paper; a reader who may not see the unit record gets its code printed."""
    try:
        unit: dict[str, Any] = await api.get("identity", f"/api/v1/units/{quote(code)}")
    except ApiProblem:
        return None
    return unit


async def _form_types(api: Api) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in (await api.get("inventory", "/api/v1/form-types", limit=200))["items"]}


def _vietnam_date(value: str) -> date:
    return datetime.fromisoformat(value).astimezone(VIETNAM).date()


async def _pdf(record: Record, filename: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        await run_in_threadpool(render, record),  # drawing a long record takes a while: not on the event loop
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{safe}"', "Content-Security-Policy": PDF_CSP},
    )
