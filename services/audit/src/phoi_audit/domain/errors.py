"""Typed errors of the audit domain, each with a stable machine ``code``, its message (the ``detail``) and
``details()`` (extra members of a problem document). No HTTP here: ``api/errors.py`` gives the status."""

from __future__ import annotations

from typing import Any, ClassVar


class AuditDomainError(Exception):
    code: ClassVar[str] = "audit.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        return {}


class InvalidAuditEntry(AuditDomainError, ValueError):
    """A field cannot be canonicalised (naive datetime, non-JSON payload, bad hash format...)."""

    code: ClassVar[str] = "audit.invalid_entry"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field}
