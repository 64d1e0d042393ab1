"""The audit service app: the kit's runtime plus the audit handlers, checkpoints and verification.

- Every event type has a handler (``handlers.handlers(settings)``), and the fallback handler records events of
  types the catalogue does not know yet. The kit's token revocation still runs for account events.
- The service's lifespan (the kit's hook) runs the checkpoint job (``AUDIT_CHECKPOINT_SECONDS``) and the background
  full verification (``AUDIT_VERIFY_SECONDS``); the head sequence gauge is refreshed on scrape.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import KitRuntime, ServiceSpec, create_service_app
from phoi_kit.background import running

from phoi_audit.api import router
from phoi_audit.api.errors import ERROR_MAP
from phoi_audit.handlers import handlers, on_event
from phoi_audit.service.checkpoints import jobs, refresh_gauges
from phoi_audit.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime: KitRuntime = app.state.kit
        background = (
            jobs(
                runtime.database,
                source=runtime.source,
                checkpoint_seconds=settings.checkpoint_seconds,
                verify_seconds=settings.verify_seconds,
                chunk=settings.stream_chunk_rows,
            )
            if runtime.spec.run_background
            else []
        )
        async with running(*background):
            yield

    spec = ServiceSpec(
        settings=settings,
        title="Audit service",
        description="Tamper-evident, hash-chained record of every event: query, export, verify.",
        routers=[router],
        topic=topics.AUDIT,
        consume=[*topics.ALL],
        handlers=handlers(settings),
        fallback_handler=on_event,  # types the catalogue does not know yet are recorded too
        lifespan=lifespan,
        gauges=refresh_gauges,
        error_map=ERROR_MAP,
    )
    return create_service_app(spec)
