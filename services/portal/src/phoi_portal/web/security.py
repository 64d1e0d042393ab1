"""Security headers on every answer (pure ASGI middleware: no per-request task overhead).

Strict CSP: scripts, styles, fonts and images only from the portal itself, no inline script; forms
may post only to the portal and Keycloak (logout and sign-in redirect through it); no framing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoi_portal.web.csrf import ANON_COOKIE


def content_security_policy(keycloak_url: str) -> str:
    parts = urlsplit(keycloak_url)
    keycloak_origin = f"{parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action 'self' {keycloak_origin}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, keycloak_url: str, secure: bool) -> None:
        self.app = app
        self.secure = secure
        headers = [
            (b"content-security-policy", content_security_policy(keycloak_url).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if secure:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # An answer that set its own, stricter CSP (a letter shown inline) keeps it alone.
                own_csp = any(name.lower() == b"content-security-policy" for name, _ in headers)
                headers.extend(h for h in self.headers if not (own_csp and h[0] == b"content-security-policy"))
                state = scope.get("state") or {}
                if state.get("set_anon_cookie") and state.get("anon_id"):
                    headers.append((b"set-cookie", anon_cookie(state["anon_id"], self.secure).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def anon_cookie(value: str, secure: bool) -> str:
    flags = "; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400"
    return f"{ANON_COOKIE}={value}{flags}{'; Secure' if secure else ''}"
