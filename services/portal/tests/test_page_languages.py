"""The QLCL officer's, administrator's and auditor's pages speak one language at a time. Each page is
rendered from answers shaped as the services send them (no service, no browser), its own form mistakes
included, in both languages: in English no Vietnamese may be left outside what the user typed or the
services hold, and in Vietnamese no English sentence may be left that English shows the same, i.e. a text
not put through the catalogue."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest
from phoi_kit.auth import Role
from phoi_portal.domain.session import Session, Tokens
from phoi_portal.web import i18n
from phoi_portal.web.nav import menu_for
from phoi_portal.web.pages import admin_accounts, admin_incidents, admin_units, central, review, stock
from phoi_portal.web.pages._admin import check_reason
from phoi_portal.web.pages._common import FormErrors
from phoi_portal.web.pages.audit import EVENT_LABELS, event_type_options, read_filters, readable_key
from phoi_portal.web.pages.requests import STATUSES
from phoi_portal.web.templating import env
from starlette.datastructures import FormData

# Attributes a reader meets as text: tooltips, labels for screen readers, and the messages scripts show.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-progress", "data-done", "data-failed"}
READ_ATTRIBUTES |= {"data-running"}
CODE = re.compile(r"^[a-z0-9_.*@-]+$")
TWO_ENGLISH_WORDS = re.compile(r"\b[A-Za-z][a-z]+ [a-z]{2,}\b")
# Proper names English keeps in Vietnamese: the examples of how a name is written.
KEPT_NAMES = ("Nguyễn Văn An", "Trường THPT Chu Văn An")

NOW = "2026-03-02T03:04:05+00:00"
REQUEST_ID = "5b0f4a52-51d4-4d3b-9c38-0b1d3c1a1e11"
ACCOUNT_ID = "0c9d2f57-0e1b-4d49-a0a3-5c8b7a6e2f10"
HASH = "ab" * 32


def _session(role: Role) -> Session:
    now = datetime.now(UTC)
    unit = "SGD-HN" if role is Role.UNIT_ACCOUNT else None
    tokens = Tokens("a", "r", "i", now + timedelta(minutes=5))
    return Session("h", "u-1", "cb.qlcl", "Lê Thị Hoà", unit, frozenset({role.value}), tokens, now, now)


# --- what the services answer, with Vietnamese where officials type or name things -------------------------


def _line(**extra: Any) -> dict[str, Any]:
    return {
        "line_id": "l1",
        "form_type_code": "THPT",
        "quantity": 300,
        "justification": "Dự kiến 298 học sinh tốt nghiệp",
        "approved_quantity": 250,
        "shortfall": None,
        "allocated_quantity": 0,
        "allocated_ranges": [],
        **extra,
    }


def _request(status: str, actions: list[str], **line: Any) -> dict[str, Any]:
    return {
        "id": REQUEST_ID,
        "unit_code": "SGD-HN",
        "academic_year": "2025-2026",
        "exam_session": "Kỳ thi tốt nghiệp THPT",
        "justification": "Bổ sung phôi cho đợt thi",
        "status": status,
        "allocation_status": "waiting_for_stock" if status == "waiting_for_stock" else None,
        "version": 3,
        "created_at": NOW,
        "lines": [_line(**line)],
        "attachments": [{"attachment_id": "a1", "filename": "công-văn.pdf", "size_bytes": 20480, "signature": None}],
        "available_actions": actions,
    }


RANGE = {"first": 1, "last": 250, "first_label": "PT0000001", "last_label": "PT0000250", "count": 250}
STOCK = [{"form_type": "THPT", "state": s, "count": 250, "ranges": [RANGE]} for s in ("central", "at_unit")]
FORM_TYPE = {
    "code": "THPT",
    "name_vi": "Phôi bằng tốt nghiệp THPT",
    "name_en": "Upper-secondary diploma blank",
    "example_serial": "PT0000001",
    "template_version": "2024.1",
    "active": True,
    "version": 2,
}
HOLDER = {"name": "Trần Văn Bình", "position": "Chuyên viên", "email": "binh@example.vn", "phone": "024 3869 4000"}
ACCOUNT = {
    "id": ACCOUNT_ID,
    "username": "sgd-hn",
    "role": "unit_account",
    "kind": "unit",
    "unit_code": "SGD-HN",
    "status": "active",
    "status_reason": "Nghi lộ mật khẩu",
    "holder": HOLDER,
    "created_at": NOW,
    "last_login_at": NOW,
    "version": 4,
}
UNIT = {
    "code": "SGD-HN",
    "name": "Sở Giáo dục và Đào tạo Hà Nội",
    "name_en": "Hanoi Department of Education and Training",
    "kind": "department",
    "province": "Hà Nội",
    "status": "active",
    "status_reason": None,
    "head": {"name": "Phạm Quốc Dũng", "position": "Giám đốc", "contact": "024 3825 1234"},
    "created_at": NOW,
    "version": 5,
}
SIGN_IN = {"occurred_at": NOW, "type": "auth.login_failed.v1", "error": "invalid_credentials", "ip_address": "10.0.0.9"}
INCIDENT = {
    "id": "9f1c",
    "reference": "TN-AB12-CD34",
    "source": "public",
    "kind": "suspected_takeover",
    "status": "open",
    "reported_at": NOW,
    "occurred_at": NOW,
    "reporter": {"name": "Đỗ Minh Châu", "contact": "0912 345 678", "address": "10.0.0.7"},
    "unit_code": "SGD-HN",
    "account_locked": True,
    "description": "Tôi không đăng nhập được, có người đã đổi mật khẩu.",
    "version": 1,
}
ENTRY = {
    "sequence": 7,
    "event_id": "e-7",
    "type": "request.approved.v1",
    "actor": {"user_id": "u-1", "username": "cb.qlcl", "role": "qlcl_officer", "unit_code": None},
    "subject": REQUEST_ID,
    "unit_code": "SGD-HN",
    "occurred_at": NOW,
    "recorded_at": NOW,
    "payload": {"comment": "Duyệt bớt theo số học sinh", "lines": [{"approved_quantity": 250}], "active": True},
    "prev_hash": HASH,
    "hash": HASH,
}
VERIFIED = {
    "ok": False,
    "first_broken_sequence": 7,
    "reason": "hash_mismatch",
    "checked_count": 1,
    "from_sequence": 1,
    "to_sequence": 40,
    "last_sequence": 6,
    "last_hash": HASH,
    "head": {"sequence": 40, "hash": HASH},
    "verified_at": NOW,
}
CHAIN_BREAKS = ("sequence_mismatch", "prev_hash_mismatch", "malformed_entry", "checkpoint_mismatch", "truncated")
CHECKPOINT = {"sequence": 41, "payload": {"checkpoint_at": NOW, "latest_sequence": 40}}


# --- each page, as its handler renders it, with the mistakes its own checks find -----------------------------


def _form(**fields: str) -> FormData:
    return FormData(list(fields.items()))


def _errors(*reads: ErrorCheck) -> dict[str, Any]:
    """Every message the checks gave, in the summary; beside each field the first."""
    found = [read() for read in reads]
    fields: dict[str, str] = {}
    for errors in reversed(found):
        fields |= errors.fields
    return {"errors": fields, "error_summary": [item for errors in found for item in errors.summary()]}


def _review_errors() -> FormErrors:
    return review._read_decision(_form(decision="approve", **{"approved-l1": "301"}), _request("submitted", []))[2]


ErrorCheck = Callable[[], FormErrors]


def _filters(raw: dict[str, str | None]) -> FormErrors:
    errors = FormErrors()
    read_filters(raw, errors)
    return errors


AUDIT_ERRORS: tuple[ErrorCheck, ...] = (
    lambda: _filters({"start": "02/01/2026", "end": "01/01/2026", "type": "x", "actor": "x" * 201}),
    lambda: _filters({"start": "31/02/2026", "end": "x", "subject": "\x00"}),
)
NEW_ACCOUNT_ERRORS: tuple[ErrorCheck, ...] = (
    lambda: admin_accounts._read_new(_form(kind="individual", role="x", holder_email="x", holder_phone="x"))[2],
    lambda: admin_accounts._read_new(_form(kind="unit", unit_code="?", username="?", holder_name="\x00"))[2],
    lambda: admin_accounts._read_new(_form(kind="?", holder_position="x" * 300))[2],
)
UNIT_ERRORS: tuple[ErrorCheck, ...] = (
    lambda: admin_units._read(_form(code="", kind="?"), creating=True)[1],
    lambda: admin_units._read(_form(code="?", name="\x00", province="x" * 300), creating=True)[1],
)
BATCH_ERRORS: tuple[ErrorCheck, ...] = (
    lambda: central._read_batch(_form(first_serial="x", last_serial="x", received_on="x", note="\x00"))[2],
    lambda: central._read_batch(_form(first_serial="5", last_serial="4"))[2],
)


def _new_form_type_errors() -> FormErrors:
    return central._read_new_form_type(_form(code="?", template_version="?", serial_prefix="?", digits="0"))[2]


def _holder(values: dict[str, str]) -> FormErrors:
    errors = FormErrors()
    admin_accounts._holder(dict.fromkeys(admin_accounts.HOLDER, "") | values, errors)
    return errors


HOLDER_ERRORS: tuple[ErrorCheck, ...] = (
    lambda: _holder({"holder_position": "\x00", "holder_email": "x", "holder_phone": "x"}),
    lambda: _holder({"holder_name": "A", "holder_position": "x" * 300}),
)


def _reason() -> FormErrors:
    errors = FormErrors()
    check_reason(errors, "")
    return errors


def _empty() -> str:
    return i18n.gettext("The audit log has no entries yet: there is nothing to verify.")


def _movement(**values: str) -> FormErrors:
    errors = FormErrors()
    stock._movement_body(
        dict.fromkeys(("kind", "form_type", "first", "last", "register_entry_first", "note"), "") | values, errors
    )
    return errors


MOVEMENT_ERRORS: tuple[ErrorCheck, ...] = (
    lambda: _movement(kind="?", first="?", last="?", document_ref="\x00", note="\x00"),
    *(lambda kind=kind: _movement(kind=kind, document_ref="") for kind in stock.KINDS),
)

ACTIONS = ("lock", "unlock", "disable")


def _action(action: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"account": ACCOUNT, "action": action, "form": {"version": 4}, **_errors(_reason)}


def _broken(reason: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"result": {**VERIFIED, "reason": reason, "last_sequence": None}, "checkpoint": None}


@dataclass(frozen=True)
class Page:
    template: str
    role: Role
    context: Callable[[], dict[str, Any]]  # built in the page's language: labels and messages are translated
    done: dict[str, str] | None = None


PAGES: dict[str, Page] = {
    # The QLCL officer's pages
    "review queue": Page(
        "officer/queue.html",
        Role.QLCL_OFFICER,
        lambda: {
            "page": {"items": [_request("submitted", [])], "next_cursor": "c"},
            "counts": {"counts": {"submitted": 3, "waiting_for_stock": 1}},
            "filters": {"status": "submitted", "unit_code": "", "form_type": "", "academic_year": ""},
            "statuses": STATUSES,
            "form_types": [FORM_TYPE],
        },
    ),
    "review with the decision form": Page(
        "officer/review.html",
        Role.QLCL_OFFICER,
        lambda: {
            "item": _request("submitted", ["approve", "return", "reject"]),
            "history": [
                {
                    "action": "edit",
                    "at": NOW,
                    "actor": {"username": "sgd-hn", "unit_code": "SGD-HN"},
                    "attachment": {"change": "added", "filename": "cong-van-de-nghi.pdf"},
                },
                {"action": "submit", "at": NOW, "actor": {"username": "sgd-hn", "unit_code": "SGD-HN"}},
            ],
            "held": {"THPT": STOCK},
            "used": {"THPT": {c: {"count": 12} for c in ("received", "used", "spoiled", "lost")}},
            "usage_period": (datetime(2025, 3, 2), datetime(2026, 3, 2)),
            "form": {"decision": "approve", "reason": "", "lines": {"l1": "301"}},
            "changed": True,
            **_errors(_review_errors),
        },
    ),
    "review once decided": Page(
        "officer/review.html",
        Role.QLCL_OFFICER,
        lambda: {
            "item": _request("waiting_for_stock", [], shortfall=1),
            "history": [{"action": "approve", "at": NOW, "actor": {"username": "cb.qlcl"}, "comment": "Duyệt bớt"}],
            "held": {"THPT": []},
            "used": {},
            "usage_period": (datetime(2025, 3, 2), datetime(2026, 3, 2)),
            "notice": "approve",
        },
    ),
    "allocations": Page(
        "officer/allocations.html",
        Role.QLCL_OFFICER,
        lambda: {
            "waiting": [_request("waiting_for_stock", [], shortfall=50)],
            "allocated": {
                "items": [
                    {
                        "request_id": REQUEST_ID,
                        "approved_at": NOW,
                        "unit_code": "SGD-HN",
                        "lines": [{"form_type": "THPT", "quantity": 250, "ranges": [RANGE]}],
                    }
                ],
                "next_cursor": "c",
            },
        },
    ),
    "central stock": Page("officer/stock.html", Role.QLCL_OFFICER, lambda: {"items": STOCK}),
    "form types": Page(
        "officer/form_types.html",
        Role.QLCL_OFFICER,
        lambda: {"items": [FORM_TYPE, {**FORM_TYPE, "code": "THCS", "active": False}]},
        done={"done": "created", "code": "THPT"},
    ),
    "new form type": Page(
        "officer/form_type.html",
        Role.QLCL_OFFICER,
        lambda: {
            "form": dict.fromkeys(central.FORM_TYPE_FIELDS, "?"),
            "editing": None,
            **_errors(_new_form_type_errors),
        },
    ),
    "form type edited": Page(
        "officer/form_type.html",
        Role.QLCL_OFFICER,
        lambda: {"form": {**FORM_TYPE, "active": "yes"}, "editing": FORM_TYPE},
    ),
    "print batches": Page(
        "officer/print_batches.html",
        Role.QLCL_OFFICER,
        lambda: {
            "page": {
                "items": [
                    {
                        "received_on": "2026-03-01",
                        "form_type": "THPT",
                        "first_label": "PT0000001",
                        "last_label": "PT0000250",
                        "quantity": 250,
                        "printer": "Nhà in Tiến Bộ",
                        "contract_ref": "HĐ 12/2026",
                    }
                ],
                "next_cursor": "c",
            }
        },
        done={"done": "recorded", "count": "1"},
    ),
    "new print batch": Page(
        "officer/print_batch.html",
        Role.QLCL_OFFICER,
        lambda: {
            "form": dict.fromkeys(central.BATCH_FIELDS, ""),
            "form_type_options": [("THPT", "THPT — Upper-secondary diploma blank")],
            **_errors(*BATCH_ERRORS),
        },
    ),
    "blanks on hand": Page("stock/stock.html", Role.QLCL_OFFICER, lambda: {"items": STOCK}, done={"done": "1"}),
    # The unit's form among the stock pages (the unit's other pages had their own English pass)
    "movement": Page(
        "stock/movement.html",
        Role.UNIT_ACCOUNT,
        lambda: {"held": STOCK, "form": {"kind": "use"}, "kinds": stock.KINDS, **_errors(*MOVEMENT_ERRORS)},
    ),
    # The QLCL administrator's pages
    "units": Page(
        "admin/units.html",
        Role.QLCL_ADMIN,
        lambda: {"page": {"items": [UNIT], "next_cursor": "c"}, "status": "", "statuses": admin_units.STATUSES},
    ),
    "new unit": Page(
        "admin/unit_form.html",
        Role.QLCL_ADMIN,
        lambda: {"form": {"kind": "?"}, "kinds": admin_units.KINDS, "editing": None, **_errors(*UNIT_ERRORS)},
    ),
    "unit edited": Page(
        "admin/unit_form.html",
        Role.QLCL_ADMIN,
        lambda: {"form": admin_units._form_of(UNIT), "kinds": admin_units.KINDS, "editing": UNIT},
    ),
    "unit": Page(
        "admin/unit.html",
        Role.QLCL_ADMIN,
        lambda: {"unit": UNIT, "accounts": [ACCOUNT], "notice": "created"},
    ),
    "unit without accounts": Page(
        "admin/unit.html",
        Role.QLCL_ADMIN,
        lambda: {"unit": {**UNIT, "status": "inactive"}, "accounts": [], "notice": "deactivated"},
    ),
    "unit deactivated": Page(
        "admin/unit_status.html",
        Role.QLCL_ADMIN,
        lambda: {"unit": UNIT, "action": "deactivate", "form": {"version": 5}},
    ),
    "unit reactivated": Page(
        "admin/unit_status.html",
        Role.QLCL_ADMIN,
        lambda: {"unit": UNIT, "action": "reactivate", "form": {"version": 5}},
    ),
    "accounts": Page(
        "admin/accounts.html",
        Role.QLCL_ADMIN,
        lambda: {
            "page": {"items": [ACCOUNT], "next_cursor": "c"},
            "filters": {"unit_code": "", "role": "", "status": ""},
            "roles": admin_accounts.ROLES,
            "statuses": admin_accounts.STATUSES,
        },
    ),
    "new account": Page(
        "admin/account_form.html",
        Role.QLCL_ADMIN,
        lambda: {
            "form": {"kind": "individual"},
            "kinds": admin_accounts.KINDS,
            "roles": admin_accounts.INDIVIDUAL_ROLES,
            **_errors(*NEW_ACCOUNT_ERRORS),
        },
    ),
    "account issued": Page(
        "admin/issued.html",
        Role.QLCL_ADMIN,
        lambda: {
            "account": ACCOUNT,
            "unit": UNIT,
            "password": "Xk7-pQ2-mN9",
            "event": "created",
            "now_date": "02/03/2026",
        },
    ),
    "account": Page(
        "admin/account.html",
        Role.QLCL_ADMIN,
        lambda: {
            "account": ACCOUNT,
            "holders": [{**HOLDER, "held_from": NOW, "held_to": None, "reason": "Bàn giao", "recorded_by": "qt.qlcl"}],
            "events": [SIGN_IN, {**SIGN_IN, "type": "auth.logout.v1", "error": None}],
            "notice": "lock",
        },
    ),
    "slip reprinted": Page(
        "admin/slip.html",
        Role.QLCL_ADMIN,
        lambda: {"account": ACCOUNT, "unit": UNIT, "password": None, "now_date": "02/03/2026"},
    ),
    "handover": Page(
        "admin/handover.html",
        Role.QLCL_ADMIN,
        lambda: {"account": ACCOUNT, "form": {"version": 4}, **_errors(*HOLDER_ERRORS)},
    ),
    **{f"account {action}": Page("admin/account_action.html", Role.QLCL_ADMIN, _action(action)) for action in ACTIONS},
    "incidents": Page(
        "admin/incidents.html",
        Role.QLCL_ADMIN,
        lambda: {
            "page": {"items": [INCIDENT], "next_cursor": "c"},
            "filters": {"status": "open", "source": ""},
            "statuses": admin_incidents.STATUSES,
            "sources": admin_incidents.SOURCES,
        },
    ),
    "incident": Page(
        "admin/incident.html",
        Role.QLCL_ADMIN,
        lambda: {
            "incident": INCIDENT,
            "account": ACCOUNT,
            "actions": admin_incidents.ACTIONS,
            "form": {"action": "", "resolution": "", "reason": ""},
            "notice": "locked",
            "errors": {},
            "error_summary": [{"field": "", "message": admin_incidents._no_account()}],
        },
    ),
    "incident resolved": Page(
        "admin/incident.html",
        Role.QLCL_ADMIN,
        lambda: {
            "incident": {
                **INCIDENT,
                "source": "signed_in",
                "reporter": None,
                "reported_by": "sgd-hn",
                "status": "resolved",
                "resolved_at": NOW,
                "resolved_by": "qt.qlcl",
                "resolution_action": "reset_password",
                "resolution": "Đã cấp mật khẩu mới",
            },
            "account": None,
            "form": {},
            "notice": "resolved",
        },
    ),
    "sign-in activity": Page(
        "admin/sign_ins.html",
        Role.QLCL_ADMIN,
        lambda: {
            "report": {
                "min_failures": 5,
                "since": NOW,
                "accounts": [
                    {"account_id": ACCOUNT_ID, "username": "sgd-hn", "unit_code": "SGD-HN", "failures": 6}
                    | {"successes": 1, "last_failure_at": NOW, "last_failure_ip": "10.0.0.9", "status": "locked"}
                ],
            },
            "events": {"items": [{**SIGN_IN, "username": "sgd-hn", "account_id": ACCOUNT_ID}], "next_cursor": "c"},
        },
    ),
    # The auditor's pages
    "audit log": Page(
        "audit/log.html",
        Role.AUDITOR,
        lambda: {
            "page": {"items": [ENTRY, {**ENTRY, "type": "stock.movement_recorded.v2"}], "next_cursor": "c"},
            "cursor": "c",
            "query": "subject=x",
            "form": {"subject": "", "actor": "", "unit": "", "type": "", "start": "", "end": ""},
            "type_options": event_type_options(),
            "labels": EVENT_LABELS,
            **_errors(*AUDIT_ERRORS),
        },
    ),
    "audit entry": Page(
        "audit/entry.html",
        Role.AUDITOR,
        lambda: {
            "entry": ENTRY,
            "labels": EVENT_LABELS,
            "readable_key": readable_key,
            "payload_json": json.dumps(ENTRY["payload"], ensure_ascii=False),
        },
    ),
    "first audit entry": Page(
        "audit/entry.html",
        Role.AUDITOR,
        lambda: {
            "entry": {**ENTRY, "sequence": 1, "payload": {}},
            "labels": EVENT_LABELS,
            "readable_key": readable_key,
            "payload_json": "{}",
        },
    ),
    "broken chain": Page(
        "audit/verify.html",
        Role.AUDITOR,
        lambda: {"result": VERIFIED, "checkpoint": CHECKPOINT, "error_summary": [{"field": "", "message": _empty()}]},
    ),
    "intact chain": Page(
        "audit/verify.html", Role.AUDITOR, lambda: {"result": {**VERIFIED, "ok": True}, "checkpoint": None}
    ),
    **{f"chain broken: {reason}": Page("audit/verify.html", Role.AUDITOR, _broken(reason)) for reason in CHAIN_BREAKS},
}


# --- reading a page as its reader does ------------------------------------------------------------------------

# Messages and labels are the page's own words even where a context carries them, never data.
NOT_DATA = {"errors", "error_summary", "labels", "menu"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    """The texts of a page and of the attributes read to its users, leaving out scripts and what is marked as
    in the other language (`lang`: the language switch, a unit's English name)."""

    def __init__(self, locale: str) -> None:
        super().__init__()
        self.locale = locale
        self.texts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        lang = dict(attrs).get("lang")
        if self.skipping or (lang and lang != self.locale and tag != "html") or tag in ("script", "style"):
            if tag not in VOID:
                self.skipping.append(tag)
            return
        self.texts += [v for k, v in attrs if k in READ_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_DATA:
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _in(locale: str, page: Page) -> tuple[str, dict[str, Any]]:
    token = i18n.locale_var.set(locale)
    try:
        user = _session(page.role)
        context: dict[str, Any] = {
            "request": SimpleNamespace(query_params=page.done or {}),
            "user": user,
            "menu": menu_for(user),
            "csrf_token": "t",
            "locale": locale,
            "path": "/",
            "errors": {},
            "error_summary": [],
            "form": {},
            "notice": None,
            **page.context(),
        }
        return env.get_template(page.template).render(context), context
    finally:
        i18n.locale_var.reset(token)


def _texts(locale: str, html: str, data: list[str]) -> list[str]:
    """The page's own words: each text with the data (what is the same in both languages' answers) cut out."""
    reader = _Reader(locale)
    reader.feed(html)
    texts = []
    for text in reader.texts:
        for value in data:
            text = text.replace(value, " ")
        texts.append(" ".join(text.split()))
    return [t for t in texts if t]


def _vietnamese(text: str) -> bool:
    return any(c in "đĐ" or (c.isalpha() and unicodedata.normalize("NFD", c) != c) for c in text)


@dataclass(frozen=True)
class Rendered:
    english: list[str]
    vietnamese: list[str]


def rendered(page: Page) -> Rendered:
    html_en, context_en = _in("en", page)
    html_vi, context_vi = _in("vi", page)
    data = set(_strings(context_en)) & set(_strings(context_vi))
    data |= {context_en["user"].full_name, *KEPT_NAMES}
    # Codes ("approve", "unit") and short values would cut the page's own words apart: they are single
    # ASCII tokens, which neither check looks at, so only data that reads as text is cut out.
    words = sorted((d for d in data if len(d) > 2 and not CODE.match(d)), key=len, reverse=True)
    return Rendered(_texts("en", html_en, words), _texts("vi", html_vi, words))


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_page_in_english_has_no_vietnamese_left(name: str) -> None:
    left = [t for t in rendered(PAGES[name]).english if _vietnamese(t)]
    assert not left, f"Vietnamese on the English page {name!r}: {left}"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_page_in_vietnamese_has_no_english_sentence_left(name: str) -> None:
    page = rendered(PAGES[name])
    assert sum(map(_vietnamese, page.vietnamese)) > 10  # the page was read: its own Vietnamese words are there
    same = set(page.english) & set(page.vietnamese)
    left = sorted(t for t in same if TWO_ENGLISH_WORDS.search(t))
    assert not left, f"English on the Vietnamese page {name!r}, not translated: {left}"


@pytest.mark.parametrize(
    ("name", "one"),
    [("review once decided", "Waiting: 1 blank short"), ("print batches", "Print batch recorded: 1 blank added")],
)
def test_one_blank_is_said_in_the_singular(name: str, one: str) -> None:
    assert one in " ".join(rendered(PAGES[name]).english)


def test_the_issuers_page_offers_no_deactivation() -> None:
    """QLCL's accounts administer the system: identity refuses to deactivate it (`issuer_unit_protected`),
    and its page does not offer it; another unit's page does."""

    def links(unit: dict[str, Any]) -> str:
        html, _ = _in("vi", Page("admin/unit.html", Role.QLCL_ADMIN, lambda: {"unit": unit, "accounts": []}))
        return html

    issuer = {**UNIT, "code": "QLCL", "kind": "qlcl"}
    assert "/admin/units/QLCL/deactivate" not in links(issuer)
    assert "/admin/units/SGD-HN/deactivate" in links(UNIT)
    assert "/admin/units/QLCL/reactivate" in links({**issuer, "status": "inactive"})  # left so before the rule
