"""Pages rendered from the services' answers as they are shaped (no service needed): what a user sees
follows the fields the APIs send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from phoi_local.pages import timeline
from phoi_portal.web import i18n
from phoi_portal.web.templating import env

WAITING = "waiting"


def _request(status: str, allocation_status: str | None) -> dict[str, Any]:
    """A request as the requests service answers it (GET /api/v1/requests/{id}), reduced to what the page reads."""
    return {
        "id": "5b0f4a52-51d4-4d3b-9c38-0b1d3c1a1e11",
        "unit_code": "SGD-HN",
        "academic_year": "2024-2025",
        "exam_session": None,
        "justification": None,
        "status": status,
        "allocation_status": allocation_status,
        "version": 4,
        "lines": [
            {
                "form_type_code": "THPT",
                "quantity": 300,
                "justification": None,
                "approved_quantity": 250,
                "shortfall": None,
                "allocated_quantity": 0,
                "allocated_ranges": [],
                "accepted_quantity": None,
                "discrepancy_note": None,
            }
        ],
        "attachments": [],
        "available_actions": [],
    }


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = i18n.locale_var.set("en")
    yield
    i18n.locale_var.reset(token)


def _detail(item: dict[str, Any], history: list[dict[str, Any]] | None = None) -> str:
    context: dict[str, Any] = {"user": None, "csrf_token": "t", "locale": "en", "path": "/requests/x", "notice": None}
    return env.get_template("requests/detail.html").render(**context, item=item, history=history or [])


@pytest.mark.parametrize(
    ("status", "allocation_status", "says"),
    [
        ("approved", "allocating", "The inventory is allocating serial numbers"),
        ("waiting_for_stock", "waiting_for_stock", "the central stock is short"),
    ],
)
def test_an_approved_request_says_at_once_that_the_inventory_is_at_work(
    status: str, allocation_status: str, says: str
) -> None:
    page = _detail(_request(status, allocation_status))
    assert f'data-testid="{WAITING}"' in page
    assert says in page


@pytest.mark.parametrize(("status", "allocation_status"), [("submitted", None), ("allocated", "allocated")])
def test_no_waiting_notice_before_approval_or_once_allocated(status: str, allocation_status: str | None) -> None:
    assert f'data-testid="{WAITING}"' not in _detail(_request(status, allocation_status))


@pytest.mark.parametrize(
    ("status", "allocation_status", "seconds"),
    [("approved", "allocating", "3"), ("waiting_for_stock", "waiting_for_stock", "60")],
)
def test_a_request_at_work_is_watched_in_the_background_not_refreshed_on_a_timer(
    status: str, allocation_status: str, seconds: str
) -> None:
    """A timed refresh of the whole page fails WCAG 2.2.1 (axe: meta-refresh); portal.js looks again at
    the status, marked with data-watch, and shows the page anew only once it has changed."""
    page = _detail(_request(status, allocation_status))
    assert "http-equiv" not in page
    assert f'id="request-status" data-testid="status" data-watch="{seconds}"' in page


@pytest.mark.parametrize(("status", "allocation_status"), [("submitted", None), ("allocated", "allocated")])
def test_a_request_not_at_work_is_not_watched(status: str, allocation_status: str | None) -> None:
    assert "data-watch" not in _detail(_request(status, allocation_status))


def _form_type(code: str, name_vi: str, name_en: str | None, digits: int | None) -> dict[str, Any]:
    """A form type as the requests service's GET /api/v1/form-types answers it (inventory's field names)."""
    return {
        "id": f"0b7e5a3c-53f1-4c1e-9a55-3f0f5b2d9e1{len(code)}",
        "code": code,
        "name_vi": name_vi,
        "name_en": name_en,
        "serial_prefix": code[:2],
        "digits": digits,
        "template_version": "2024.1",
        "active": True,
    }


FORM_TYPES = [
    _form_type("THPT", "Phôi bằng tốt nghiệp THPT", "Upper-secondary diploma blank", 7),
    _form_type("THCS", "Phôi bằng tốt nghiệp THCS", None, None),  # the replica has no English name yet
]


@pytest.mark.parametrize(
    ("locale", "thpt", "thcs"),
    [
        ("vi", "THPT — Phôi bằng tốt nghiệp THPT", "THCS — Phôi bằng tốt nghiệp THCS"),
        # English where the replica knows it, the Vietnamese name otherwise
        ("en", "THPT — Upper-secondary diploma blank", "THCS — Phôi bằng tốt nghiệp THCS"),
    ],
)
def test_form_type_choices_are_named_in_the_page_language(locale: str, thpt: str, thcs: str) -> None:
    context: dict[str, Any] = {"user": None, "csrf_token": "t", "locale": locale, "path": "/serials"}
    context |= {"errors": {}, "error_summary": [], "form": {"form_type": "", "serial": ""}, "found": None}
    page = env.get_template("reports/serial.html").render(**context, form_types=FORM_TYPES)
    assert thpt in page
    assert thcs in page


def _entry(sequence: int, action: str, **fields: Any) -> dict[str, Any]:
    """A history entry as the requests service answers it (GET /api/v1/requests/{id}/history)."""
    unit = {"user_id": "u-1", "username": "sa32737", "role": "unit_account", "unit_code": "SA32737"}
    entry = {"sequence": sequence, "action": action, "from_status": "draft", "to_status": "draft", "actor": unit}
    return {**entry, "at": "2026-12-05T07:31:00+00:00", "comment": None, "attachment": None, **fields}


LETTERS_HISTORY = [
    _entry(1, "create", from_status=None),
    _entry(2, "edit", attachment={"change": "added", "filename": "cong-van-de-nghi.pdf"}),
    _entry(3, "edit", attachment={"change": "removed", "filename": "<b>bản-cũ</b>.pdf"}, comment="Bản chưa ký"),
]


@pytest.mark.parametrize(
    ("locale", "added", "removed"),
    [
        ("vi", "Đã đính kèm tệp cong-van-de-nghi.pdf", "Đã gỡ tệp <b>bản-cũ</b>.pdf"),
        ("en", "Attached cong-van-de-nghi.pdf", "Removed <b>bản-cũ</b>.pdf"),
    ],
)
def test_the_history_says_which_letter_an_edit_attached_or_removed_in_the_pages_language(
    locale: str, added: str, removed: str
) -> None:
    token = i18n.locale_var.set(locale)
    try:
        page = _detail(_request("draft", None), LETTERS_HISTORY)
    finally:
        i18n.locale_var.reset(token)
    shown = timeline(page)
    assert f"05/12/2026 14:31 — sa32737 (SA32737) {added}" in shown
    assert f"{removed} Bản chưa ký" in shown  # the person's comment, after what the edit did
    assert "&lt;b&gt;bản-cũ&lt;/b&gt;.pdf" in page  # a filename is data: escaped
    if locale == "vi":
        assert "attached" not in shown.lower()
        assert "removed" not in shown.lower()
