"""Access-token validation (Keycloak, RS256) and the authorisation guards every endpoint uses.

Tokens are validated locally: signature against the realm's JWKS (fetched, cached, and re-fetched when
a token names a key id we have not seen — that is how rotated keys are picked up), issuer, audience,
expiry. A token also has to survive the revocation list: `account.locked` and `account.handed_over`
events record "refuse this user's tokens issued before T", so a locked account is refused everywhere
within seconds instead of at token expiry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from phoi_contracts.envelope import Actor
from phoi_contracts.events.identity import Role as Role  # the one Role enum, re-exported
from sqlalchemy import column, select, table

from phoi_kit.db import Database
from phoi_kit.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized
from phoi_kit.logging import get_logger

log = get_logger(__name__)

REVOCATIONS_CHANNEL = "phoi_revocations"
REVOCATIONS_TRIGGER_SQL = (
    f"""
CREATE OR REPLACE FUNCTION phoi_revocations_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('{REVOCATIONS_CHANNEL}', '');
  RETURN NULL;
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER token_revocations_notify AFTER INSERT OR UPDATE OR DELETE ON token_revocations "
    "FOR EACH STATEMENT EXECUTE FUNCTION phoi_revocations_notify()",
)

token_revocations = table(
    "token_revocations", column("user_id"), column("not_before"), column("reason"), column("locked")
)


# The realm roles, defined once in the contracts (identity's events carry them); services take them from here.
QLCL_ROLES = frozenset({Role.QLCL_ADMIN, Role.QLCL_OFFICER})
#: Which role a token acts under when it carries several: a unit account acts as its unit; otherwise the
#: most capable QLCL role wins (an officer who is also an admin acts as officer), then auditor.
ACTING_ORDER: tuple[Role, ...] = (Role.UNIT_ACCOUNT, Role.QLCL_OFFICER, Role.QLCL_ADMIN, Role.AUDITOR)


@dataclass(frozen=True, slots=True)
class CurrentUser:
    user_id: str
    username: str
    roles: frozenset[Role]
    unit_code: str | None
    session_id: str | None
    issued_at: int

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_unit(self) -> bool:
        return Role.UNIT_ACCOUNT in self.roles

    @property
    def acting_role(self) -> Role | None:
        """The one role this token acts under (`ACTING_ORDER`): in events, in history, in a domain's actor."""
        return next((role for role in ACTING_ORDER if role in self.roles), None)

    @property
    def primary_role(self) -> str | None:
        role = self.acting_role
        return None if role is None else role.value

    @property
    def actor(self) -> Actor:
        """The actor of the events this token causes."""
        return Actor(user_id=self.user_id, username=self.username, role=self.primary_role, unit_code=self.unit_code)

    def act_as(self, *allowed: Role) -> Role:
        """The role this token acts under among ``allowed`` (default: any role); a service builds its domain
        actor from it. 403 ``role_required`` without one of them; 403 ``unit_code_missing`` for a unit
        account whose token names no unit."""
        candidates = allowed or ACTING_ORDER
        self.require(*candidates)
        role = next(role for role in ACTING_ORDER if role in self.roles and role in candidates)
        if role is Role.UNIT_ACCOUNT and not self.unit_code:
            raise Forbidden("This unit account has no unit code in its token.", code="unit_code_missing")
        return role

    def require(self, *roles: Role) -> None:
        if not self.has_any(roles):
            raise Forbidden(
                "Your role does not allow this action.",
                code="role_required",
                required_roles=[r.value for r in roles],
            )

    def ensure_unit_scope(self, unit_code: str, *, what: str = "resource") -> None:
        """A unit account reaches only its own unit's data. Others' data is reported as not found,
        so a unit cannot learn what exists elsewhere."""
        if self.is_unit and self.unit_code != unit_code:
            raise NotFound(f"No such {what}.")


class TokenValidator:
    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str,
        audience: str,
        http: httpx.AsyncClient | None = None,
        cache_seconds: float = 600.0,
        min_refresh_seconds: float = 5.0,
        leeway: int = 5,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.audience = audience
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._forced_at = float("-inf")
        self._cache_seconds = cache_seconds
        self._min_refresh = min_refresh_seconds
        self._lock = asyncio.Lock()
        self.leeway = leeway
        self.claims_registry = jwt.JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    async def _key_set(self, *, force: bool = False) -> KeySet:
        """The cached JWKS. `force` re-fetches (a token named a key id we do not have: the realm
        rotated its keys), at most once per `min_refresh_seconds` so garbage tokens cannot make us
        hammer Keycloak."""
        now = time.monotonic()
        if force:
            if now - self._forced_at < self._min_refresh and self._keys is not None:
                async with self._lock:  # a refresh may be in flight: its result is what we want
                    return self._keys
            self._forced_at = now
        elif self._keys is not None and now - self._fetched_at < self._cache_seconds:
            return self._keys
        async with self._lock:
            try:
                response = await self._http.get(self.jwks_url)
                response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
                self._fetched_at = time.monotonic()
            except (httpx.HTTPError, ValueError) as exc:
                if self._keys is None:
                    log.error("cannot fetch JWKS", url=self.jwks_url, error=repr(exc))
                    raise ServiceUnavailable("The sign-in service cannot be reached.") from exc
                log.warning("JWKS refresh failed; keeping cached keys", error=repr(exc))
            return self._keys

    async def validate(self, token: str) -> dict[str, Any]:
        """Return the verified claims, or raise `Unauthorized`."""
        keys = await self._key_set()
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=["RS256"])
            except InvalidKeyIdError:
                decoded = jwt.decode(token, await self._key_set(force=True), algorithms=["RS256"])
            self.claims_registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
        return decoded.claims

    async def aclose(self) -> None:
        await self._http.aclose()


def user_from_claims(claims: dict[str, Any]) -> CurrentUser:
    known = {r.value for r in Role}
    roles = frozenset(Role(r) for r in (claims.get("realm_access") or {}).get("roles", []) if r in known)
    return CurrentUser(
        user_id=str(claims["sub"]),
        username=str(claims.get("preferred_username") or claims["sub"]),
        roles=roles,
        unit_code=claims.get("unit_code") or None,
        session_id=claims.get("sid"),
        issued_at=int(claims.get("iat") or 0),
    )


class RevocationList:
    """Mirrors `token_revocations`: per user, the instant before which tokens are refused, and whether
    the account is locked (every token refused). Reloaded whenever the table changes (NOTIFY), so every
    replica learns within milliseconds."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._not_before: dict[str, float] = {}
        self._locked: set[str] = set()

    async def reload(self) -> None:
        async with self.database.session() as session:
            rows = (await session.execute(select(token_revocations))).all()
        self._not_before = {row.user_id: row.not_before.timestamp() for row in rows}
        self._locked = {row.user_id for row in rows if row.locked}

    def is_revoked(self, user: CurrentUser) -> bool:
        if user.user_id in self._locked:
            return True
        cutoff = self._not_before.get(user.user_id)
        return cutoff is not None and user.issued_at < cutoff

    def revoke_locally(self, user_id: str, not_before: datetime, *, lock: bool = False) -> None:
        self._not_before[user_id] = max(self._not_before.get(user_id, 0.0), not_before.timestamp())
        if lock:
            self._locked.add(user_id)

    def unlock_locally(self, user_id: str) -> None:
        self._locked.discard(user_id)
