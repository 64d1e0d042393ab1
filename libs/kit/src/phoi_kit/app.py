"""Build a service: FastAPI app + database + outbox relay + event consumer + token validation.

Every service's `main.py` is a `ServiceSpec` handed to `create_service_app`. The runtime's lifespan
starts the relay, the consumer and the revocation listener, and stops them cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from phoi_contracts import topics as topic_names
from phoi_contracts.envelope import SYSTEM_ACTOR, Envelope

from phoi_kit import refusals, revocation
from phoi_kit.auth import (
    REVOCATIONS_CHANNEL,
    CurrentUser,
    RevocationList,
    TokenValidator,
    user_from_claims,
)
from phoi_kit.background import every
from phoi_kit.consumer import EventConsumer, Handler
from phoi_kit.db import Database
from phoi_kit.errors import ErrorMap, Problem, Unauthorized
from phoi_kit.http import UnexpectedAnswer, install_http
from phoi_kit.inputs import check_body_models, check_parameters
from phoi_kit.kafka import broker_reachable
from phoi_kit.logging import configure_logging, correlation_id_var, get_logger
from phoi_kit.openapi import install_openapi
from phoi_kit.outbox import OutboxRelay
from phoi_kit.pglisten import PgListener
from phoi_kit.settings import ServiceSettings
from phoi_kit.uow import UnitOfWork

log = get_logger(__name__)


@dataclass
class ServiceSpec:
    settings: ServiceSettings
    title: str
    description: str = ""
    routers: Sequence[APIRouter] = ()
    topic: str | None = None  # the topic this service publishes to (for its access-denied events)
    consume: Sequence[str] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # The service's domain errors → HTTP status, the one place they get one (`phoi_kit.errors.ErrorMap`).
    error_map: ErrorMap = field(default_factory=dict)
    # Runs for event types without a handler (the audit log records everything); default: skip them.
    fallback_handler: Handler | None = None
    run_background: bool = True
    # The service's own startup/shutdown, entered after the kit's runtime started (database, relay,
    # consumer) and left before it stops: background jobs, clients to close.
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None
    # Refreshes the service's own gauges right before each /metrics scrape (keep it one cheap query).
    gauges: Callable[[Database], Awaitable[None]] | None = None
    # The answer to an exception nothing handled (the portal's is a page); default: 500 `internal_error`.
    unexpected_answer: UnexpectedAnswer | None = None
    # Query and path parameters refused by the kit's rules (`phoi_kit.inputs.check_parameters`) as a 422.
    # Off only for the portal: its pages check their own filters, to put each error beside its field.
    check_parameters: bool = True


class KitRuntime:
    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.settings = spec.settings
        self.source = f"/phoi/{self.settings.service_name}"
        self.database = Database(self.settings.database_url, pool_size=self.settings.db_pool_size)
        self.validator = TokenValidator(
            issuer=self.settings.issuer,
            jwks_url=self.settings.jwks_url,
            audience=self.settings.token_audience,
        )
        self.revocations = RevocationList(self.database)
        self.relay = OutboxRelay(
            self.database,
            service=self.settings.service_name,
            kafka=self.settings.kafka,
            batch_size=self.settings.outbox_batch_size,
            poll_seconds=self.settings.outbox_poll_seconds,
            retention=timedelta(days=self.settings.outbox_retention_days),
            topic_prefix=self.settings.topic_prefix,
        )
        handlers = compose_handlers(revocation.handlers(), spec.handlers)
        topics = sorted(self.settings.topic_prefix + t for t in {*spec.consume, topic_names.IDENTITY})
        self.consumer = EventConsumer(
            self.database,
            service=self.settings.service_name,
            kafka=self.settings.kafka,
            group_id=self.settings.consumer_group,
            topics=topics,
            handlers=handlers,
            max_attempts=self.settings.consumer_max_attempts,
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=self.settings.consumer_heartbeat_interval_ms,
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
            after_commit=revocation.after_commit(self.revocations),
            fallback=spec.fallback_handler,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._reloads: set[asyncio.Task[None]] = set()
        self._listener = PgListener(self.database.url, {REVOCATIONS_CHANNEL: self._on_revocation})
        self._broker_ok: tuple[float, bool] = (0.0, False)

    def _on_revocation(self) -> None:
        reload = asyncio.create_task(self.revocations.reload())
        self._reloads.add(reload)  # keep a reference until done, then let it go
        reload.add_done_callback(self._reloads.discard)

    async def start(self) -> None:
        await self.revocations.reload()
        await self._listener.connect()
        if self.spec.run_background:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
            self._tasks.append(asyncio.create_task(self.consumer.run(), name="consumer"))
            self._tasks.append(asyncio.create_task(self._keep_listening(), name="revocation-listener"))
            sweep = every(self.settings.access_denied_sweep_seconds, "refusal-windows", self.close_refusal_windows)
            self._tasks.append(asyncio.create_task(sweep, name="refusal-windows"))

    async def _keep_listening(self) -> None:
        while True:
            await self._listener.lost.wait()
            with contextlib.suppress(Exception):
                await self._listener.connect()
                await self.revocations.reload()
            await asyncio.sleep(1)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._listener.close()
        await self.validator.aclose()
        await self.database.dispose()

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.database.ping(), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        loop = asyncio.get_running_loop()
        checked_at, ok = self._broker_ok
        if loop.time() - checked_at > 5:
            ok = await broker_reachable(self.settings.kafka)
            self._broker_ok = (loop.time(), ok)
        checks["broker"] = "ok" if ok else "error: unreachable"
        return checks

    async def refresh_gauges(self) -> None:
        """The service's gauges, read on scrape. A failure is logged: a scrape never fails for it."""
        if self.spec.gauges is None:
            return
        try:
            await self.spec.gauges(self.database)
        except Exception as exc:
            log.warning("could not refresh gauges", error=repr(exc))

    async def record_access_denied(self, request: Request, problem: Problem) -> None:
        """Every refusal is evidence: counted, and published one by one up to a burst per caller and
        window, then summarised (`phoi_kit.refusals`). Own transaction: the request's was rolled back."""
        user: CurrentUser | None = getattr(request.state, "user", None)
        refusal = refusals.Refusal(
            service=self.settings.service_name,
            method=request.method,
            path=request.url.path,
            reason=problem.code,
            user=user,
            ip_address=request.client.host if request.client else None,
        )
        limits = refusals.RefusalLimits(
            burst=self.settings.access_denied_burst, window_seconds=self.settings.access_denied_window_seconds
        )
        try:
            async with self.database.session() as session:
                uow = UnitOfWork(
                    session,
                    source=self.source,
                    actor=user.actor if user else SYSTEM_ACTOR,
                    correlation_id=correlation_id_var.get(),
                )
                await refusals.count_refusal(uow, refusal, limits, topic=self.spec.topic)
                await uow.commit()
        except Exception as exc:  # never turn a 403 into a 500
            log.error("could not record access denial", error=repr(exc))

    async def close_refusal_windows(self) -> int:
        """Publish the summaries of the refusal windows that have closed (any replica may; each once)."""
        async with self.database.session() as session:
            uow = UnitOfWork(session, source=self.source, actor=SYSTEM_ACTOR)
            published = await refusals.close_windows(uow, service=self.settings.service_name, topic=self.spec.topic)
            await uow.commit()
        return published


def compose_handlers(kit: Mapping[str, Handler], service: Mapping[str, Handler]) -> dict[str, Handler]:
    """The kit's handlers (token revocation) and the service's; where both handle a type, both run, the
    kit's first, in the same transaction — a service handling `account.locked` keeps revocation."""
    composed = {**kit, **service}
    for event_type in kit.keys() & service.keys():
        first, then = kit[event_type], service[event_type]

        async def both(uow: UnitOfWork, envelope: Envelope, first: Handler = first, then: Handler = then) -> None:
            await first(uow, envelope)
            await then(uow, envelope)

        composed[event_type] = both
    return composed


def runtime_of(request: Request) -> KitRuntime:
    runtime: KitRuntime = request.app.state.kit
    return runtime


async def current_user(request: Request) -> CurrentUser:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Sign in first: send an access token.", code="missing_token")
    runtime = runtime_of(request)
    user = user_from_claims(await runtime.validator.validate(token.strip()))
    if runtime.revocations.is_revoked(user):
        raise Unauthorized("This session was ended. Sign in again.", code="token_revoked")
    request.state.user = user
    return user


# Reads see one snapshot of the database (`Database.session`); writes keep READ COMMITTED with row locks.
SAFE_METHODS = frozenset({"GET", "HEAD"})


async def unit_of_work(
    request: Request, user: Annotated[CurrentUser, Depends(current_user)]
) -> AsyncIterator[UnitOfWork]:
    """The request's one transaction. It commits here, once, after the endpoint returned."""
    runtime = runtime_of(request)
    async with runtime.database.session(snapshot=request.method in SAFE_METHODS) as session:
        uow = UnitOfWork(session, source=runtime.source, actor=user.actor, correlation_id=correlation_id_var.get())
        try:
            yield uow
            await uow.commit()
        except BaseException:
            await uow.rollback()
            raise


User = Annotated[CurrentUser, Depends(current_user)]
UoW = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]


whoami = APIRouter(prefix="/api/v1", tags=["session"])


@whoami.get("/me", summary="Who the access token says you are")
async def me(user: User) -> dict[str, object]:
    return {
        "user_id": user.user_id,
        "username": user.username,
        "roles": sorted(user.roles),
        "unit_code": user.unit_code,
    }


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    runtime = KitRuntime(spec)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        log.info("service started", port=settings.port)
        try:
            if spec.lifespan is None:
                yield
            else:
                async with spec.lifespan(_app):
                    yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # Query and path parameters: text PostgreSQL can store, integers it can hold (`phoi_kit.inputs`).
        dependencies=[Depends(check_parameters)] if spec.check_parameters else [],
    )
    app.state.kit = runtime
    install_http(app, runtime)
    install_openapi(app, authenticates=current_user)
    app.include_router(whoami)
    for router in spec.routers:
        app.include_router(router)
    check_body_models(app.routes)
    return app
