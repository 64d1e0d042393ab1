"""Async SQLAlchemy engine and sessions, plus the tables every service carries for the kit.

A service's ORM base uses `service_metadata()`, which puts the kit's tables (outbox, processed
events, token revocations) on the same metadata so one Alembic history covers them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    PostgresConnectionError,
    PostgresError,
)
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# What a database that is restarting, crashed or out of reach raises (asyncpg's own and the socket's), as
# opposed to a statement it refused.
_UNREACHABLE = (
    ConnectionError,  # refused, reset
    PostgresConnectionError,  # class 08: the connection does not exist, failed, was lost
    CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    AdminShutdownError,  # 57P01: shut down (or the session terminated) under a running statement
    CrashShutdownError,  # 57P02: another backend crashed, every session is ended
)


#: What the database and its driver raise, out of reach or not (for handlers that sort them).
DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, PostgresError, *_UNREACHABLE)


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or went away (a restart, a crash, a failover) rather
    than that a statement was wrong: the API answers it 503 `database_unavailable`, worth retrying, not a 500.
    SQLAlchemy wraps the driver's error (`orig`, the cause), so the whole chain is looked at."""
    seen: BaseException | None = exc
    for _ in range(10):  # chains are short; a cycle must not hang an error handler
        if seen is None:
            return False
        if isinstance(seen, _UNREACHABLE) or (isinstance(seen, DBAPIError) and seen.connection_invalidated):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


def asyncpg_url(url: str) -> str:
    """SQLAlchemy URL with the asyncpg driver, whatever form the environment gave."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


def libpq_url(url: str) -> str:
    """Plain ``postgresql://`` URL for asyncpg's own connect (LISTEN connections)."""
    return "postgresql://" + asyncpg_url(url)[len("postgresql+asyncpg://") :]


def add_kit_tables(metadata: MetaData) -> None:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("type", Text, nullable=False),
        # The exact bytes that go on the wire, so a replay publishes what was published the first time.
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
    )
    Index("ix_outbox_pending", outbox.c.id, postgresql_where=outbox.c.published_at.is_(None))
    Index("ix_outbox_created_at", outbox.c.created_at)
    Table(
        "processed_events",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("type", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Table(
        "token_revocations",
        metadata,
        Column("user_id", Text, primary_key=True),
        # Tokens issued before this instant are refused (lock, handover). Kept after an unlock, so
        # tokens from before the lock stay dead.
        Column("not_before", DateTime(timezone=True), nullable=False),
        Column("reason", Text, nullable=False),
        Column("locked", Boolean, nullable=False, server_default=text("false")),
    )


def service_metadata() -> MetaData:
    """A service's metadata: the naming convention, with the kit's tables on it. Use it as
    ``class Base(DeclarativeBase): metadata = service_metadata()``."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    add_kit_tables(metadata)
    return metadata


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = asyncpg_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
