"""QLCL administrator: accounts (Article 8) — list, issue, hand over, lock, unlock, disable, holders.

A temporary password exists only in the identity service's answer and in the page rendered from it
(Article 8.2): the portal stores it nowhere (no session, no URL, no log), the page is sent with
`Cache-Control: no-store`, and the handover slip printed from that page is the only paper that carries
it. A reprint of the slip from the account page leaves it out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.pages._admin import (
    AdminSession,
    check_reason,
    check_text,
    no_store,
    place_problem,
    version_of,
)
from phoi_portal.web.pages._common import FORM_ERRORS_STATUS, Api, FormErrors, page_router, text, uuid_of
from phoi_portal.web.templating import render

router = page_router()

KINDS = ("unit", "individual")
ROLES = ("qlcl_officer", "qlcl_admin", "auditor", "unit_account")
INDIVIDUAL_ROLES = ("qlcl_officer", "qlcl_admin", "auditor")
STATUSES = ("pending_first_login", "active", "locked", "disabled")
HOLDER = ("holder_name", "holder_position", "holder_email", "holder_phone")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9+()\-. ]{6,32}$")
UNIT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
FIELD_NAMES = {f"holder.{k}": f"holder_{k}" for k in ("name", "position", "email", "phone")}
FIELD_NAMES |= {"unit_code": "unit_code", "username": "username", "role": "role", "kind": "kind", "reason": "reason"}


@router.get("/admin/accounts")
async def list_accounts(
    request: Request,
    session: AdminSession,
    unit_code: str | None = None,
    role: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
) -> Response:
    filters = {
        "unit_code": unit_code.strip().upper() if unit_code and UNIT_CODE.match(unit_code.strip()) else None,
        "role": role if role in ROLES else None,
        "status": status if status in STATUSES else None,
    }
    page = await Api(request, session).get("identity", "/api/v1/accounts", cursor=cursor, limit=50, **filters)
    return render(
        request,
        "admin/accounts.html",
        page=page,
        filters=filters,
        roles=ROLES,
        statuses=STATUSES,
        query=_query(filters),
    )


def _query(filters: dict[str, str | None]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in filters.items() if v})


@router.get("/admin/accounts/new")
async def new_account(
    request: Request, session: AdminSession, kind: str | None = None, unit_code: str | None = None
) -> Response:
    form = {"kind": kind if kind in KINDS else "unit", "unit_code": unit_code or "", "role": ""}
    return render(request, "admin/account_form.html", form=form, kinds=KINDS, roles=INDIVIDUAL_ROLES)


@router.post("/admin/accounts/new")
async def issue_account(request: Request, session: AdminSession) -> Response:
    form = await request.form()
    values, body, errors = _read_new(form)
    if not errors:
        try:
            issued = await Api(request, session).send("identity", "POST", "/api/v1/accounts", json=body)
        except ApiProblem as problem:
            place_problem(errors, problem, FIELD_NAMES)
        else:
            return await issued_page(request, session, issued, "created")
    return render(
        request,
        "admin/account_form.html",
        status_code=FORM_ERRORS_STATUS,
        form=values,
        kinds=KINDS,
        roles=INDIVIDUAL_ROLES,
        **errors.context(),
    )


async def issued_page(request: Request, session: Session, account: dict[str, Any], event: str) -> Response:
    """The one page that shows the temporary password, with the handover slip that carries it."""
    unit = await _unit_of(Api(request, session), account)
    password = account.get("temporary_password")
    today = i18n.format_date(datetime.now(UTC))
    response = render(
        request, "admin/issued.html", account=account, unit=unit, password=password, event=event, now_date=today
    )
    return no_store(response)


async def _unit_of(api: Api, account: dict[str, Any]) -> dict[str, Any] | None:
    if not account.get("unit_code"):
        return None
    try:
        unit: dict[str, Any] = await api.get("identity", f"/api/v1/units/{account['unit_code']}")
    except ApiProblem:
        return None
    return unit


@router.get("/admin/accounts/{account_id}")
async def account_detail(request: Request, session: AdminSession, account_id: str, done: str | None = None) -> Response:
    api = Api(request, session)
    account = await api.get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    holders = (await api.get("identity", f"/api/v1/accounts/{account['id']}/holders", limit=100))["items"]
    events = (await api.get("identity", "/api/v1/sign-in-activity/events", account=account["id"], limit=10))["items"]
    return render(request, "admin/account.html", account=account, holders=holders, events=events, notice=done)


@router.get("/admin/accounts/{account_id}/slip")
async def reprint_slip(request: Request, session: AdminSession, account_id: str) -> Response:
    """A reprint for the records: never the temporary password (it was given once, on the first slip)."""
    api = Api(request, session)
    account = await api.get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    unit = await _unit_of(api, account)
    holders = (await api.get("identity", f"/api/v1/accounts/{account['id']}/holders", limit=100))["items"]
    # The date the current holder received the account, as on the first slip.
    since = i18n.format_date(holders[-1]["held_from"]) if holders else ""
    return render(request, "admin/slip.html", account=account, unit=unit, password=None, now_date=since)


@router.get("/admin/accounts/{account_id}/handover")
async def handover_form(request: Request, session: AdminSession, account_id: str) -> Response:
    account = await Api(request, session).get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    return render(request, "admin/handover.html", account=account, form={"version": account["version"]})


@router.post("/admin/accounts/{account_id}/handover")
async def hand_over(request: Request, session: AdminSession, account_id: str) -> Response:
    """Article 8.4: a new holder, a new temporary password, every session of the old holder ended."""
    api = Api(request, session)
    form = await request.form()
    values: dict[str, Any] = {n: text(form, n) for n in (*HOLDER, "reason")}
    values["version"] = version_of(form)
    errors = FormErrors()
    holder = _holder(values, errors)
    check_reason(errors, values["reason"], required=False)
    if not errors:
        body = {"holder": holder, "reason": values["reason"] or None}
        path = f"/api/v1/accounts/{uuid_of(account_id)}/handover"
        try:
            handed = await api.send("identity", "POST", path, json=body, version=values["version"])
        except ApiProblem as problem:
            place_problem(errors, problem, FIELD_NAMES)
        else:
            return await issued_page(request, session, handed, "handed_over")
    account = await api.get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    return render(
        request,
        "admin/handover.html",
        status_code=FORM_ERRORS_STATUS,
        account=account,
        form=values,
        **errors.context(),
    )


@router.get("/admin/accounts/{account_id}/lock")
async def confirm_lock(request: Request, session: AdminSession, account_id: str) -> Response:
    return await _confirm(request, session, account_id, "lock")


@router.get("/admin/accounts/{account_id}/unlock")
async def confirm_unlock(request: Request, session: AdminSession, account_id: str) -> Response:
    return await _confirm(request, session, account_id, "unlock")


@router.get("/admin/accounts/{account_id}/disable")
async def confirm_disable(request: Request, session: AdminSession, account_id: str) -> Response:
    return await _confirm(request, session, account_id, "disable")


@router.post("/admin/accounts/{account_id}/lock")
async def lock(request: Request, session: AdminSession, account_id: str) -> Response:
    return await _change(request, session, account_id, "lock")


@router.post("/admin/accounts/{account_id}/unlock")
async def unlock(request: Request, session: AdminSession, account_id: str) -> Response:
    return await _change(request, session, account_id, "unlock")


@router.post("/admin/accounts/{account_id}/disable")
async def disable(request: Request, session: AdminSession, account_id: str) -> Response:
    return await _change(request, session, account_id, "disable")


async def _confirm(request: Request, session: Session, account_id: str, action: str) -> Response:
    account = await Api(request, session).get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    form = {"version": account["version"], "back": ""}
    return render(request, "admin/account_action.html", account=account, action=action, form=form)


async def _change(request: Request, session: Session, account_id: str, action: str) -> Response:
    """Lock, unlock (optionally with a new temporary password) or disable, with the version seen."""
    api = Api(request, session)
    form = await request.form()
    values: dict[str, Any] = {"reason": text(form, "reason"), "version": version_of(form)}
    values["reset_password"] = action == "unlock" and text(form, "reset_password") == "yes"
    errors = FormErrors()
    check_reason(errors, values["reason"], required=action != "unlock")
    path = f"/api/v1/accounts/{uuid_of(account_id)}/{action}"
    if not errors:
        body: dict[str, Any] = {"reason": values["reason"] or None}
        if action == "unlock":
            body["reset_password"] = values["reset_password"]
        try:
            changed = await api.send("identity", "POST", path, json=body, version=values["version"])
        except ApiProblem as problem:
            place_problem(errors, problem, FIELD_NAMES)
        else:
            if changed and changed.get("temporary_password"):
                return await issued_page(request, session, changed, "unlocked")
            return RedirectResponse(f"/admin/accounts/{changed['id']}?done={action}", status_code=303)
    account = await api.get("identity", f"/api/v1/accounts/{uuid_of(account_id)}")
    return render(
        request,
        "admin/account_action.html",
        status_code=FORM_ERRORS_STATUS,
        account=account,
        action=action,
        form=values,
        **errors.context(),
    )


def _holder(values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The holder's details, checked as identity checks them (family name first: Nguyễn Văn An)."""
    _ = i18n.gettext
    check_text(errors, "holder_name", values["holder_name"], required=_("Enter the holder's full name."))
    for name in HOLDER[1:]:
        check_text(errors, name, values[name])
    if values["holder_email"] and not EMAIL.match(values["holder_email"]):
        errors.add("holder_email", _("Enter an email address like name@example.vn."))
    if values["holder_phone"] and not PHONE.match(values["holder_phone"]):
        errors.add("holder_phone", _("Enter a phone number in digits, for example 024 3869 4000."))
    return {
        "name": values["holder_name"],
        "position": values["holder_position"] or None,
        "email": values["holder_email"] or None,
        "phone": values["holder_phone"] or None,
    }


def _read_new(form: FormData) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    _ = i18n.gettext
    values: dict[str, Any] = {n: text(form, n) for n in ("kind", "unit_code", "role", "username", *HOLDER)}
    errors = FormErrors()
    body: dict[str, Any] = {"kind": values["kind"]}
    if values["kind"] not in KINDS:
        errors.add("kind", _("Choose the kind of account."))
    elif values["kind"] == "unit":
        if not UNIT_CODE.match(values["unit_code"]):
            errors.add("unit_code", _("Enter the code of the unit that receives the account, for example SGD-HN."))
        body["unit_code"] = values["unit_code"].upper()
    elif values["role"] not in INDIVIDUAL_ROLES:
        errors.add("role", _("Choose the role of the account."))
    else:
        body["role"] = values["role"]
    username = values["username"].lower()
    if username and not USERNAME.match(username):
        errors.add(
            "username",
            _("Use 3 to 63 lower-case letters without accents, digits, dots, dashes or @."),
        )
    elif not username and values["kind"] == "individual":
        errors.add("username", _("Enter a username for the individual account, for example nguyen.van.an."))
    if username:
        body["username"] = username
    body["holder"] = _holder(values, errors)
    return values, body, errors
