"""Every Keycloak call the identity service makes, behind one class, with retries.

python-keycloak's ``KeycloakAdmin`` authenticates as the ``identity-service`` service account (client
credentials) and is used through its async ``a_*`` methods (httpx). A call that fails for a reason
that may pass — the server cannot be reached, a 5xx, a 429 — is retried with capped exponential
backoff and jitter (tenacity); when the attempts are spent it raises `KeycloakUnavailable`, and the
caller has changed nothing. Other refusals are raised as the domain's errors (409 → `UsernameTaken`
/ `EmailTaken`, 400 → `PasswordRejected` / `InvalidAccount`) or `KeycloakFailed`.

Secrets: passwords travel only in request bodies; nothing here logs a request body, and the errors
raised carry Keycloak's response message, never what was sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError
from phoi_kit.logging import get_logger
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from phoi_identity.domain.accounts import UPDATE_PASSWORD
from phoi_identity.domain.errors import (
    EmailTaken,
    InvalidAccount,
    KeycloakFailed,
    KeycloakUnavailable,
    PasswordRejected,
    UsernameTaken,
)

log = get_logger(__name__)

T = TypeVar("T")

# A user creation retried after a lost answer finds the user made by the first attempt: accept a user
# of that name created at most this long before the first attempt (clock skew between us and Keycloak).
CREATION_SKEW_MS = 60_000


@dataclass(frozen=True)
class KeycloakUser:
    id: str
    username: str
    enabled: bool
    required_actions: tuple[str, ...] = ()
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    created_ms: int = 0

    @classmethod
    def from_representation(cls, rep: dict[str, Any]) -> KeycloakUser:
        return cls(
            id=str(rep["id"]),
            username=str(rep["username"]),
            enabled=bool(rep.get("enabled", False)),
            required_actions=tuple(str(a) for a in rep.get("requiredActions") or ()),
            email=rep.get("email") or None,
            first_name=rep.get("firstName") or None,
            last_name=rep.get("lastName") or None,
            attributes={str(k): [str(x) for x in v] for k, v in (rep.get("attributes") or {}).items()},
            created_ms=int(rep.get("createdTimestamp") or 0),
        )

    @property
    def unit_code(self) -> str | None:
        values = self.attributes.get("unit_code") or []
        return values[0] if values else None

    @property
    def must_change_password(self) -> bool:
        return UPDATE_PASSWORD in self.required_actions


def _status(exc: KeycloakError) -> int | None:
    return exc.response_code


def _message(exc: KeycloakError) -> str:
    body = exc.response_body
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    if isinstance(parsed, dict):
        for key in ("errorMessage", "error_description", "error"):
            if parsed.get(key):
                return str(parsed[key])[:300]
    return str(exc.error_message)[:300] if exc.error_message else type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, KeycloakConnectionError):
        return True
    if isinstance(exc, KeycloakError):
        code = _status(exc)
        return code is None or code >= 500 or code == 429
    return isinstance(exc, OSError | TimeoutError)


class KeycloakAdapter:
    def __init__(
        self,
        *,
        server_url: str,
        realm: str,
        client_id: str,
        client_secret: str,
        timeout: float = 10.0,
        attempts: int = 4,
        wait_initial: float = 0.2,
        wait_max: float = 3.0,
    ) -> None:
        self.server_url = server_url.rstrip("/") + "/"
        self.realm = realm
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.attempts = attempts
        self.wait_initial = wait_initial
        self.wait_max = wait_max
        self._admin: KeycloakAdmin | None = None
        self._roles: dict[str, dict[str, Any]] = {}

    # -- plumbing ------------------------------------------------------------------------------------
    def _client(self) -> KeycloakAdmin:
        """Built on first use, inside the running event loop (its httpx client binds to it)."""
        if self._admin is None:
            connection = KeycloakOpenIDConnection(
                server_url=self.server_url,
                realm_name=self.realm,
                user_realm_name=self.realm,
                client_id=self.client_id,
                client_secret_key=self._client_secret,
                timeout=self.timeout,  # type: ignore[arg-type]  # httpx takes a float
                max_retries=0,  # we retry, with backoff
            )
            self._admin = KeycloakAdmin(connection=connection)
        return self._admin

    async def aclose(self) -> None:
        admin, self._admin = self._admin, None
        if admin is None:
            return
        connection = admin.connection
        for client in (connection, connection._keycloak_openid.connection if connection._keycloak_openid else None):
            if client is not None:
                try:
                    await client.aclose()
                except Exception as exc:  # closing is best effort
                    log.debug("closing a Keycloak client failed", error=repr(exc))

    async def _call(self, what: str, call: Callable[[KeycloakAdmin], Awaitable[T]]) -> T:
        """Run `call`, retrying what may pass; `KeycloakUnavailable` once the attempts are spent."""
        admin = self._client()
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential_jitter(multiplier=self.wait_initial, max=self.wait_max, jitter=self.wait_initial),
                retry=retry_if_exception(is_transient),
                reraise=True,
            ):
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        log.info("retrying a Keycloak call", call=what, attempt=attempt.retry_state.attempt_number)
                    return await call(admin)
        except KeycloakError as exc:
            if is_transient(exc):
                log.warning("Keycloak unavailable", call=what, error=_message(exc))
                raise KeycloakUnavailable(
                    "The sign-in service (Keycloak) cannot be reached. Nothing was changed; try again.",
                    call=what,
                ) from exc
            raise
        except (OSError, TimeoutError) as exc:
            log.warning("Keycloak unavailable", call=what, error=repr(exc))
            raise KeycloakUnavailable(
                "The sign-in service (Keycloak) cannot be reached. Nothing was changed; try again.", call=what
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying returns or raises

    @staticmethod
    def _failed(what: str, exc: KeycloakError) -> KeycloakFailed:
        return KeycloakFailed(f"Keycloak refused to {what}: {_message(exc)}", status=_status(exc))

    # -- users ---------------------------------------------------------------------------------------
    async def create_user(
        self,
        *,
        username: str,
        password: str,
        role: str,
        unit_code: str | None,
        email: str | None,
        first_name: str | None,
        last_name: str | None,
    ) -> str:
        """Create an enabled user with a temporary password (required action ``UPDATE_PASSWORD``), the
        realm role and the ``unit_code`` attribute. Returns the user id. If the role cannot be granted
        the user is deleted again, so no half-made user stays behind."""
        payload: dict[str, Any] = {
            "username": username,
            "enabled": True,
            "emailVerified": False,
            "requiredActions": [UPDATE_PASSWORD],
            "credentials": [{"type": "password", "value": password, "temporary": True}],
        }
        if email:
            payload["email"] = email
        if first_name:
            payload["firstName"] = first_name
        if last_name:
            payload["lastName"] = last_name
        if unit_code:
            payload["attributes"] = {"unit_code": [unit_code]}
        started_ms = int(time.time() * 1000)
        attempts = 0

        async def create(admin: KeycloakAdmin) -> str:
            nonlocal attempts
            attempts += 1
            try:
                return str(await admin.a_create_user(payload))
            except KeycloakError as exc:
                if attempts > 1 and _status(exc) == 409:
                    # An earlier attempt may have created it and lost the answer.
                    existing = await self.find_user(username)
                    if existing is not None and existing.created_ms >= started_ms - CREATION_SKEW_MS:
                        return existing.id
                raise

        try:
            user_id = await self._call("create user", create)
        except KeycloakError as exc:
            raise self._creation_error(exc) from exc
        try:
            await self.grant_realm_role(user_id, role)
        except BaseException:
            await self.delete_user_quietly(user_id)
            raise
        return user_id

    @staticmethod
    def _creation_error(exc: KeycloakError) -> Exception:
        message = _message(exc)
        if _status(exc) == 409:
            if "email" in message.lower():
                return EmailTaken("Another account already uses this email address.", fields=["holder.email"])
            return UsernameTaken("A sign-in account with this username already exists.", fields=["username"])
        if _status(exc) == 400:
            if "password" in message.lower():
                return PasswordRejected(f"Keycloak rejected the password: {message}")
            return InvalidAccount(f"Keycloak rejected the user: {message}")
        return KeycloakFailed(f"Keycloak refused to create the user: {message}", status=_status(exc))

    async def get_user(self, user_id: str) -> KeycloakUser | None:
        try:
            rep = await self._call("get user", lambda admin: admin.a_get_user(user_id))
        except KeycloakError as exc:
            if _status(exc) == 404:
                return None
            raise self._failed("read the user", exc) from exc
        return KeycloakUser.from_representation(rep)

    async def find_user(self, username: str) -> KeycloakUser | None:
        wanted = username.strip().lower()
        try:
            reps = await self._call(
                "find user", lambda admin: admin.a_get_users({"username": wanted, "exact": True, "first": 0, "max": 5})
            )
        except KeycloakError as exc:
            raise self._failed("look the user up", exc) from exc
        for rep in reps:
            if str(rep.get("username", "")).lower() == wanted:
                return KeycloakUser.from_representation(rep)
        return None

    async def list_users(self, page_size: int = 500) -> list[KeycloakUser]:
        """Every user of the realm (service accounts excluded), page by page."""
        users: list[KeycloakUser] = []
        first = 0
        while True:
            query = {"first": first, "max": page_size}
            try:
                page = await self._call("list users", lambda admin, q=query: admin.a_get_users(dict(q)))  # type: ignore[misc]
            except KeycloakError as exc:
                raise self._failed("list users", exc) from exc
            users.extend(KeycloakUser.from_representation(rep) for rep in page if not rep.get("serviceAccountClientId"))
            if len(page) < page_size:
                return users
            first += page_size

    async def update_user(self, user_id: str, **changes: Any) -> None:
        """Read-modify-write: Keycloak's PUT replaces what it is given, so send the whole user back
        (a partial representation can drop attributes such as ``unit_code`` on a real Keycloak)."""

        async def update(admin: KeycloakAdmin) -> None:
            rep = await admin.a_get_user(user_id)
            rep.update(changes)
            for key in ("access", "createdTimestamp", "totp", "disableableCredentialTypes", "notBefore"):
                rep.pop(key, None)
            await admin.a_update_user(user_id, rep)

        try:
            await self._call("update user", update)
        except KeycloakError as exc:
            if _status(exc) == 409:
                raise EmailTaken("Another account already uses this email address.", fields=["holder.email"]) from exc
            raise self._failed("update the user", exc) from exc

    async def set_enabled(self, user_id: str, enabled: bool) -> None:
        await self.update_user(user_id, enabled=enabled)

    async def set_temporary_password(self, user_id: str, password: str) -> None:
        """A new temporary password: the holder must change it at the next login (``UPDATE_PASSWORD``)."""
        try:
            await self._call(
                "reset password", lambda admin: admin.a_set_user_password(user_id, password, temporary=True)
            )
        except KeycloakError as exc:
            if _status(exc) == 400:
                raise PasswordRejected(f"Keycloak rejected the password: {_message(exc)}") from exc
            raise self._failed("reset the password", exc) from exc

    async def logout(self, user_id: str) -> None:
        """End every session of the user (refresh tokens die; Keycloak refuses older tokens)."""
        try:
            await self._call("log out user", lambda admin: admin.a_user_logout(user_id))
        except KeycloakError as exc:
            raise self._failed("log the user out", exc) from exc

    async def delete_user(self, user_id: str) -> None:
        try:
            await self._call("delete user", lambda admin: admin.a_delete_user(user_id))
        except KeycloakError as exc:
            if _status(exc) == 404:
                return
            raise self._failed("delete the user", exc) from exc

    async def delete_user_quietly(self, user_id: str) -> bool:
        """Compensation: delete, and say whether it worked (the journal covers a failure)."""
        try:
            await self.delete_user(user_id)
        except Exception as exc:
            log.error("compensation failed: Keycloak user not deleted", user_id=user_id, error=repr(exc))
            return False
        return True

    # -- roles ---------------------------------------------------------------------------------------
    async def _role(self, name: str) -> dict[str, Any]:
        if name not in self._roles:
            try:
                self._roles[name] = await self._call("get role", lambda admin: admin.a_get_realm_role(name))
            except KeycloakError as exc:
                raise self._failed(f"find the role {name}", exc) from exc
        return self._roles[name]

    async def grant_realm_role(self, user_id: str, role: str) -> None:
        rep = await self._role(role)
        try:
            await self._call("assign role", lambda admin: admin.a_assign_realm_roles(user_id, [rep]))
        except KeycloakError as exc:
            raise self._failed("grant the role", exc) from exc

    async def realm_roles(self, user_id: str) -> set[str]:
        try:
            reps = await self._call("get user roles", lambda admin: admin.a_get_realm_roles_of_user(user_id))
        except KeycloakError as exc:
            raise self._failed("read the user's roles", exc) from exc
        return {str(r["name"]) for r in reps}

    # -- events --------------------------------------------------------------------------------------
    async def events(
        self, *, date_from_ms: int, first: int, max_results: int, types: Iterable[str]
    ) -> list[dict[str, Any]]:
        """Login events from `date_from_ms` (inclusive), oldest first."""
        query = {
            "dateFrom": str(date_from_ms),
            "first": first,
            "max": max_results,
            "direction": "asc",
            "type": sorted(types),
        }
        try:
            found = await self._call("get events", lambda admin: admin.a_get_events(dict(query)))
        except KeycloakError as exc:
            raise self._failed("read the login events", exc) from exc
        return list(found)
