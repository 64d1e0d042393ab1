"""The stand-in's engine: users, logins, sessions, tokens and events for one realm.

HTTP handlers (``oidc``, ``login``, ``admin``) translate requests into calls on :class:`Standin`.
All state changes happen on the event loop thread; only password hashing runs in worker threads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import anyio.to_thread

from .keys import KeyStore, ensure_private_dir
from .passwords import hash_password, verify_password
from .realm import Client, PasswordPolicyError, Realm, load_realm
from .settings import StandinSettings
from .state import Credential, LoginFailure, State, User, UserSession, load_state, save_state

log = logging.getLogger("phoi_local.keycloak")

HOOK_SECRET_FILE = "hook.secret"  # noqa: S105 - a file name
UPDATE_PASSWORD = "UPDATE_PASSWORD"  # noqa: S105 - the required action's name


class OAuthError(Exception):
    """An OAuth 2.0 error answer: ``{"error": ..., "error_description": ...}`` with a status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class LoginResult(Enum):
    OK = "ok"
    INVALID = "invalid_user_credentials"
    NOT_FOUND = "user_not_found"
    DISABLED = "user_disabled"
    LOCKED = "user_temporarily_disabled"


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    session_id: str
    user_id: str
    scope: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires: float


@dataclass
class AuthSession:
    """A browser login in progress (``tab_id``), bound to the browser by the AUTH_SESSION_ID cookie."""

    tab_id: str
    browser_id: str
    client_id: str
    redirect_uri: str
    response_mode: str
    state: str | None
    nonce: str | None
    scope: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    created: float
    user_id: str | None = None
    login_hint: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Standin:
    """One realm served by the stand-in. ``clock`` returns seconds since the epoch (tests may fake it)."""

    def __init__(self, settings: StandinSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.state_dir: Path = settings.state_dir
        ensure_private_dir(self.state_dir)
        self.realm: Realm = load_realm(settings.realm_file, settings.client_secrets)
        self.keys = KeyStore(self.state_dir, clock)
        self.state: State = load_state(self.state_dir)
        self.codes: dict[str, AuthCode] = {}
        self.auth_sessions: dict[str, AuthSession] = {}
        self.logout_requests: dict[str, dict[str, str | None]] = {}
        self.hook_secret = self._hook_secret()
        self._dummy_hash = hash_password(secrets.token_urlsafe(16))
        self._ensure_service_accounts()
        if not self.state.seeded:
            if settings.seed_file is not None:
                self._seed(settings.seed_file)
            self.state.seeded = True
        self.save()

    # -- basics --------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def save(self) -> None:
        self._prune()
        save_state(self.state_dir, self.state)

    def _hook_secret(self) -> str:
        path = self.state_dir / HOOK_SECRET_FILE
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        value = secrets.token_urlsafe(32)
        path.write_text(value, encoding="ascii")
        path.chmod(0o600)
        return value

    def key_grace_seconds(self) -> float:
        if self.settings.key_grace_seconds is not None:
            return float(self.settings.key_grace_seconds)
        return float(2 * self.realm.access_token_lifespan)

    def rotate_keys(self, grace_seconds: float | None = None) -> str:
        """Make a new active signing key; the old one stays in the JWKS for ``grace_seconds``."""
        kid = self.keys.rotate(self.key_grace_seconds() if grace_seconds is None else grace_seconds)
        log.info("signing key rotated; new kid %s", kid)
        return kid

    def _prune(self) -> None:
        now = self.now()
        st = self.state
        for sid in [sid for sid, s in st.sessions.items() if self._expired(s, now)]:
            self._drop_session(sid)
        st.revoked_sessions = {k: v for k, v in st.revoked_sessions.items() if v > now}
        st.revoked_tokens = {k: v for k, v in st.revoked_tokens.items() if v > now}
        for code in [c for c, v in self.codes.items() if v.expires < now]:
            del self.codes[code]
        login_ttl = self.realm.login_lifespan
        for tab in [t for t, a in self.auth_sessions.items() if a.created + login_ttl < now]:
            del self.auth_sessions[tab]
        if self.realm.events_expiration:
            cutoff = (now - self.realm.events_expiration) * 1000
            st.events = [e for e in st.events if e["time"] >= cutoff]
        if len(st.events) > self.settings.max_events:
            st.events = st.events[-self.settings.max_events :]

    # -- users -----------------------------------------------------------------------------------
    def _ensure_service_accounts(self) -> None:
        for sa in self.realm.service_accounts.values():
            user = self.state.users.get(sa.user_id)
            if user is None:
                user = User(id=sa.user_id, username=sa.username, created=self.now_ms())
                self.state.users[user.id] = user
            user.username = sa.username
            user.enabled = True
            user.service_account_client = sa.client_id
            user.realm_roles = list(sa.realm_roles)
            user.client_roles = {k: list(v) for k, v in sa.client_roles.items()}

    def _seed(self, seed_file: Path) -> None:
        data = json.loads(seed_file.read_text(encoding="utf-8"))
        for entry in data.get("users", []):
            username = str(entry["username"]).lower()
            if self.user_by_username(username) is not None:
                continue
            attributes: dict[str, list[str]] = {}
            if entry.get("unit_code"):
                attributes["unit_code"] = [str(entry["unit_code"])]
            user = User(
                id=str(uuid.uuid4()),
                username=username,
                created=self.now_ms(),
                enabled=True,
                email=(entry.get("email") or None),
                email_verified=bool(entry.get("email")),
                first_name=entry.get("first_name"),
                last_name=entry.get("last_name"),
                attributes=attributes,
                realm_roles=[self.realm.default_role, str(entry["role"])],
            )
            user.credential = Credential(
                id=str(uuid.uuid4()),
                created=self.now_ms(),
                temporary=False,
                hash=hash_password(self.settings.demo_password),
            )
            self.state.users[user.id] = user
        log.info("seeded %d demo users from %s", len(data.get("users", [])), seed_file)

    def user(self, user_id: str) -> User | None:
        return self.state.users.get(user_id)

    def user_by_username(self, username: str) -> User | None:
        name = username.lower()
        return next((u for u in self.state.users.values() if u.username == name), None)

    def user_by_email(self, email: str) -> User | None:
        mail = email.lower()
        return next((u for u in self.state.users.values() if u.email and u.email.lower() == mail), None)

    def find_login_user(self, username_or_email: str) -> User | None:
        user = self.user_by_username(username_or_email)
        if user is None and self.realm.login_with_email and "@" in username_or_email:
            user = self.user_by_email(username_or_email)
        if user is not None and user.service_account_client:
            return None
        return user

    def check_password_policy(self, user: User, password: str) -> PasswordPolicyError | None:
        return self.realm.password_policy.check(password, user.username, user.email)

    async def set_password(self, user: User, password: str, temporary: bool) -> None:
        record = await anyio.to_thread.run_sync(hash_password, password)
        user.credential = Credential(id=str(uuid.uuid4()), created=self.now_ms(), temporary=temporary, hash=record)
        if temporary:
            if UPDATE_PASSWORD not in user.required_actions:
                user.required_actions.append(UPDATE_PASSWORD)
        elif UPDATE_PASSWORD in user.required_actions:
            user.required_actions.remove(UPDATE_PASSWORD)

    # -- logins and brute-force detection --------------------------------------------------------
    def is_locked(self, user: User) -> bool:
        if not self.realm.brute_force.enabled:
            return False
        failure = self.state.login_failures.get(user.id)
        return failure is not None and self.now() < failure.locked_until

    def _record_failure(self, user: User, ip: str) -> None:
        bf = self.realm.brute_force
        if not bf.enabled:
            return
        now_ms = self.now_ms()
        failure = self.state.login_failures.setdefault(user.id, LoginFailure())
        previous = failure.last_failure
        if previous and now_ms - previous > bf.max_delta * 1000:
            failure.num_failures = 0
        failure.num_failures += 1
        failure.last_failure = now_ms
        failure.last_ip = ip
        if bf.permanent and failure.num_failures >= bf.failure_factor:
            user.enabled = False
            return
        wait = 0
        if previous and 0 < now_ms - previous < bf.quick_check_ms:
            wait = bf.min_quick_wait
        if failure.num_failures >= bf.failure_factor:
            wait = max(wait, bf.wait_increment * (failure.num_failures // bf.failure_factor))
        wait = min(wait, bf.max_wait)
        if wait > 0:
            failure.locked_until = self.now() + wait

    def clear_login_failures(self, user_id: str) -> None:
        self.state.login_failures.pop(user_id, None)

    async def check_login(
        self, username: str, password: str, client: Client, ip: str, details: dict[str, Any]
    ) -> tuple[LoginResult, User | None]:
        """Check a username (or email) and password; records LOGIN_ERROR events and failures."""
        user = self.find_login_user(username) if username else None
        details = {**details, "username": username}
        if user is None:
            # spend the same time as for a wrong password, so answers do not reveal which names exist
            await anyio.to_thread.run_sync(verify_password, self._dummy_hash, password)
            self.event("LOGIN_ERROR", client_id=client.client_id, ip=ip, error="user_not_found", details=details)
            return LoginResult.NOT_FOUND, None
        if self.is_locked(user):
            self.event(
                "LOGIN_ERROR",
                client_id=client.client_id,
                user_id=user.id,
                ip=ip,
                error="user_temporarily_disabled",
                details=details,
            )
            return LoginResult.LOCKED, user
        credential = user.credential
        ok = credential is not None and await anyio.to_thread.run_sync(verify_password, credential.hash, password)
        if not ok:
            self._record_failure(user, ip)
            self.event(
                "LOGIN_ERROR",
                client_id=client.client_id,
                user_id=user.id,
                ip=ip,
                error="invalid_user_credentials",
                details=details,
            )
            return LoginResult.INVALID, user
        if not user.enabled:
            self.event(
                "LOGIN_ERROR",
                client_id=client.client_id,
                user_id=user.id,
                ip=ip,
                error="user_disabled",
                details=details,
            )
            return LoginResult.DISABLED, user
        self.clear_login_failures(user.id)
        return LoginResult.OK, user

    # -- sessions --------------------------------------------------------------------------------
    def _expired(self, session: UserSession, now: float) -> bool:
        return now > session.last_access + self.realm.sso_idle or now > session.started + self.realm.sso_max

    def create_session(self, user: User, client: Client, ip: str) -> UserSession:
        now = self.now()
        session = UserSession(
            id=str(uuid.uuid4()),
            user_id=user.id,
            username=user.username,
            ip_address=ip,
            started=now,
            last_access=now,
            auth_time=int(now),
            clients={client.id: client.client_id},
        )
        self.state.sessions[session.id] = session
        return session

    def active_session(self, sid: str | None) -> UserSession | None:
        if not sid:
            return None
        session = self.state.sessions.get(sid)
        if session is None:
            return None
        if self._expired(session, self.now()):
            self._drop_session(sid)
            return None
        return session

    def _drop_session(self, sid: str) -> None:
        self.state.sessions.pop(sid, None)
        self.state.revoked_sessions[sid] = self.now() + self.realm.sso_max + self.realm.access_token_lifespan + 60
        for code in [c for c, v in self.codes.items() if v.session_id == sid]:
            del self.codes[code]

    def end_session(self, session: UserSession, *, client_id: str | None, ip: str | None, event: bool) -> None:
        """Log a session out: its refresh tokens stop working, its access tokens stop introspecting."""
        self._drop_session(session.id)
        if event:
            self.event(
                "LOGOUT",
                client_id=client_id,
                user_id=session.user_id,
                session_id=session.id,
                ip=ip,
                details={"username": session.username},
            )

    def logout_user(self, user: User) -> None:
        """Admin logout: end all sessions and refuse tokens issued before now."""
        for session in [s for s in self.state.sessions.values() if s.user_id == user.id]:
            self._drop_session(session.id)
        user.not_before = int(self.now())

    def user_sessions(self, user_id: str) -> list[UserSession]:
        now = self.now()
        return [s for s in self.state.sessions.values() if s.user_id == user_id and not self._expired(s, now)]

    # -- tokens ----------------------------------------------------------------------------------
    @staticmethod
    def token_scope(requested: str | None) -> str:
        wanted = set((requested or "").split())
        scopes = ["openid"] if "openid" in wanted else []
        scopes += ["profile", "email"]
        scopes += [s for s in ("address", "phone") if s in wanted]
        return " ".join(scopes)

    def _roles(self, user: User) -> tuple[list[str], dict[str, list[str]]]:
        return self.realm.effective_roles(user.realm_roles, user.client_roles)

    def _profile_claims(self, user: User, client: Client, kind: str) -> dict[str, Any]:
        claims: dict[str, Any] = {"email_verified": user.email_verified}
        if user.full_name:
            claims["name"] = user.full_name
        claims["preferred_username"] = user.username
        if user.first_name:
            claims["given_name"] = user.first_name
        if user.last_name:
            claims["family_name"] = user.last_name
        if user.email:
            claims["email"] = user.email
        for mapper in client.attribute_mappers(kind):
            value = user.attribute(mapper.config.get("user.attribute", ""))
            claim = mapper.config.get("claim.name")
            if value is not None and claim:
                claims[claim] = value
        return claims

    def _audience(self, client: Client, kind: str, resource_access: dict[str, Any]) -> str | list[str] | None:
        aud: list[str] = []
        for value in [*resource_access.keys(), *client.audiences(kind)]:
            if value != client.client_id and value not in aud:
                aud.append(value)
        if not aud:
            return None
        return aud[0] if len(aud) == 1 else aud

    def access_claims(
        self, *, issuer: str, client: Client, user: User, session: UserSession | None, scope: str
    ) -> dict[str, Any]:
        now = int(self.now())
        exp = now + self.realm.access_token_lifespan
        if session is not None:
            exp = min(exp, int(session.started + self.realm.sso_max))
        realm_roles, client_roles = self._roles(user)
        resource_access = {cid: {"roles": roles} for cid, roles in client_roles.items()}
        claims: dict[str, Any] = {"exp": exp, "iat": now, "jti": str(uuid.uuid4()), "iss": issuer}
        aud = self._audience(client, "access", resource_access)
        if aud is not None:
            claims["aud"] = aud
        claims.update({"sub": user.id, "typ": "Bearer", "azp": client.client_id})
        if session is not None:
            claims["sid"] = session.id
        claims["acr"] = "1"
        origins = client.allowed_origins()
        if origins:
            claims["allowed-origins"] = origins
        claims["realm_access"] = {"roles": realm_roles}
        if resource_access:
            claims["resource_access"] = resource_access
        claims["scope"] = scope
        if user.service_account_client:
            claims["client_id"] = client.client_id
        claims.update(self._profile_claims(user, client, "access"))
        return claims

    def issue_tokens(
        self,
        *,
        issuer: str,
        client: Client,
        user: User,
        session: UserSession | None,
        requested_scope: str | None,
        nonce: str | None = None,
        with_refresh: bool = True,
        with_id_token: bool = True,
    ) -> dict[str, Any]:
        scope = self.token_scope(requested_scope)
        access = self.access_claims(issuer=issuer, client=client, user=user, session=session, scope=scope)
        access_token = self.keys.sign(access)
        out: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": access["exp"] - access["iat"],
            "refresh_expires_in": 0,
        }
        if with_refresh and session is not None:
            refresh_exp = int(min(session.last_access + self.realm.sso_idle, session.started + self.realm.sso_max))
            refresh = {
                "exp": refresh_exp,
                "iat": access["iat"],
                "jti": str(uuid.uuid4()),
                "iss": issuer,
                "aud": issuer,
                "sub": user.id,
                "typ": "Refresh",
                "azp": client.client_id,
                "sid": session.id,
                "scope": scope,
            }
            out["refresh_expires_in"] = refresh_exp - access["iat"]
            out["refresh_token"] = self.keys.sign_hs(refresh)
        out["token_type"] = "Bearer"  # noqa: S105
        if with_id_token and "openid" in scope.split():
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            id_claims: dict[str, Any] = {
                "exp": access["exp"],
                "iat": access["iat"],
                "jti": str(uuid.uuid4()),
                "iss": issuer,
                "aud": client.client_id,
                "sub": user.id,
                "typ": "ID",
                "azp": client.client_id,
            }
            if session is not None:
                id_claims["auth_time"] = session.auth_time
            if nonce:
                id_claims["nonce"] = nonce
            if session is not None:
                id_claims["sid"] = session.id
            id_claims["at_hash"] = _b64url(digest[:16])
            id_claims["acr"] = "1"
            id_claims.update(self._profile_claims(user, client, "id"))
            out["id_token"] = self.keys.sign(id_claims)
        out["not-before-policy"] = 0
        if session is not None:
            out["session_state"] = session.id
        out["scope"] = scope
        return out

    def check_access_token(self, token: str, issuer: str) -> dict[str, Any] | None:
        """Claims of an access token that is valid *and* still active (session alive, user enabled)."""
        claims = self.keys.verify(token)
        if claims is None or claims.get("typ") != "Bearer" or claims.get("iss") != issuer:
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.now():
            return None
        if claims.get("jti") in self.state.revoked_tokens:
            return None
        return claims if self._subject_active(claims) else None

    def _subject_active(self, claims: dict[str, Any]) -> bool:
        user = self.user(str(claims.get("sub")))
        if user is None or not user.enabled:
            return False
        if int(claims.get("iat", 0)) < user.not_before:
            return False
        sid = claims.get("sid")
        if sid:
            if sid in self.state.revoked_sessions:
                return False
            session = self.active_session(str(sid))
            if session is None or session.user_id != user.id:
                return False
        else:
            client = self.realm.clients.get(str(claims.get("azp")))
            if client is None or not client.enabled:
                return False
        return True

    def check_refresh_token(self, token: str, issuer: str, client: Client) -> tuple[dict[str, Any], User, UserSession]:
        """Validate a refresh token for ``client``; raises :class:`OAuthError` as Keycloak words it."""
        claims = self.keys.verify_hs(token)
        if claims is None or claims.get("typ") not in ("Refresh", "Offline"):
            raise OAuthError("invalid_grant", "Invalid refresh token")
        if claims.get("iss") != issuer:
            raise OAuthError("invalid_grant", f"Invalid token issuer. Expected '{issuer}'")
        if claims.get("azp") != client.client_id:
            raise OAuthError("invalid_grant", "Invalid refresh token. Token client and authorized client don't match")
        if int(claims.get("exp", 0)) <= self.now():
            raise OAuthError("invalid_grant", "Token is not active")
        session = self.active_session(str(claims.get("sid")))
        if session is None:
            raise OAuthError("invalid_grant", "Session not active")
        user = self.user(str(claims.get("sub")))
        if user is None or session.user_id != user.id:
            raise OAuthError("invalid_grant", "Session not active")
        if not user.enabled:
            raise OAuthError("invalid_grant", "User disabled")
        if int(claims.get("iat", 0)) < user.not_before:
            raise OAuthError("invalid_grant", "Stale token")
        return claims, user, session

    # -- events ----------------------------------------------------------------------------------
    def event(
        self,
        type_: str,
        *,
        client_id: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        ip: str | None = None,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record a login event (only the types the realm stores)."""
        if not self.realm.event_enabled(type_):
            return
        event: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "time": self.now_ms(),
            "type": type_,
            "realmId": self.realm.id,
        }
        for key, value in (
            ("clientId", client_id),
            ("userId", user_id),
            ("sessionId", session_id),
            ("ipAddress", ip),
            ("error", error),
        ):
            if value is not None:
                event[key] = value
        if details:
            event["details"] = {k: str(v) for k, v in details.items() if v is not None}
        self.state.events.append(event)

    def events(
        self,
        *,
        types: Iterable[str] = (),
        client: str | None = None,
        user: str | None = None,
        ip: str | None = None,
        date_from: int | None = None,
        date_to: int | None = None,
        first: int = 0,
        max_results: int = 100,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        wanted = set(types)
        found = [
            e
            for e in self.state.events
            if (not wanted or e["type"] in wanted)
            and (client is None or e.get("clientId") == client)
            and (user is None or e.get("userId") == user)
            and (ip is None or e.get("ipAddress") == ip)
            and (date_from is None or e["time"] >= date_from)
            and (date_to is None or e["time"] <= date_to)
        ]
        if not ascending:
            found.reverse()  # newest first, also among events of the same millisecond
        found.sort(key=lambda e: e["time"], reverse=not ascending)
        return found[first : first + max_results] if max_results >= 0 else found[first:]
