"""Units: the organisations of the directory (QLCL, provincial departments, institutions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from phoi_contracts.events.identity import UnitKind

from phoi_identity.domain.errors import InvalidUnit, IssuerUnitProtected, UnitStateConflict

# Other spellings of the kinds, accepted on input (the demo seed says "issuer" and
# "provincial_department"); stored and published as the contract's values.
KIND_ALIASES: Mapping[str, UnitKind] = {
    "qlcl": UnitKind.QLCL,
    "issuer": UnitKind.QLCL,
    "department": UnitKind.DEPARTMENT,
    "provincial_department": UnitKind.DEPARTMENT,
    "institution": UnitKind.INSTITUTION,
    "education_institution": UnitKind.INSTITUTION,
}

# Fields of a unit an administrator may change (PATCH); the code and the kind never change.
MUTABLE_FIELDS = ("name", "name_en", "province", "parent_code", "head_name", "head_position", "head_contact")


class UnitStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


def parse_kind(value: str) -> UnitKind:
    kind = KIND_ALIASES.get(value.strip().lower())
    if kind is None:
        raise ValueError(f"unknown unit kind {value!r}; expected one of {sorted(KIND_ALIASES)}")
    return kind


def normalise_code(code: str) -> str:
    """Unit codes are compared and stored upper-case (``sgd-hn`` is ``SGD-HN``)."""
    return code.strip().upper()


@dataclass(frozen=True)
class UnitChange:
    """The fields a PATCH actually changes, with their new values."""

    values: Mapping[str, Any]

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(sorted(self.values))

    def __bool__(self) -> bool:
        return bool(self.values)


def diff(current: Mapping[str, Any], requested: Mapping[str, Any]) -> UnitChange:
    """What `requested` changes in `current` (only mutable fields; unchanged values dropped)."""
    unknown = set(requested) - set(MUTABLE_FIELDS)
    if unknown:
        raise InvalidUnit(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", fields=sorted(unknown))
    if "name" in requested and not requested["name"]:
        raise InvalidUnit("A unit needs a name.", fields=["name"])
    return UnitChange({k: v for k, v in requested.items() if current.get(k) != v})


def check_parent(code: str, parent_code: str | None, ancestors_of_parent: list[str]) -> None:
    """A unit cannot be its own parent, directly or through its parent's parents."""
    if parent_code is None:
        return
    if parent_code == code or code in ancestors_of_parent:
        raise InvalidUnit("A unit cannot be placed under itself.", fields=["parent_code"])


def deactivate(status: UnitStatus, kind: UnitKind) -> UnitStatus:
    """A unit stops acting. Never the issuer: deactivating it would disable every QLCL account, the
    administrators' included, and no call could undo that (the check constraint ``ck_units_issuer_active``
    holds it in the database too)."""
    if kind is UnitKind.QLCL:
        raise IssuerUnitProtected(
            "QLCL issues the blanks and administers the system; it cannot be deactivated.", kind=kind.value
        )
    if status is UnitStatus.INACTIVE:
        raise UnitStateConflict("The unit is already inactive.", status=status.value)
    return UnitStatus.INACTIVE


def reactivate(status: UnitStatus) -> UnitStatus:
    if status is UnitStatus.ACTIVE:
        raise UnitStateConflict("The unit is already active.", status=status.value)
    return UnitStatus.ACTIVE
