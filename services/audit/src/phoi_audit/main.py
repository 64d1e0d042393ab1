"""The audit service app: the kit's runtime plus the audit handlers and background tasks.

Two things are added around ``create_service_app`` (see the kit changes proposed in the docs of
``handlers.py`` and below):

- the consumer's handler table is made to answer every event type (``handlers.with_fallback``), so
  events of types the catalogue does not know yet are recorded too;
- the app's lifespan is wrapped to run the checkpoint and background-verification tasks
  (``AUDIT_CHECKPOINT_SECONDS``, ``AUDIT_VERIFY_SECONDS``) while the kit's runtime runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import KitRuntime, ServiceSpec, create_service_app

from phoi_audit.api import router
from phoi_audit.handlers import handlers, with_fallback
from phoi_audit.service.checkpoints import background_tasks
from phoi_audit.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    spec = ServiceSpec(
        settings=settings,
        title="Audit service",
        description="Tamper-evident, hash-chained record of every event: query, export, verify.",
        routers=[router],
        topic=topics.AUDIT,
        consume=[*topics.ALL],
        handlers=handlers(),
    )
    app = create_service_app(spec)
    runtime: KitRuntime = app.state.kit
    runtime.consumer.handlers = with_fallback(runtime.consumer.handlers)
    kit_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with kit_lifespan(app_):
            tasks: list[asyncio.Task[None]] = []
            if spec.run_background:
                tasks = background_tasks(
                    runtime.database,
                    source=runtime.source,
                    checkpoint_seconds=settings.checkpoint_seconds,
                    verify_seconds=settings.verify_seconds,
                    chunk=settings.stream_chunk_rows,
                )
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    app.router.lifespan_context = lifespan
    return app
