"""What the QLCL administrator's pages share: the role check, ids in paths, versions and no-store answers."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import Response
from phoi_kit.auth import Role
from starlette.datastructures import FormData

from phoi_portal.adapters.services import ApiProblem
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.deps import role
from phoi_portal.web.pages._common import FormErrors, has_control_chars, text, whole_number

AdminSession = Annotated[Session, role(Role.QLCL_ADMIN)]

SHORT = 255
LONG = 4000


def version_of(form: FormData) -> int | None:
    """The version the administrator saw, sent back as If-Match (a change meanwhile is refused)."""
    return whole_number(text(form, "version"))


def no_store(response: Response) -> Response:
    """A page with a temporary password: no cache (browser, proxy, back button) may keep it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def check_text(errors: FormErrors, name: str, value: str, *, required: str | None = None, limit: int = SHORT) -> None:
    """Required (with its message), no control characters, not too long."""
    _ = i18n.gettext
    if required and not value:
        errors.add(name, required)
    elif has_control_chars(value):
        errors.add(name, _("Remove the special characters from this field."))
    elif len(value) > limit:
        errors.add(name, _("Enter at most %(n)s characters.") % {"n": limit})


def check_reason(errors: FormErrors, value: str, *, required: bool = True) -> None:
    _ = i18n.gettext
    check_text(errors, "reason", value, required=_("Enter the reason.") if required else None, limit=LONG)


def place_problem(errors: FormErrors, problem: ApiProblem, field_names: dict[str, str]) -> None:
    """Like `FormErrors.from_problem`, also reading identity's `fields` list (e.g. username_taken → username)."""
    named = [f for f in problem.body.get("fields") or [] if isinstance(f, str) and f in field_names]
    if named and not problem.field_errors():
        message = i18n.problem_message(problem.code, problem.detail)
        for name in named:
            errors.add(field_names[name], message)
        return
    errors.from_problem(problem, field_names)
