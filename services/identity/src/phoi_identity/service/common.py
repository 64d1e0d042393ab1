"""Small helpers shared by the application services."""

from __future__ import annotations

from datetime import UTC, datetime

from phoi_identity.domain.errors import VersionMismatch


def now() -> datetime:
    return datetime.now(UTC)


def check_version(current: int, expected: int | None) -> None:
    """`expected` comes from ``If-Match``; None means the caller did not send one."""
    if expected is not None and expected != current:
        raise VersionMismatch(
            "It was changed since you read it; reload and try again.", current_version=current, your_version=expected
        )
