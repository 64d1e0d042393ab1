"""Async SQLAlchemy engine and sessions, plus the tables every service carries for the kit.

A service's ORM base uses `service_metadata()`, which puts the kit's tables (outbox, processed
events, token revocations, access refusals) on the same metadata so one Alembic history covers them.
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
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
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
    add_access_refusals_table(metadata)


#: The kit's tables as the first revision of every service created them (`create_kit_schema`); later
#: kit tables come with a revision of their own in each service.
FIRST_KIT_TABLES = ("outbox", "processed_events", "token_revocations")


def add_access_refusals_table(metadata: MetaData) -> Table:
    """Refused calls counted per caller and window (`phoi_kit.refusals`): one row per caller and window,
    whatever the number of refusals, deleted when the window's summary is written."""
    refusals = Table(
        "access_refusals",
        metadata,
        Column("caller", Text, nullable=False),  # user:<sub>, address:<ip> or unknown
        Column("window_start", DateTime(timezone=True), nullable=False),
        Column("window_end", DateTime(timezone=True), nullable=False),
        # How many of the window's refusals are published one by one: fixed when the row is made, so
        # replicas configured differently still agree on which refusal was counted.
        Column("burst", Integer, nullable=False),
        Column("refusals", Integer, nullable=False),
        # The refusals beyond the burst, by reason code.
        Column("reasons", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("user_id", Text),
        Column("username", Text),
        Column("role", Text),
        Column("unit_code", Text),
        Column("ip_address", Text),
        Column("last_method", Text, nullable=False),
        Column("last_path", Text, nullable=False),
        Column("last_refused_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("caller", "window_start"),
        CheckConstraint("window_end > window_start", name="window_forward"),
        CheckConstraint("burst >= 0", name="burst_not_negative"),
        CheckConstraint("refusals >= 1", name="refusals_positive"),
    )
    Index("ix_access_refusals_window_end", refusals.c.window_end)
    return refusals


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
        # Off only where sessions join a test's open transaction, whose isolation is already fixed.
        self.snapshot_reads = True

    @asynccontextmanager
    async def session(self, *, snapshot: bool = False) -> AsyncIterator[AsyncSession]:
        """`snapshot`: every statement of the transaction sees the database as of its first one
        (REPEATABLE READ). An aggregate read in several SELECTs is then never torn by a commit landing
        between them, as it can be under READ COMMITTED (a request's version from before an allocation
        with the allocation's ranges). Writes in such a transaction may fail on a concurrent update, so
        it is for reads: the kit uses it for GET and HEAD."""
        async with self.sessionmaker() as session:
            if snapshot and self.snapshot_reads:
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
