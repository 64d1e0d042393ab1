"""Jinja2 pages: autoescaped, translated (gettext), with the portal's formatting filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from phoi_portal.web import i18n

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext)  # type: ignore[attr-defined]
env.filters["date"] = i18n.format_date
env.filters["datetime"] = i18n.format_datetime
env.filters["number"] = i18n.format_number
env.filters["problem"] = i18n.problem_message


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with what every page needs: who is signed in, the CSRF token, the language."""
    from phoi_portal.web.csrf import csrf_token
    from phoi_portal.web.nav import menu_for

    user = getattr(request.state, "portal_session", None)
    base: dict[str, Any] = {
        "request": request,
        "user": user,
        "menu": menu_for(user) if user is not None else [],
        "csrf_token": csrf_token(request),
        "locale": i18n.locale_var.get(),
        "path": request.url.path,
        "errors": {},
        "error_summary": [],
        "form": {},
        "notice": None,
    }
    html = env.get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status_code)
