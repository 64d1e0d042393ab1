"""Keycloak's login events → the contract's ``auth.*`` events, and the high-water mark that makes
reading them exactly-once-ish (at-least-once, deduplicated by key).

Keycloak's events endpoint is read with ``dateFrom`` = the high-water mark (epoch ms, inclusive),
oldest first. Events at exactly the high-water millisecond may have been handled already: their keys
are kept (``seen``) and skipped. The key is Keycloak's event ``id`` when it has one, else a digest of
the event's fields.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from phoi_contracts.envelope import EventData
from phoi_contracts.events.identity import (
    AuthLoginFailed,
    AuthLoginSucceeded,
    AuthLogout,
    AuthPasswordUpdated,
)

# Deterministic envelope ids (uuid5 of the key): a re-read event is the same event downstream.
EVENT_ID_NAMESPACE = uuid.UUID("6b1f3c52-4d0e-4a8e-9d7e-2f6a1c9b8e31")

# Keycloak types we publish. CLIENT_LOGIN (service accounts, including this service's own), token
# exchanges and refreshes are noise for the audit of people's sign-ins.
PUBLISHED_TYPES = frozenset({"LOGIN", "LOGIN_ERROR", "LOGOUT", "UPDATE_PASSWORD", "UPDATE_CREDENTIAL"})


def event_key(raw: Mapping[str, Any]) -> str:
    if raw.get("id"):
        return str(raw["id"])
    canonical = json.dumps(
        {k: raw.get(k) for k in ("time", "type", "userId", "sessionId", "clientId", "ipAddress", "error", "details")},
        sort_keys=True,
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def event_id(key: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, key)


@dataclass(frozen=True)
class Cursor:
    high_water_ms: int
    seen: frozenset[str] = frozenset()

    def is_new(self, raw: Mapping[str, Any]) -> bool:
        time_ms = int(raw.get("time") or 0)
        if time_ms < self.high_water_ms:
            return False
        return not (time_ms == self.high_water_ms and event_key(raw) in self.seen)

    def advance(self, handled: Iterable[Mapping[str, Any]]) -> Cursor:
        """The cursor after `handled` (events read from this cursor, any order)."""
        high = self.high_water_ms
        seen = set(self.seen)
        for raw in handled:
            time_ms = int(raw.get("time") or 0)
            if time_ms > high:
                high, seen = time_ms, set()
            if time_ms == high:
                seen.add(event_key(raw))
        return Cursor(high, frozenset(seen))


@dataclass(frozen=True)
class SignInEvent:
    """One Keycloak event worth keeping: what the sign-in activity stores and what is published."""

    key: str
    keycloak_type: str
    occurred_at: datetime
    user_id: str | None
    username: str | None
    client_id: str | None
    ip_address: str | None
    session_id: str | None
    error: str | None

    def contract_event(self, username_fallback: str | None = None) -> EventData | None:
        common: dict[str, Any] = {
            "keycloak_event_id": _short(self.key),
            "occurred_at": self.occurred_at,
            "client_id": _short(self.client_id),
            "ip_address": _short(self.ip_address),
            "session_id": _short(self.session_id),
        }
        username = _short(self.username or username_fallback)
        if self.keycloak_type == "LOGIN_ERROR":
            return AuthLoginFailed(
                **common, user_id=_short(self.user_id), username=username, error=_short(self.error) or "unknown"
            )
        if self.user_id is None:
            return None
        if self.keycloak_type == "LOGIN":
            return AuthLoginSucceeded(**common, user_id=self.user_id, username=username or self.user_id)
        if self.keycloak_type in ("UPDATE_PASSWORD", "UPDATE_CREDENTIAL"):
            return AuthPasswordUpdated(**common, user_id=self.user_id, username=username)
        if self.keycloak_type == "LOGOUT":
            return AuthLogout(**common, user_id=self.user_id, username=username)
        return None


def _short(value: str | None) -> str | None:
    return value[:255] if value else None


def parse(raw: Mapping[str, Any]) -> SignInEvent | None:
    """The event worth keeping, or None. Keycloak reports the required-action password change twice
    (``UPDATE_PASSWORD`` and, since Keycloak 24, its twin ``UPDATE_CREDENTIAL`` with
    ``credential_type=password`` and the same ``custom_required_action``): the twin is dropped. An
    ``UPDATE_CREDENTIAL`` of a password outside the required action is kept."""
    kc_type = str(raw.get("type") or "")
    if kc_type not in PUBLISHED_TYPES:
        return None
    details = raw.get("details") or {}
    if kc_type == "UPDATE_CREDENTIAL" and (
        details.get("credential_type") != "password" or details.get("custom_required_action")
    ):
        return None
    return SignInEvent(
        key=event_key(raw),
        keycloak_type=kc_type,
        occurred_at=datetime.fromtimestamp(int(raw.get("time") or 0) / 1000, tz=UTC),
        user_id=str(raw["userId"]) if raw.get("userId") else None,
        username=str(details["username"]) if details.get("username") else None,
        client_id=str(raw["clientId"]) if raw.get("clientId") else None,
        ip_address=str(raw["ipAddress"]) if raw.get("ipAddress") else None,
        session_id=str(raw["sessionId"]) if raw.get("sessionId") else None,
        error=str(raw["error"]) if raw.get("error") else None,
    )


@dataclass(frozen=True)
class Window:
    """A fixed counting window, aligned to the epoch: [start, end)."""

    start: datetime
    end: datetime


def window_of(at: datetime, seconds: int) -> Window:
    start = datetime.fromtimestamp(int(at.timestamp()) // seconds * seconds, tz=UTC)
    return Window(start, start + timedelta(seconds=seconds))


def failure_caller(event: SignInEvent) -> str:
    """Whom a failed login is counted against: the account when Keycloak knows the user, else the
    address it came from (a name that exists nowhere tells nothing about an account)."""
    if event.user_id:
        return f"user:{event.user_id}"
    return f"address:{event.ip_address}" if event.ip_address else "unknown"
