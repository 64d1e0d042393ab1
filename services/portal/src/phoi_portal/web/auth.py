"""Signing in and out: authorization code + PKCE against Keycloak, tokens kept server-side.

The PKCE verifier, state and nonce travel in a signed, short-lived, HttpOnly cookie between /login and
the callback (they are single-use and not tokens); the tokens themselves only ever live in the
`portal_sessions` row. Signing out ends the Keycloak session too (RP-initiated logout).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature
from phoi_kit.auth import user_from_claims
from phoi_kit.errors import Unauthorized
from phoi_kit.logging import get_logger

from phoi_portal.adapters.oidc import LoginStart, OidcError
from phoi_portal.adapters.sessions import SessionRepository
from phoi_portal.domain.session import Session, hash_session_id, new_session_id
from phoi_portal.web import csrf, i18n
from phoi_portal.web.deps import SignedIn, csrf_protect, load_session
from phoi_portal.web.state import kit, portal
from phoi_portal.web.templating import render

log = get_logger(__name__)
router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

LOGIN_COOKIE = "phoi_login"
LOGIN_COOKIE_SECONDS = 600


def safe_next(value: str | None) -> str:
    """Only paths of this site: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _to_keycloak(request: Request, start: LoginStart, next_path: str) -> RedirectResponse:
    state = portal(request)
    cookie = state.login_state.dumps(
        {"state": start.state, "nonce": start.nonce, "verifier": start.code_verifier, "next": next_path}
    )
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=LOGIN_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/auth",
    )
    return response


@router.get("/login")
async def login(request: Request, next: str | None = None) -> Response:
    if await load_session(request):
        return RedirectResponse(safe_next(next), status_code=303)
    start = portal(request).oidc.start(locale=i18n.locale_var.get())
    return _to_keycloak(request, start, safe_next(next))


@router.get("/auth/callback")
async def callback(
    request: Request, code: str | None = None, state: str | None = None, error: str | None = None
) -> Response:
    pending = _pending_login(request)
    if error or not code or not state or pending is None or pending["state"] != state:
        log.info("sign-in not completed", error=error, has_pending=pending is not None)
        return render(request, "error.html", status_code=400, kind="login_failed")
    portal_state = portal(request)
    try:
        tokens = await portal_state.oidc.exchange(code, pending["verifier"])
        claims = await kit(request).validator.validate(tokens.access_token)
        id_claims = await portal_state.id_tokens.validate(tokens.id_token or "")
    except (OidcError, Unauthorized) as exc:
        log.warning("sign-in refused", error=repr(exc))
        return render(request, "error.html", status_code=400, kind="login_failed")
    if id_claims.get("nonce") != pending["nonce"]:
        return render(request, "error.html", status_code=400, kind="login_failed")
    user = user_from_claims(claims)
    session_id = new_session_id()
    now = datetime.now(UTC)
    session = Session(
        id_hash=hash_session_id(session_id),
        user_id=user.user_id,
        username=user.username,
        full_name=vietnamese_name(id_claims) or vietnamese_name(claims) or user.username,
        unit_code=user.unit_code,
        roles=frozenset(r.value for r in user.roles),
        tokens=tokens,
        created_at=now,
        last_seen_at=now,
    )
    async with kit(request).database.session() as db:
        await SessionRepository(db).add(session)
        await db.commit()
    log.info("signed in", user_id=user.user_id, username=user.username)
    response = RedirectResponse(safe_next(pending.get("next")), status_code=303)
    response.set_cookie(
        csrf.SESSION_COOKIE,
        session_id,
        max_age=int(portal_state.lifetime.absolute.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=portal_state.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    return response


def vietnamese_name(claims: dict[str, Any]) -> str:
    """Family name first, as Vietnamese names are written (Keycloak's `name` is given name first)."""
    family, given = str(claims.get("family_name") or ""), str(claims.get("given_name") or "")
    return f"{family} {given}".strip() or str(claims.get("name") or "")


def _pending_login(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(LOGIN_COOKIE)
    if not raw:
        return None
    try:
        value = portal(request).login_state.loads(raw, max_age=LOGIN_COOKIE_SECONDS)
    except BadSignature:
        return None
    return value if isinstance(value, dict) else None


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = await load_session(request)
    state = portal(request)
    target = f"{state.settings.public_url.rstrip('/')}/signed-out"
    if session is not None:
        async with kit(request).database.session() as db:
            await SessionRepository(db).remove(session.id_hash)
            await db.commit()
        target = state.oidc.end_session_url(session.tokens.id_token, target)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(csrf.SESSION_COOKIE, path="/")
    return response


@router.get("/signed-out")
async def signed_out(request: Request, reason: str | None = None) -> Response:
    return render(request, "signed_out.html", reason=reason if reason in ("ended", "reported") else None)


@router.post("/language")
async def choose_language(request: Request, locale: str = Form(...), next: str = Form("/")) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if locale in i18n.LOCALES:
        response.set_cookie(
            "phoi_lang",
            locale,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=portal(request).settings.secure_cookies,
            path="/",
        )
    return response


@router.get("/account/password")
async def change_password(request: Request, session: SignedIn) -> Response:
    """Keycloak's own update-password page (the password never passes through the portal)."""
    start = portal(request).oidc.action_url("UPDATE_PASSWORD", locale=i18n.locale_var.get())
    return _to_keycloak(request, start, "/account?done=password")
