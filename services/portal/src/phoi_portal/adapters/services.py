"""Calls to the domain services' APIs with the signed-in user's access token.

The portal never decides what a user may do: every call carries the user's own token and the service
authorises it. Answers become one of three things for the pages: the JSON body; an `ApiProblem` (a 4xx
problem document — shown to the user as a message); `ServiceDown` (5xx or unreachable — a polite page
with the correlation id as the reference). A 401 means the session is over (`SessionEnded`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from phoi_kit.http import CORRELATION_HEADER
from phoi_kit.logging import correlation_id_var, get_logger

from phoi_portal.settings import Settings

log = get_logger(__name__)

ServiceName = Literal["identity", "requests", "inventory", "audit"]


@dataclass
class ApiProblem(Exception):
    status: int
    code: str
    detail: str
    body: dict[str, Any] = field(default_factory=dict)

    def field_errors(self) -> dict[str, str]:
        """Field → code, from a problem's `field` or its validation `errors` list."""
        out: dict[str, str] = {}
        if isinstance(self.body.get("field"), str):
            out[self.body["field"]] = self.code
        for error in self.body.get("errors") or []:
            loc = [str(p) for p in error.get("loc", []) if p not in ("body", "query", "path")]
            if loc:
                out.setdefault(".".join(loc), str(error.get("type") or self.code))
        return out


class ServiceDown(Exception):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class SessionEnded(Exception):
    """The service refused the token (expired, revoked, account locked): sign in again."""


class ServiceClients:
    def __init__(self, settings: Settings) -> None:
        self._urls: dict[str, str] = {
            "identity": settings.identity_url,
            "requests": settings.requests_url,
            "inventory": settings.inventory_url,
            "audit": settings.audit_url,
        }
        self._http = httpx.AsyncClient(timeout=settings.api_timeout_seconds)

    async def call(
        self,
        service: ServiceName,
        method: str,
        path: str,
        *,
        token: str | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        files: Any = None,
        data: Any = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        all_headers = {CORRELATION_HEADER: correlation_id_var.get() or "", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self._http.request(
                method,
                self._urls[service] + path,
                json=json,
                params=clean,
                headers=all_headers,
                files=files,
                data=data,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.HTTPError as exc:
            log.warning("service unreachable", service=service, path=path, error=repr(exc))
            raise ServiceDown(service, type(exc).__name__) from exc
        if response.status_code >= 500:
            log.warning("service error", service=service, path=path, status=response.status_code)
            raise ServiceDown(service, f"HTTP {response.status_code}")
        if response.status_code == 401 and token:
            raise SessionEnded
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def stream(
        self, service: ServiceName, path: str, *, token: str | None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """A GET whose body is not read yet (a large download passed through): the caller reads it with
        `aiter_raw()` and must `aclose()` it. Errors are raised as for `call`, with their body read."""
        headers = {CORRELATION_HEADER: correlation_id_var.get() or ""}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        request = self._http.build_request("GET", self._urls[service] + path, params=clean, headers=headers)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("service unreachable", service=service, path=path, error=repr(exc))
            raise ServiceDown(service, type(exc).__name__) from exc
        if response.status_code < 400:
            return response
        try:
            await response.aread()
        finally:
            await response.aclose()
        if response.status_code >= 500:
            log.warning("service error", service=service, path=path, status=response.status_code)
            raise ServiceDown(service, f"HTTP {response.status_code}")
        if response.status_code == 401 and token:
            raise SessionEnded
        raise _problem(response)

    async def get_json(self, service: ServiceName, path: str, *, token: str | None, **params: Any) -> Any:
        return (await self.call(service, "GET", path, token=token, params=params)).json()

    async def aclose(self) -> None:
        await self._http.aclose()


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiProblem(
        status=response.status_code,
        code=str(body.get("code") or f"http_{response.status_code}"),
        detail=str(body.get("detail") or ""),
        body=body,
    )
