"""Sets the request's language from the remembered choice (cookie `phoi_lang`), Vietnamese otherwise."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from phoi_portal.web import i18n

LANG_COOKIE = "phoi_lang"


class LocaleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = None
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                jar: SimpleCookie = SimpleCookie()
                jar.load(value.decode("latin-1"))
                if LANG_COOKIE in jar:
                    chosen = jar[LANG_COOKIE].value
        token = i18n.locale_var.set(i18n.pick_locale(chosen, None))
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.locale_var.reset(token)
