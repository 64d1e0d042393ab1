"""The portal app: the kit's runtime (database, identity events, health, metrics) plus the pages.

A backend-for-frontend: browsers talk only to the portal; it keeps each user's tokens in its own
database and calls the services with them. Pages are rendered on the server and work as plain forms;
the little JavaScript there is only improves them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app

from phoi_portal.handlers import handlers
from phoi_portal.settings import Settings
from phoi_portal.web import auth, pages
from phoi_portal.web.errors import LastResort, install_page_errors, unexpected_answer
from phoi_portal.web.locale import LocaleMiddleware
from phoi_portal.web.security import SecurityHeaders
from phoi_portal.web.state import PortalState

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    state = PortalState.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.aclose()

    spec = ServiceSpec(
        settings=settings,
        title="Portal",
        description="The officials' web interface (server-rendered pages).",
        routers=[auth.router, *pages.routers],
        topic=None,  # the portal publishes nothing of its own: the services record every action
        consume=[topics.IDENTITY],
        handlers=handlers(settings),
        lifespan=lifespan,
        unexpected_answer=unexpected_answer,
        # The pages check their own query parameters and put each error beside its field; what they pass
        # on, the services check.
        check_parameters=False,
    )
    app = create_service_app(spec)
    app.state.portal = state
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    install_page_errors(app)
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(SecurityHeaders, keycloak_url=settings.browser_keycloak_url, secure=settings.secure_cookies)
    app.add_middleware(LastResort)
    return app
