"""Page dependencies: the signed-in session (refreshed, expired or ended), roles, CSRF on every POST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from phoi_kit.auth import Role

from phoi_portal.adapters.oidc import OidcError
from phoi_portal.adapters.sessions import SessionRepository
from phoi_portal.domain.session import Session, hash_session_id
from phoi_portal.web import csrf
from phoi_portal.web.state import kit, portal

TOUCH_EVERY = timedelta(seconds=60)  # last-seen is written at most once a minute per session


class LoginRequired(Exception):
    def __init__(self, next_path: str, reason: str | None = None) -> None:
        self.next_path = next_path
        self.reason = reason


class NotAllowed(Exception):
    """The signed-in role has no business on this page."""


class CsrfRejected(Exception):
    pass


async def load_session(request: Request) -> Session | None:
    """The valid session behind the cookie, refreshed if its access token is about to expire."""
    cookie = request.cookies.get(csrf.SESSION_COOKIE)
    if not cookie:
        return None
    state, runtime = portal(request), kit(request)
    now = datetime.now(UTC)
    async with runtime.database.session() as db:
        repo = SessionRepository(db)
        session = await repo.get(hash_session_id(cookie))
        if session is None:
            return None
        if session.expired(now, state.lifetime):
            await repo.remove(session.id_hash)
            await db.commit()
            return None
        if session.needs_refresh(now, state.lifetime):
            session = await _refreshed(repo, session, request)
            if session is None:
                await db.commit()
                return None
        if now - session.last_seen_at > TOUCH_EVERY:
            await repo.touch(session.id_hash, now)
        await db.commit()
    request.state.portal_session = session
    return session


async def _refreshed(repo: SessionRepository, session: Session, request: Request) -> Session | None:
    state = portal(request)
    if not session.tokens.refresh_token:
        await repo.remove(session.id_hash)
        return None
    try:
        tokens = await state.oidc.refresh(session.tokens.refresh_token)
    except OidcError:
        await repo.remove(session.id_hash)
        return None
    await repo.store_tokens(session.id_hash, tokens)
    return session.with_tokens(tokens)


async def require_session(request: Request) -> Session:
    session = await load_session(request)
    if session is None:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(next_path if request.method == "GET" else "/")
    return session


SignedIn = Annotated[Session, Depends(require_session)]


def role(*roles: Role) -> object:
    async def check(session: SignedIn) -> Session:
        if not any(session.has(r) for r in roles):
            raise NotAllowed
        return session

    return Depends(check)


async def csrf_protect(request: Request) -> None:
    """Router-wide: every POST carries a valid CSRF token, checked before the handler runs."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    submitted = form.get("csrf_token")
    if not csrf.valid(request, submitted if isinstance(submitted, str) else None):
        raise CsrfRejected


UnitSession = Annotated[Session, role(Role.UNIT_ACCOUNT)]
