"""The identity service app: the kit's runtime plus the directory over Keycloak.

Its own lifespan sets the login-event high-water mark, runs the login-event poller and the periodic
reconciliation (unless the spec's ``run_background`` is off, as in the rolled-back test tier), and closes
the Keycloak admin client at shutdown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import KitRuntime, ServiceSpec, create_service_app
from phoi_kit.background import running

from phoi_identity.api import errors, router
from phoi_identity.service import background, sign_in
from phoi_identity.service.context import IdentityContext
from phoi_identity.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx: IdentityContext = app.state.identity
        runtime: KitRuntime = app.state.kit
        try:
            await sign_in.init_cursor(ctx)
            async with running(*(background.jobs(ctx) if runtime.spec.run_background else [])):
                yield
        finally:
            await ctx.keycloak.aclose()

    spec = ServiceSpec(
        settings=settings,
        title="Identity service",
        description="Units, accounts, handover and access incidents (Decision 2699 Article 8) over Keycloak.",
        routers=[router],
        topic=topics.IDENTITY,
        consume=[],
        lifespan=lifespan,
        error_map=errors.ERROR_MAP,
    )
    app = create_service_app(spec)
    runtime: KitRuntime = app.state.kit
    app.state.identity = IdentityContext.build(settings, runtime.database, runtime.source)
    return app
