"""Domain errors → problem documents: the one place where the identity service's errors get their
HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from phoi_kit.errors import Problem
from phoi_kit.http import problem_response

from phoi_identity.domain.errors import IdentityError

STATUS = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "precondition": 412,
    "unavailable": 503,
    "upstream": 502,
    "rate_limited": 429,
}


RESERVED = frozenset({"type", "title", "status", "code", "detail", "instance"})


def to_problem(error: IdentityError) -> Problem:
    extra = {(f"{k}_value" if k in RESERVED else k): v for k, v in error.details.items()}
    problem = Problem(error.message, code=error.code, status=STATUS.get(error.kind, 400), **extra)
    problem.title = {
        404: "Not found",
        409: "Conflict with the current state",
        412: "The resource changed since you read it",
        422: "The request is not valid",
        429: "Too many requests",
        502: "The sign-in service refused the change",
        503: "Temporarily unavailable",
    }.get(problem.status, "Bad request")
    return problem


def install(app: FastAPI) -> None:
    async def on_identity_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IdentityError)
        response = problem_response(to_problem(exc), request)
        if exc.kind == "unavailable":
            response.headers["Retry-After"] = "5"
        elif exc.kind == "rate_limited":
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    app.add_exception_handler(IdentityError, on_identity_error)
