"""Languages: Vietnamese first, English second, from gettext catalogues (Babel).

Message ids are English; `translations/vi/LC_MESSAGES/messages.po` translates them. Problem codes from
the services are message ids in the context "problem" and have an entry in both catalogues. Dates are
shown dd/mm/yyyy in Vietnam's time zone, numbers with Vietnamese grouping (1.234.567).
"""

from __future__ import annotations

import contextvars
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from phoi_kit.vietnam import VIETNAM_TZ

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
VIETNAM = VIETNAM_TZ
CATALOGUES = Path(__file__).resolve().parents[1] / "translations"

locale_var: contextvars.ContextVar[str] = contextvars.ContextVar("portal_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> Translations:
    """The compiled catalogue, built in memory from the .po file (no build step, no .mo in the repo)."""
    po = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return Translations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; it is translated where it is shown."""
    return message


def gettext(message: str) -> str:
    return translations(locale_var.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(locale_var.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(locale_var.get()).pgettext(context, message))


def problem_message(code: str, fallback: str | None = None) -> str:
    """The readable message for a service's problem code in the current language."""
    text = pgettext("problem", code)
    if text == code:
        return fallback or gettext("The request could not be completed.")
    return text


def format_date(value: date | datetime | str | None) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(VIETNAM).date()
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | str | None) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def format_number(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return format_decimal(value, locale="vi" if locale_var.get() == "vi" else "en")


def pick_locale(cookie: str | None, accept_language: str | None) -> str:
    """The remembered choice, else Vietnamese: the users are Vietnamese officials whatever their browser says."""
    if cookie in LOCALES:
        return str(cookie)
    return DEFAULT_LOCALE
