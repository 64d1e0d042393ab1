"""A signed-in browser's session: plain rules, no framework.

A session ends after `idle` without a request, after `absolute` since sign-in whatever the activity,
and when its tokens can no longer be refreshed. The access token is refreshed shortly before expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from phoi_kit.auth import Role


def new_session_id() -> str:
    """The opaque value the cookie carries (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_session_id(session_id: str) -> str:
    """Sessions are stored under the hash of the cookie value, never the value itself."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    id_token: str | None
    access_expires_at: datetime


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta
    refresh_margin: timedelta


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: str
    username: str
    full_name: str
    unit_code: str | None
    roles: frozenset[str]
    tokens: Tokens
    created_at: datetime
    last_seen_at: datetime

    def expired(self, now: datetime, lifetime: Lifetime) -> bool:
        return now - self.last_seen_at > lifetime.idle or now - self.created_at > lifetime.absolute

    def needs_refresh(self, now: datetime, lifetime: Lifetime) -> bool:
        return self.tokens.access_expires_at - now <= lifetime.refresh_margin

    def with_tokens(self, tokens: Tokens) -> Session:
        return replace(self, tokens=tokens)

    def has(self, role: Role) -> bool:
        return role.value in self.roles

    @property
    def is_unit(self) -> bool:
        return self.has(Role.UNIT_ACCOUNT)
