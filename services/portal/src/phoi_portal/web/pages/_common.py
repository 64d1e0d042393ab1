"""What the page modules share: calling the services as the signed-in user, forms and their errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from phoi_portal.adapters.services import ApiProblem, ServiceName
from phoi_portal.domain.session import Session
from phoi_portal.web import i18n
from phoi_portal.web.deps import csrf_protect
from phoi_portal.web.state import portal

# A form shown again with its error messages is a page like any other: 200. (A 4xx document would make
# browsers log a console error for what is the normal way of telling an official what to correct.)
FORM_ERRORS_STATUS = 200
CENTRAL_STOCK = "QLCL"  # inventory's code for the blanks in QLCL's custody


def uuid_of(value: str) -> str:
    """An id from the path; anything else is a plain 404 page."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(404) from None


def page_router() -> APIRouter:
    return APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@dataclass
class Api:
    """The services, called with the signed-in user's token."""

    request: Request
    session: Session

    async def get(self, service: ServiceName, path: str, **params: Any) -> Any:
        return await portal(self.request).services.get_json(
            service, path, token=self.session.tokens.access_token, **params
        )

    async def send(
        self, service: ServiceName, method: str, path: str, *, json: Any = None, version: int | None = None, **kw: Any
    ) -> Any:
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        response = await portal(self.request).services.call(
            service, method, path, token=self.session.tokens.access_token, json=json, headers=headers, **kw
        )
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None


@dataclass
class FormErrors:
    """Errors of one form: shown as a summary at the top (links to the fields) and beside each field."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def summary(self) -> list[dict[str, str]]:
        items = [{"field": name, "message": message} for name, message in self.fields.items()]
        return items + [{"field": "", "message": m} for m in self.general]

    def from_problem(self, problem: ApiProblem, field_names: dict[str, str] | None = None) -> None:
        """Put a service's problem beside the field it names, else at the top."""
        message = i18n.problem_message(problem.code, problem.detail)
        placed = False
        for api_field, code in problem.field_errors().items():
            name = (field_names or {}).get(api_field, api_field)
            # a field's own code says more, where the catalogue has it (`invalid_characters`, `date_out_of_range`)
            self.add(name, message if code == problem.code else i18n.problem_message(code, message))
            placed = True
        if not placed:
            self.general.append(message)

    def context(self) -> dict[str, Any]:
        return {"errors": self.fields, "error_summary": self.summary()}


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def whole_number(value: str) -> int | None:
    """A positive whole number as officials type it (spaces and dots as thousands separators allowed)."""
    cleaned = value.replace(" ", "").replace(".", "").replace(",", "")
    if not cleaned.isdigit() or len(cleaned) > 15:
        return None
    return int(cleaned)


def has_control_chars(value: str) -> bool:
    return any(ord(c) < 32 and c not in "\r\n\t" for c in value)
