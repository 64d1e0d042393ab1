"""/api/v1/accounts — accounts over Keycloak: issue or adopt, hand over, lock, unlock, disable.

Only qlcl_admin changes accounts (Article 8.1: QLCL administers them; Article 8.4: the handover is
recorded by QLCL on the word of the unit's head, who is not a system user). qlcl_admin and auditors
read every account; a unit account reads its own unit's accounts; officers read none.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from phoi_contracts.events.identity import AccountKind, Role
from phoi_kit.app import UoW, User
from phoi_kit.auth import CurrentUser
from phoi_kit.auth import Role as KitRole
from phoi_kit.openapi import problem_responses
from phoi_kit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, encode_cursor, read_cursor
from phoi_kit.uow import UnitOfWork
from phoi_kit.versioning import IfMatch, set_etag

from phoi_identity.adapters import accounts as repo
from phoi_identity.api.deps import ACCOUNT_READERS, CHANGE_STATUSES, Ctx, no_store, unit_scope
from phoi_identity.api.schemas import (
    AccountIn,
    AccountOut,
    AccountWithPassword,
    HandoverIn,
    HolderIn,
    HolderOut,
    LockedAccountOut,
    ReasonIn,
    UnlockIn,
)
from phoi_identity.domain.errors import AccountNotFound
from phoi_identity.models import AccountRow
from phoi_identity.service import accounts as service

router = APIRouter(prefix="/accounts", tags=["accounts"])

_CHANGE = problem_responses(*CHANGE_STATUSES)
# Lock and disable: also the last live administrator, who is never taken out of service.
_TAKE_OUT = problem_responses(
    *CHANGE_STATUSES,
    notes={409: "Wrong state (`account_state_conflict`), or the last administrator (`last_administrator`)."},
)


def _holder(body: HolderIn) -> service.Holder:
    return service.Holder(name=body.name, position=body.position, email=body.email, phone=body.phone)


async def visible_account(uow: UnitOfWork, user: CurrentUser, account_id: uuid.UUID) -> AccountRow:
    user.require(*ACCOUNT_READERS)
    account = await repo.get(uow.session, account_id)
    if account is None or (user.is_unit and account.unit_code != user.unit_code):
        raise AccountNotFound("No such account.", account_id=str(account_id))
    return account


@router.get("", summary="List accounts (a unit account sees its own unit's)", responses=problem_responses(400, 403))
async def list_accounts(
    user: User,
    uow: UoW,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    unit_code: str | None = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    kind: AccountKind | None = None,
    role: Role | None = None,
) -> Page[AccountOut]:
    user.require(*ACCOUNT_READERS)
    size = limit
    after = read_cursor(cursor, datetime.fromisoformat, uuid.UUID)
    scope = unit_scope(user)
    if scope is not None and unit_code is not None and unit_code.upper() != scope:
        return Page[AccountOut](items=[], next_cursor=None)
    rows = await repo.page(
        uow.session,
        limit=size + 1,
        after=(after[0], after[1]) if after else None,
        unit_code=scope or (unit_code.upper() if unit_code else None),
        status=status_filter,
        kind=kind.value if kind else None,
        role=role.value if role else None,
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more else None
    return Page[AccountOut](items=[AccountOut.of(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Issue an account (Keycloak user with a temporary password), or adopt an existing Keycloak user",
    responses=problem_responses(403, 404, 409, 422, 502, 503),
)
async def create_account(body: AccountIn, user: User, uow: UoW, ctx: Ctx, response: Response) -> AccountWithPassword:
    user.require(KitRole.QLCL_ADMIN)
    no_store(response)
    password: str | None = None
    if body.keycloak_username is not None:
        account = await service.adopt(
            uow,
            ctx,
            service.Adoption(
                keycloak_username=body.keycloak_username,
                holder=_holder(body.holder) if body.holder else None,
                kind=body.kind,
                role=body.role,
                unit_code=body.unit_code,
            ),
        )
    else:
        assert body.kind is not None  # checked by the schema
        assert body.holder is not None
        account, password = await service.create(
            uow,
            ctx,
            service.NewAccount(
                kind=body.kind,
                holder=_holder(body.holder),
                role=body.role,
                unit_code=body.unit_code,
                username=body.username,
            ),
        )
    response.headers["Location"] = f"/api/v1/accounts/{account.id}"
    set_etag(response, account.version)
    return AccountWithPassword.with_password(account, password)


@router.get("/{account_id}", summary="One account", responses=problem_responses(403, 404))
async def get_account(account_id: uuid.UUID, user: User, uow: UoW, response: Response) -> AccountOut:
    account = await visible_account(uow, user, account_id)
    set_etag(response, account.version)
    return AccountOut.of(account)


@router.get(
    "/{account_id}/holders",
    summary="Who held the account when (oldest first)",
    responses=problem_responses(400, 403, 404),
)
async def account_holders(
    account_id: uuid.UUID, user: User, uow: UoW, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[HolderOut]:
    await visible_account(uow, user, account_id)
    position = read_cursor(cursor, int)
    after = position[0] if position else 0
    rows = [h for h in await repo.holders(uow.session, account_id) if h.seq > after]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[HolderOut](
        items=[HolderOut.of(h) for h in rows], next_cursor=encode_cursor(rows[-1].seq) if more else None
    )


@router.post(
    "/{account_id}/handover",
    status_code=status.HTTP_201_CREATED,
    summary="Hand the account to a new holder: new temporary password, every session ended (Article 8.4)",
    responses=_CHANGE,
)
async def hand_over(
    account_id: uuid.UUID, body: HandoverIn, user: User, uow: UoW, ctx: Ctx, response: Response, version: IfMatch
) -> AccountWithPassword:
    user.require(KitRole.QLCL_ADMIN)
    no_store(response)
    account, password = await service.hand_over(uow, ctx, account_id, _holder(body.holder), body.reason, version)
    response.headers["Location"] = f"/api/v1/accounts/{account.id}/holders"
    set_etag(response, account.version)
    return AccountWithPassword.with_password(account, password)


@router.post(
    "/{account_id}/lock",
    summary="Lock: Keycloak user disabled, sessions ended, tokens refused everywhere",
    responses=_TAKE_OUT,
)
async def lock(
    account_id: uuid.UUID, body: ReasonIn, user: User, uow: UoW, ctx: Ctx, response: Response, version: IfMatch
) -> LockedAccountOut:
    user.require(KitRole.QLCL_ADMIN)
    account, synced = await service.lock(uow, ctx, account_id, body.reason, expected_version=version)
    set_etag(response, account.version)
    return LockedAccountOut(**AccountOut.fields_of(account), keycloak_synced=synced)


@router.post("/{account_id}/unlock", summary="Unlock, optionally with a new temporary password", responses=_CHANGE)
async def unlock(
    account_id: uuid.UUID, body: UnlockIn, user: User, uow: UoW, ctx: Ctx, response: Response, version: IfMatch
) -> AccountWithPassword:
    user.require(KitRole.QLCL_ADMIN)
    no_store(response)
    account, password = await service.unlock(
        uow, ctx, account_id, body.reason, reset_password=body.reset_password, expected_version=version
    )
    set_etag(response, account.version)
    return AccountWithPassword.with_password(account, password)


@router.post(
    "/{account_id}/disable", summary="Disable for good (the Keycloak user is kept, disabled)", responses=_TAKE_OUT
)
async def disable(
    account_id: uuid.UUID, body: ReasonIn, user: User, uow: UoW, ctx: Ctx, response: Response, version: IfMatch
) -> AccountOut:
    user.require(KitRole.QLCL_ADMIN)
    account = await service.disable(uow, ctx, account_id, body.reason, version)
    set_etag(response, account.version)
    return AccountOut.of(account)
