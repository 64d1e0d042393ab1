"""/api/v1/sign-in-activity — what Keycloak recorded about sign-ins, for QLCL's oversight.

``GET /sign-in-activity`` lists the accounts with repeated failed sign-ins in a window (default: the
last ``IDENTITY_FAILED_LOGINS_WINDOW_HOURS`` hours, at least ``IDENTITY_FAILED_LOGINS_THRESHOLD``
failures); with ``account=<id>`` it gives that account's counts whatever they are.
``GET /sign-in-activity/events`` lists the events themselves, newest first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from phoi_kit.app import UoW, User
from phoi_kit.openapi import problem_responses
from phoi_kit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, encode_cursor, read_cursor

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.adapters import sign_in as repo
from phoi_identity.api.accounts import visible_account
from phoi_identity.api.deps import OVERSIGHT, context
from phoi_identity.api.schemas import ActivityOut, ActivityReport, SignInEventOut

router = APIRouter(prefix="/sign-in-activity", tags=["sign-in activity"])


@router.get(
    "",
    summary="Accounts with repeated failed sign-ins (or one account's counts)",
    responses=problem_responses(403),
)
async def activity(
    request: Request,
    user: User,
    uow: UoW,
    account: uuid.UUID | None = None,
    window_hours: Annotated[float | None, Query(gt=0, le=24 * 366)] = None,
    # compared with a count in SQL as an integer (int4): a larger threshold could never be met anyway
    min_failures: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ActivityReport:
    user.require(*OVERSIGHT)
    settings = context(request).settings
    since = datetime.now(UTC) - timedelta(hours=window_hours or settings.failed_logins_window_hours)
    threshold = min_failures or settings.failed_logins_threshold
    rows = await repo.summaries(uow.session, since=since, min_failures=threshold, account_id=account, limit=limit)
    out: list[ActivityOut] = []
    for row in rows:
        acc = await account_repo.get(uow.session, row.account_id)
        out.append(
            ActivityOut(
                account_id=row.account_id,
                username=acc.username if acc else None,
                unit_code=acc.unit_code if acc else None,
                status=acc.status if acc else None,
                failures=row.failures,
                successes=row.successes,
                repeated_failures=row.failures >= threshold,
                last_failure_at=row.last_failure_at,
                last_failure_ip=row.last_failure_ip,
                last_failure_error=row.last_failure_error,
                last_success_at=row.last_success_at,
            )
        )
    if account is not None and not out:
        acc = await account_repo.get(uow.session, account)
        if acc is not None:
            out.append(
                ActivityOut(
                    account_id=acc.id,
                    username=acc.username,
                    unit_code=acc.unit_code,
                    status=acc.status,
                    failures=0,
                    successes=0,
                    repeated_failures=False,
                    last_failure_at=None,
                    last_failure_ip=None,
                    last_failure_error=None,
                    last_success_at=None,
                )
            )
    return ActivityReport(since=since, min_failures=threshold, accounts=out)


@router.get("/events", summary="Sign-in events, newest first", responses=problem_responses(400, 403, 404))
async def events(
    user: User,
    uow: UoW,
    account: uuid.UUID | None = None,
    event_type: Annotated[str | None, Query(alias="type", description="e.g. auth.login_failed.v1")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SignInEventOut]:
    """QLCL's administrators and auditors see everyone's; the holder of a unit account sees its own
    account's (`account` = its id), so the account page can show the recent sign-ins."""
    if user.is_unit and account is not None:
        await visible_account(uow, user, account)  # another unit's account: 404
    else:
        user.require(*OVERSIGHT)
    size = limit
    before = read_cursor(cursor, datetime.fromisoformat, str)
    rows = await repo.events_page(
        uow.session,
        limit=size + 1,
        before=(before[0], before[1]) if before else None,
        account_id=account,
        event_type=event_type,
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(rows[-1].occurred_at.isoformat(), rows[-1].key) if more else None
    return Page[SignInEventOut](
        items=[
            SignInEventOut(
                key=r.key,
                occurred_at=r.occurred_at,
                type=r.type,
                keycloak_type=r.keycloak_type,
                account_id=r.account_id,
                user_id=r.user_id,
                username=r.username,
                client_id=r.client_id,
                ip_address=r.ip_address,
                error=r.error,
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )
