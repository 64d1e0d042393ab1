"""HTTP plumbing shared by every service: correlation ids, metrics, problem+json errors, health."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import structlog
from asyncpg.exceptions import CharacterNotInRepertoireError, UntranslatableCharacterError
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoi_kit.db import DATABASE_ERRORS, database_unreachable
from phoi_kit.errors import (
    PROBLEM_JSON,
    DomainError,
    Problem,
    ServiceUnavailable,
    Unprocessable,
    check_error_map,
    problem_from,
    status_of,
)
from phoi_kit.logging import correlation_id_var, get_logger
from phoi_kit.metrics import HTTP_DURATION, HTTP_REQUESTS

if TYPE_CHECKING:
    from phoi_kit.app import KitRuntime

log = get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
INTERNAL_ERROR = "Something went wrong on our side. It has been logged."


def problem_response(problem: Problem, request: Request, headers: Mapping[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="phoi"'
    elif problem.status == 503:
        headers["Retry-After"] = "5"  # a dependency is down for now: worth retrying soon
    elif problem.status == 429:
        headers["Retry-After"] = str(int(problem.extra.get("retry_after") or 60))
    return JSONResponse(
        problem.to_body(instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def allowed_methods(request: Request) -> str:
    """The methods the request's path answers to, across every route on it (for a 405's `Allow`)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def unstorable_text(exc: BaseException) -> bool:
    """PostgreSQL refuses NUL in text, and UTF-8 a lone surrogate: input that got past validation, not a
    fault of ours, so a 422 rather than a 500."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnicodeEncodeError | CharacterNotInRepertoireError | UntranslatableCharacterError):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def database_unavailable(request: Request, exc: Exception) -> Response:
    """503 `database_unavailable` (with Retry-After): PostgreSQL restarting or gone for a moment."""
    log.warning("database unavailable", path=request.url.path, error=repr(exc))
    unavailable = ServiceUnavailable(
        "The database cannot be reached right now. Try again in a moment.", code="database_unavailable"
    )
    return problem_response(unavailable, request)


def internal_error(request: Request, exc: Exception) -> Response:
    """The default answer to an unexpected exception: a bare 500 problem (what went wrong is logged, not
    sent) — or 422 `invalid_characters` for text PostgreSQL cannot store that got past validation, or 503
    when the database cannot be reached."""
    if database_unreachable(exc):
        return database_unavailable(request, exc)
    if unstorable_text(exc):
        refused = Unprocessable(
            "The text contains characters that cannot be stored (NUL, or a lone surrogate).",
            code="invalid_characters",
        )
        return problem_response(refused, request)
    # The correlation id is the reference the help desk finds the logged error by.
    problem = Problem(INTERNAL_ERROR, code="internal_error", status=500, correlation_id=correlation_id_var.get())
    return problem_response(problem, request)


#: Answers an exception nothing else handled (`ServiceSpec.unexpected_answer`; default `internal_error`).
UnexpectedAnswer = Callable[[Request, Exception], Response]


class KitHttp:
    """The kit's outermost layer, plain ASGI: the correlation id (taken from the request or made, bound to
    the logs, sent back on every answer), the request metrics, and the last resort — an exception that
    no handler answered is logged and answered here (`unexpected`), with the correlation id.

    Starlette's own last handler (`ServerErrorMiddleware`) sends its 500 and then re-raises, so the
    server closes the connection; and an exception crossing `BaseHTTPMiddleware` skips the code after
    `call_next`, so the 500 lost its correlation id. Here nothing is re-raised unless the answer had already
    begun (a broken stream can only be cut)."""

    def __init__(self, app: ASGIApp, *, service: str, unexpected: UnexpectedAnswer) -> None:
        self.app = app
        self.service = service
        self.unexpected = unexpected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        cid = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        token = correlation_id_var.set(cid)
        structlog.contextvars.bind_contextvars(correlation_id=cid)
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.exception("unhandled error", path=request.url.path)
            if started:
                raise
            await self.unexpected(request, exc)(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, request.method, template, str(status)).inc()
            HTTP_DURATION.labels(self.service, request.method, template).observe(time.perf_counter() - start)
            structlog.contextvars.unbind_contextvars("correlation_id")
            correlation_id_var.reset(token)


def install_http(app: FastAPI, runtime: KitRuntime) -> None:
    app.add_middleware(
        KitHttp, service=runtime.settings.service_name, unexpected=runtime.spec.unexpected_answer or internal_error
    )

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return await answer_problem(runtime, request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        problem = Problem("Some fields are missing or not valid.", code="validation_failed", status=422, errors=errors)
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        problem = Problem(str(exc.detail), code=code, status=exc.status_code)
        headers = {"Allow": allowed_methods(request)} if exc.status_code == 405 else None
        return problem_response(problem, request, headers)

    # A database that cannot be reached (a restart, a crash) is answered by class: not a bug, over soon, and
    # one warning per request rather than a traceback. Any other database error is the last resort's.
    async def on_database_error(request: Request, exc: Exception) -> Response:
        if database_unreachable(exc):
            return database_unavailable(request, exc)
        log.exception("unhandled error", path=request.url.path)
        return internal_error(request, exc)

    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, on_database_error)

    install_error_map(app, runtime)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        await runtime.refresh_gauges()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def answer_problem(runtime: KitRuntime, request: Request, problem: Problem) -> JSONResponse:
    if problem.status == 403:
        await runtime.record_access_denied(request, problem)
    return problem_response(problem, request)


def install_error_map(app: FastAPI, runtime: KitRuntime) -> None:
    """The service's domain errors (`ServiceSpec.error_map`) answered as problems, like a raised `Problem`
    (so a 403 is recorded too). One handler per class: Starlette picks the most specific one."""
    error_map = runtime.spec.error_map
    check_error_map(error_map)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(error_map, exc) or 500
        if status == 500 or not isinstance(exc, DomainError):
            log.error("domain error answered as 500", path=request.url.path, error=repr(exc))
            problem = Problem(INTERNAL_ERROR, code="internal_error", status=500)
        else:
            problem = problem_from(exc, status)
        return await answer_problem(runtime, request, problem)

    for error_class in error_map:
        app.add_exception_handler(error_class, on_domain_error)
