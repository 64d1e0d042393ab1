"""Dependencies and small helpers shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Annotated

from fastapi import Depends, Request, Response
from phoi_contracts.envelope import Actor
from phoi_kit.app import runtime_of
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.logging import correlation_id_var
from phoi_kit.uow import UnitOfWork

from phoi_identity.service.context import IdentityContext
from phoi_identity.settings import Network

NO_STORE = "no-store"


def context(request: Request) -> IdentityContext:
    ctx: IdentityContext = request.app.state.identity
    return ctx


Ctx = Annotated[IdentityContext, Depends(context)]


def no_store(response: Response) -> None:
    """For bodies that carry a temporary password: no cache anywhere may keep them."""
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Pragma"] = "no-cache"


# What a change over Keycloak may answer besides 401/422: forbidden, not found, conflict, Keycloak's 502/503.
CHANGE_STATUSES = (403, 404, 409, 422, 502, 503)

# Who reads what.
DIRECTORY_READERS = (Role.QLCL_ADMIN, Role.QLCL_OFFICER, Role.AUDITOR, Role.UNIT_ACCOUNT)
ACCOUNT_READERS = (Role.QLCL_ADMIN, Role.AUDITOR, Role.UNIT_ACCOUNT)
OVERSIGHT = (Role.QLCL_ADMIN, Role.AUDITOR)


def unit_scope(user: CurrentUser) -> str | None:
    """The only unit a unit account may see; None for everyone else."""
    return (user.unit_code or "!") if user.is_unit else None  # "!" is no unit code


# --- the public intake: no token, so no user -------------------------------------------------------
ANONYMOUS_ACTOR = Actor(username="anonymous")


async def public_unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """The kit's request transaction, for an endpoint nobody signs in to: events carry the anonymous actor."""
    runtime = runtime_of(request)
    async with runtime.database.session() as session:
        uow = UnitOfWork(session, source=runtime.source, actor=ANONYMOUS_ACTOR, correlation_id=correlation_id_var.get())
        try:
            yield uow
            await uow.commit()
        except BaseException:
            await uow.rollback()
            raise


PublicUoW = Annotated[UnitOfWork, Depends(public_unit_of_work, scope="function")]


def _address(value: str) -> IPv4Address | IPv6Address | None:
    try:
        parsed = ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """Where a request came from: the direct peer, unless it is a trusted proxy, in which case the
    X-Forwarded-For hops are walked from the right (the nearest first) for as long as the hop that
    handed the request on is trusted. A malformed hop stops the walk: what is known so far is kept."""
    address = _address(peer or "")
    if address is None:
        return (peer or "unknown")[:255]
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not any(address in network for network in trusted):
            break
        forwarded = _address(hop)
        if forwarded is None:
            break
        address = forwarded
    return str(address)


def request_address(request: Request, ctx: Ctx) -> str:
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), ctx.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(request_address)]
