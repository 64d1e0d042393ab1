"""What a user sees when something goes wrong: never a stack trace, always a way on.

- not signed in → to the sign-in page, then back where they were going;
- session ended by a service (account locked, handed over) → signed out, told why;
- a service's 4xx problem that no page handled → a page with the readable message;
- a service down or an unexpected error (`LastResort`) → a polite page with the reference id (the correlation id)
  that the help desk can find in the logs.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from phoi_kit.http import CORRELATION_HEADER
from phoi_kit.logging import correlation_id_var, get_logger
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoi_portal.adapters.services import ApiProblem, ServiceDown, SessionEnded
from phoi_portal.domain.session import hash_session_id
from phoi_portal.web import csrf, i18n
from phoi_portal.web.deps import CsrfRejected, LoginRequired, NotAllowed
from phoi_portal.web.templating import env, render

log = get_logger(__name__)


def login_redirect(next_path: str, reason: str | None = None) -> RedirectResponse:
    params = {"next": next_path}
    if reason:
        params["reason"] = reason
    return RedirectResponse(f"/login?{urlencode(params)}", status_code=303)


def install_page_errors(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def on_login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(exc.next_path, exc.reason)

    @app.exception_handler(SessionEnded)
    async def on_session_ended(request: Request, exc: SessionEnded) -> Response:
        cookie = request.cookies.get(csrf.SESSION_COOKIE)
        if cookie:
            from phoi_portal.adapters.sessions import SessionRepository

            async with request.app.state.kit.database.session() as db:
                await SessionRepository(db).remove(hash_session_id(cookie))
                await db.commit()
        response = RedirectResponse("/signed-out?reason=ended", status_code=303)
        response.delete_cookie(csrf.SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(NotAllowed)
    async def on_not_allowed(request: Request, exc: NotAllowed) -> Response:
        return render(request, "error.html", status_code=403, kind="forbidden")

    @app.exception_handler(CsrfRejected)
    async def on_csrf(request: Request, exc: CsrfRejected) -> Response:
        return render(request, "error.html", status_code=403, kind="csrf")

    @app.exception_handler(ApiProblem)
    async def on_problem(request: Request, exc: ApiProblem) -> Response:
        status = exc.status if exc.status in (403, 404, 409, 412, 422) else 400
        return render(request, "error.html", status_code=status, kind="problem", problem=exc)

    @app.exception_handler(ServiceDown)
    async def on_down(request: Request, exc: ServiceDown) -> Response:
        return render(request, "error.html", status_code=503, kind="down", reference=correlation_id_var.get())

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found" if exc.status_code == 404 else "bad_request"
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        headers = dict(exc.headers or {})
        return (
            render(request, "error.html", status_code=status, kind=kind)
            if not headers
            else _with(render(request, "error.html", status_code=status, kind=kind), headers)
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "error.html", status_code=400, kind="bad_request")


class LastResort:
    """Outermost: an unexpected error becomes the polite page with its reference, and the connection
    stays open (Starlette's own last handler re-raises, which drops it). Errors inside the kit's layer
    are answered there, with the same page (`unexpected_answer`); this one catches the portal's own
    middleware's. The reference is the request's
    correlation id, set here when the browser sent none, so the logs and the page name the same one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reference = next((v.decode() for k, v in scope["headers"] if k == CORRELATION_HEADER.lower().encode()), "")
        if not reference:
            reference = str(uuid.uuid4())
            scope["headers"] = [*scope["headers"], (CORRELATION_HEADER.lower().encode(), reference.encode())]
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.error("unexpected error", error=repr(exc), exc_info=exc, correlation_id=reference)
            if started:
                raise
            await unexpected_page(reference)(scope, receive, send)


def unexpected_page(reference: str) -> HTMLResponse:
    """The polite page for an unexpected error, naming its reference (the correlation id)."""
    html = env.get_template("error.html").render(
        request=None,
        user=None,
        csrf_token="",
        locale=i18n.locale_var.get(),
        path="",
        errors={},
        error_summary=[],
        form={},
        notice=None,
        kind="unexpected",
        reference=reference,
    )
    return HTMLResponse(html, status_code=500, headers={CORRELATION_HEADER: reference})


def unexpected_answer(request: Request, exc: Exception) -> Response:
    """The kit's last resort, in the portal (`ServiceSpec.unexpected_answer`): the same page, not a
    problem document — the kit has logged the error and set the request's correlation id."""
    return unexpected_page(correlation_id_var.get() or "")


def _with(response: Response, headers: dict[str, str]) -> Response:
    for name, value in headers.items():
        response.headers[name] = value
    return response
