"""Small helpers shared by the application services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.errors import VersionMismatch
from phoi_identity.models import AccountRow


def now() -> datetime:
    return datetime.now(UTC)


def check_version(current: int, expected: int | None) -> None:
    """`expected` comes from ``If-Match``; None means the caller did not send one."""
    if expected is not None and expected != current:
        raise VersionMismatch(
            "It was changed since you read it; reload and try again.", current_version=current, your_version=expected
        )


def account_refs(account: AccountRow) -> dict[str, Any]:
    """The fields every account event carries to name its account (`user_id` is the token's `sub`)."""
    return {
        "account_id": account.id,
        "user_id": account.keycloak_user_id,
        "username": account.username,
        "unit_code": account.unit_code,
    }


def change_status(
    account: AccountRow, status: AccountStatus, reason: str | None, *, at: datetime | None = None
) -> datetime:
    """Every account status change bumps the version (ETag) and stamps the time; returns that time."""
    at = at or now()
    account.status = status.value
    account.status_reason = reason
    account.version += 1
    account.updated_at = at
    return at
