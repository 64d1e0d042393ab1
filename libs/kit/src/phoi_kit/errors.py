"""Problem documents (RFC 9457), and how a service's domain errors become them.

Two kinds of errors reach the client:

- `Problem`s (and subclasses), raised by the API layer and the kit: they carry their HTTP status.
- A service's domain errors, which carry no HTTP status: each has a stable ``code``, its message is the
  ``detail``, and ``details()`` gives JSON-ready extra members (the `DomainError` shape). The service
  registers one `ErrorMap` in its `ServiceSpec` (``error_map={NotFoundError: 404, ...}``, kept in its
  ``api/errors.py``); the kit installs one exception handler per class, and the most specific class of an
  error decides its status. A status of 500 is never explained to the client: it is logged.

Either way the client gets ``application/problem+json`` with a stable machine-readable ``code`` and a
``title`` that belongs to the status (`title_for`). Nothing else reaches the client: a database out of
reach is a 503 ``database_unavailable`` (`phoi_kit.db.database_unreachable`), any other unexpected
exception a bare 500 ``internal_error`` with no internals in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar, Protocol, runtime_checkable

PROBLEM_JSON = "application/problem+json"

#: The title of every problem with this status (RFC 9457: a short summary that does not change).
TITLES: Mapping[int, str] = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    412: "The resource changed since you read it",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "The request is not valid",
    428: "Send If-Match with the version you read",
    500: "Internal error",
    502: "An upstream service failed",
    503: "Temporarily unavailable",
}

#: Members of a problem document a domain error's details may not overwrite (they are renamed `<key>_value`).
RESERVED_MEMBERS = frozenset({"type", "title", "status", "code", "detail", "instance"})


def title_for(status: int) -> str:
    """The title of a problem with this status: ours, else the standard reason phrase."""
    if status in TITLES:
        return TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Problem(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, status: int | None = None, **extra: Any
    ) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail or self.title
        super().__init__(self.detail)
        self.extra = extra

    @property
    def title(self) -> str:
        return title_for(self.status)

    def to_body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://phoi.moet.gov.vn/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


@runtime_checkable
class DomainError(Protocol):
    """What the kit reads from a domain error: ``code``, ``str(error)`` (the detail) and ``details()``."""

    code: ClassVar[str]

    def details(self) -> Mapping[str, object]: ...


#: A service's domain error classes → the HTTP status of each (and of its subclasses, unless listed too).
ErrorMap = Mapping[type[Exception], int]


def status_of(error_map: ErrorMap, error: BaseException) -> int | None:
    """The status of the most specific class of ``error`` in the map; None if none is listed."""
    for cls in type(error).__mro__:
        if cls in error_map:
            return error_map[cls]
    return None


def check_error_map(error_map: ErrorMap) -> None:
    """Refuse, at start-up, a map naming a class the kit cannot render or a status that is not an error."""
    for cls, status in error_map.items():
        if not (isinstance(getattr(cls, "code", None), str) and callable(getattr(cls, "details", None))):
            raise TypeError(f"{cls.__name__} is not a domain error: it needs a `code` and `details()`")
        if not 400 <= status <= 599:
            raise ValueError(f"{cls.__name__} maps to {status}, not an error status")


def problem_from(error: DomainError, status: int) -> Problem:
    """The problem document of a domain error answered with ``status`` (details become extra members)."""
    extra = {(f"{k}_value" if k in RESERVED_MEMBERS else k): v for k, v in error.details().items()}
    return Problem(str(error), code=error.code, status=status, **extra)


class BadRequest(Problem):
    status = 400
    code = "bad_request"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"


class Forbidden(Problem):
    status = 403
    code = "forbidden"


class NotFound(Problem):
    status = 404
    code = "not_found"


class Conflict(Problem):
    status = 409
    code = "conflict"


class PreconditionFailed(Problem):
    status = 412
    code = "version_mismatch"


class PreconditionRequired(Problem):
    status = 428
    code = "if_match_required"


class PayloadTooLarge(Problem):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(Problem):
    status = 422
    code = "validation_failed"


class ServiceUnavailable(Problem):
    status = 503
    code = "unavailable"
