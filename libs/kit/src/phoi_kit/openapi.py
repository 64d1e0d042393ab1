"""The OpenAPI document tells what the services enforce.

Routes list the problems they answer with `responses=problem_responses(403, 404, 409)`. The kit adds what
it enforces itself, for every operation, when the document is generated (`install_openapi`):

- bearer-token security, and 401, on every operation that authenticates the caller;
- 422 `validation_failed` (not FastAPI's `HTTPValidationError`: the kit answers with a problem) on every
  operation that takes parameters or a body, and 400 `bad_request` where a body cannot be read at all;
- on query and path parameters, the rules of `phoi_kit.inputs` where the parameter states none: a
  `pattern` without control characters on text, `minimum` and `maximum` (±(2**53 - 1)) on integers;
- for `If-Match`: 400 `invalid_if_match` and 412 `version_mismatch`, and — where the header is required
  (`IfMatchRequired`, `IfMatchRequiredByService`) — `required: true` and 428 `if_match_required`.

Every problem is `application/problem+json` with the `Problem` schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from phoi_kit.errors import PROBLEM_JSON
from phoi_kit.inputs import declare_parameter_bounds
from phoi_kit.versioning import ETAG_PATTERN, REQUIRED_IF_MATCH

Responses = dict[int | str, dict[str, Any]]

PROBLEM_SCHEMA = "Problem"
BEARER = "bearer"

#: What each status means across the services; a route may say more with `notes`.
DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed request: an unreadable If-Match (`invalid_if_match`) or cursor (`invalid_cursor`)...",
    401: "No valid access token (`missing_token`, `invalid_token`, `token_revoked`).",
    403: "Your role may not do this (`role_required`, or the service's own code).",
    404: "Not found — or another unit's, so that existence does not leak.",
    409: "Conflicts with the current state (see `code`).",
    412: "If-Match is not the current version (`version_mismatch`).",
    413: "Too large.",
    415: "Unsupported media type.",
    422: "Not valid: `validation_failed` (with `errors`) or the service's own code.",
    428: "If-Match is missing (`if_match_required`).",
    429: "Too many requests (`rate_limited`); `Retry-After` says when to try again.",
    502: "An upstream system refused the change.",
    503: "Temporarily unavailable; retry later.",
}


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "lines", 0, "quantity"].')
    msg: str
    type: str


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document. Members beyond these carry the details of a `code` (the offending
    range, the current version...)."""

    model_config = ConfigDict(title=PROBLEM_SCHEMA, extra="allow")

    type: str = Field(description="URI naming the problem kind.")
    title: str = Field(description="Short summary of the kind, the same for every occurrence.")
    status: int = Field(description="The HTTP status.")
    code: str = Field(description="Stable machine-readable code, e.g. `version_mismatch`.")
    detail: str = Field(description="What happened, for a person.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[ValidationIssue] | None = Field(default=None, description="`validation_failed`: each issue.")


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}},
    }


def problem_responses(*statuses: int, notes: Mapping[int, str] | None = None) -> Responses:
    """FastAPI `responses=` for the problems an operation answers with, e.g. `problem_responses(403, 404)`;
    `notes` replaces the general description of a status with the operation's own."""
    notes = notes or {}
    return {status: problem_response(notes.get(status) or DESCRIPTIONS[status]) for status in statuses}


def install_openapi(app: FastAPI, *, authenticates: Callable[..., Any]) -> None:
    """Generate `app`'s document with what the kit enforces (see the module docstring); `authenticates`
    is the dependency that requires an access token."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            document_enforcement(schema, app.routes, authenticates=authenticates)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_enforcement(schema: dict[str, Any], routes: list[Any], *, authenticates: Callable[..., Any]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas[PROBLEM_SCHEMA] = problem
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, which the kit never sends
        schemas.pop(name, None)
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from the sign-in service.",
    }
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = set(_calls(route.dependant))
        path = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is not None:
                _document_operation(operation, calls, authenticates)


def _document_operation(operation: dict[str, Any], calls: set[Any], authenticates: Callable[..., Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    added: list[int] = []
    if authenticates in calls:
        operation["security"] = [{BEARER: []}]
        added.append(401)
    parameters: list[dict[str, Any]] = operation.get("parameters", [])
    for parameter in parameters:
        declare_parameter_bounds(parameter)
        if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
            parameter["schema"] = {"type": "string", "pattern": ETAG_PATTERN, "title": "If-Match"}
            added += [400, 412]
            if calls & REQUIRED_IF_MATCH:
                parameter["required"] = True
                added.append(428)
    if "requestBody" in operation:
        added.append(400)  # a body that cannot be read at all (not UTF-8, broken multipart)
    if parameters or "requestBody" in operation:
        if PROBLEM_JSON not in responses.get("422", {}).get("content", {}):
            responses.pop("422", None)  # FastAPI's default, `HTTPValidationError` as JSON: not what is sent
        added.append(422)
    for status, response in problem_responses(*added).items():
        responses.setdefault(str(status), response)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)
