"""A dedicated PostgreSQL connection that LISTENs on channels and wakes waiters on NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

from phoi_kit.db import libpq_url


class PgListener:
    """Holds one asyncpg connection with LISTENs. `connect()` again after the connection is lost."""

    def __init__(self, url: str, channels: dict[str, Callable[[], None]]) -> None:
        self._dsn = libpq_url(url)
        self._channels = channels
        self.connection: asyncpg.Connection | None = None
        self.lost = asyncio.Event()

    async def connect(self) -> asyncpg.Connection:
        await self.close()
        self.lost.clear()
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn, timeout=10)
        conn.add_termination_listener(lambda _c: self.lost.set())
        for channel, callback in self._channels.items():
            await conn.add_listener(channel, self._make_listener(callback))
        self.connection = conn
        return conn

    @staticmethod
    def _make_listener(callback: Callable[[], None]) -> Callable[..., None]:
        def _on_notify(*_args: Any) -> None:
            callback()

        return _on_notify

    async def close(self) -> None:
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.close(timeout=5)
        self.connection = None
