"""The portal speaks Vietnamese first and English second, from catalogues that are complete: every
message in the templates and code has a Vietnamese translation, and every problem code a service can
answer has a readable message in both languages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from phoi_portal.web import i18n

PORTAL = Path(i18n.__file__).resolve().parents[1]
REPO = PORTAL.parents[3]
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def catalogue(locale: str) -> dict[tuple[str | None, str], str]:
    """(context, id) → text; a plural message by its singular id, with its first form."""
    with (PORTAL / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {(m.context, _first(m.id)): _first(m.string) for m in read_po(f) if m.id}


def _first(value: object) -> str:
    return str(value[0] if isinstance(value, tuple | list) else value or "")


def source_messages() -> set[str]:
    found = extract_from_dir(
        str(PORTAL), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    )
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def service_problem_codes() -> set[str]:
    """Every stable code the services and the kit can answer with: domain errors' `code` attributes, the
    codes problems are raised with, and the types of the validation errors the kit makes itself (a field's
    code in `errors`, which the portal shows beside the field)."""
    pattern = re.compile(
        r'\bcode(?:: ClassVar\[str\]| ?: ?str)? ?= ?"([a-z][a-z_.]*)"|\bcode="([a-z][a-z_.]*)"'
        r'|PydanticCustomError\(\s*"([a-z][a-z_.]*)"'
    )
    codes: set[str] = set()
    for folder in [*REPO.glob("services/*/src"), REPO / "libs" / "kit" / "src"]:
        if "portal" in str(folder):
            continue
        for path in folder.rglob("*.py"):
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                codes.add(match.group(1) or match.group(2) or match.group(3))
    return codes - {"request.error", "identity_error", "inventory_error", "audit.error"}  # abstract bases


def test_every_message_has_a_vietnamese_translation() -> None:
    vi = catalogue("vi")
    messages = source_messages()
    assert len(messages) > 150
    missing = sorted(m for m in messages if not vi.get((None, m)))
    assert not missing, f"no Vietnamese for: {missing}"


def test_every_problem_code_reads_well_in_both_languages() -> None:
    codes = service_problem_codes()
    assert {"version_mismatch", "request.not_found", "document_required", "rate_limited"} <= codes
    for locale in ("vi", "en"):
        messages = catalogue(locale)
        missing = sorted(c for c in codes if not messages.get(("problem", c)))
        assert not missing, f"no {locale} message for problem codes: {missing}"


def test_vietnamese_is_the_default_and_english_is_chosen_by_cookie() -> None:
    assert i18n.pick_locale(None, "en-US,en;q=0.9") == "vi"
    assert i18n.pick_locale("en", None) == "en"
    assert i18n.pick_locale("fr", None) == "vi"


@pytest.mark.parametrize(("locale", "expected"), [("vi", "1.234.567"), ("en", "1,234,567")])
def test_numbers_are_grouped_the_local_way(locale: str, expected: str) -> None:
    token = i18n.locale_var.set(locale)
    try:
        assert i18n.format_number(1234567) == expected
        assert i18n.format_number(None) == ""
    finally:
        i18n.locale_var.reset(token)


def test_dates_are_dd_mm_yyyy_in_vietnam() -> None:
    # 20:30 UTC on 31 May is already 1 June in Hanoi.
    assert i18n.format_date(datetime(2026, 5, 31, 20, 30, tzinfo=UTC)) == "01/06/2026"
    assert i18n.format_datetime("2026-05-31T20:30:00+00:00") == "01/06/2026 03:30"
    assert i18n.format_date(date(2026, 1, 2)) == "02/01/2026"


def test_problem_message_falls_back_to_a_plain_sentence() -> None:
    token = i18n.locale_var.set("vi")
    try:
        assert i18n.problem_message("version_mismatch").startswith("Dữ liệu vừa được người khác thay đổi")
        assert i18n.problem_message("no_such_code") == "Không thực hiện được yêu cầu."
    finally:
        i18n.locale_var.reset(token)


def test_the_english_catalogue_holds_no_vietnamese() -> None:
    """Its ordinary messages are empty (the id is the text) and its problem texts are English."""
    english = catalogue("en")
    ordinary = sorted(m for (context, m), text in english.items() if context is None and text)
    assert not ordinary, f"the English id is the text, leave these empty: {ordinary}"
    vietnamese = re.compile(r"[đĐăâêôơưĂÂÊÔƠƯ\u0300-\u0323\u1ea0-\u1ef9]")
    left = sorted(code for (context, code), text in english.items() if context == "problem" and vietnamese.search(text))
    assert not left, f"Vietnamese in the English problem texts: {left}"
