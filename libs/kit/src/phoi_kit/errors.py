"""Business errors that carry their HTTP status, rendered as RFC 9457 problem documents.

Raise a `Problem` (or a subclass) anywhere below the API layer; the kit's exception handlers turn it
into `application/problem+json` with a stable machine-readable `code`. Nothing else reaches the client:
an unexpected exception becomes a bare 500 `internal_error` with no internals in the body.
"""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, status: int | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra

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


class BadRequest(Problem):
    status = 400
    code = "bad_request"
    title = "Bad request"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(Problem):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class PreconditionFailed(Problem):
    status = 412
    code = "version_mismatch"
    title = "The resource changed since you read it"


class PreconditionRequired(Problem):
    status = 428
    code = "if_match_required"
    title = "Send If-Match with the version you read"


class PayloadTooLarge(Problem):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class Unprocessable(Problem):
    status = 422
    code = "validation_failed"
    title = "The request is not valid"


class ServiceUnavailable(Problem):
    status = 503
    code = "unavailable"
    title = "Temporarily unavailable"
