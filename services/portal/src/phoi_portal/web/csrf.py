"""CSRF protection for every state-changing form.

The token is an HMAC of the visitor's binding — the session id for a signed-in user, a random
`phoi_anon` cookie for someone not signed in — so it cannot be forged from another site and needs no
storage. Every POST must carry it in the `csrf_token` field; a missing or wrong one is refused (403)
before the handler runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

SESSION_COOKIE = "phoi_session"
ANON_COOKIE = "phoi_anon"


def binding(request: Request) -> str:
    return (
        request.cookies.get(SESSION_COOKIE)
        or request.cookies.get(ANON_COOKIE)
        or getattr(request.state, "anon_id", None)
        or ""
    )


def ensure_anon_id(request: Request) -> str:
    """The anonymous visitor's random id (set as a cookie by the security middleware when new)."""
    value = request.cookies.get(ANON_COOKIE)
    if not value:
        value = getattr(request.state, "anon_id", None) or secrets.token_urlsafe(24)
        request.state.anon_id = value
        request.state.set_anon_cookie = True
    else:
        request.state.anon_id = value
    return value


def csrf_token(request: Request) -> str:
    secret: str = request.app.state.portal.settings.secret_key
    bound = binding(request)
    if not bound:
        bound = ensure_anon_id(request)
    return hmac.new(secret.encode(), f"csrf:{bound}".encode(), hashlib.sha256).hexdigest()


def valid(request: Request, submitted: str | None) -> bool:
    if not submitted or not binding(request):
        return False
    return hmac.compare_digest(csrf_token(request), submitted)
