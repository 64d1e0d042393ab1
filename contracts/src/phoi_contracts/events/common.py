"""Reusable building blocks of event payloads: codes, texts, serial ranges."""

import uuid
from collections.abc import Iterable
from itertools import pairwise
from typing import Annotated, Final, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

#: Largest serial number: 2**53 - 1, exact in every JSON parser and within PostgreSQL ``int8range``.
MAX_SERIAL: Final = 2**53 - 1

#: A code (unit code, form type code): letters, digits, ``_ . -``; starts with a letter or digit.
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
#: A short single-line text (names, references, identifiers from other systems).
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=255)]
#: A free text (reasons, notes, descriptions).
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
#: A school year such as ``2024-2025``.
AcademicYear = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{4}$")]


class SubModel(BaseModel):
    """Base of the value objects nested in event payloads: frozen, no unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SerialRange(SubModel):
    """An inclusive range of blank serial numbers; ``first <= last``."""

    first: StrictInt = Field(ge=0, le=MAX_SERIAL, description="First serial number (inclusive).")
    last: StrictInt = Field(ge=0, le=MAX_SERIAL, description="Last serial number (inclusive), >= first.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.first > self.last:
            raise ValueError(f"serial range first ({self.first}) must not exceed last ({self.last})")
        return self

    @property
    def size(self) -> int:
        """How many blanks the range holds."""
        return self.last - self.first + 1


def total_size(ranges: Iterable[SerialRange]) -> int:
    """How many blanks a collection of ranges holds."""
    return sum(r.size for r in ranges)


def _sorted_disjoint(ranges: tuple[SerialRange, ...]) -> tuple[SerialRange, ...]:
    for before, after in pairwise(ranges):
        if after.first <= before.last:
            raise ValueError("serial ranges must be in ascending order and must not overlap")
    return ranges


#: A non-empty list of ranges in ascending order, none overlapping another (adjacent ones allowed).
SerialRanges = Annotated[tuple[SerialRange, ...], Field(min_length=1), AfterValidator(_sorted_disjoint)]


def require_unique_line_ids(ids: Iterable[uuid.UUID]) -> None:
    """Raise `ValueError` if a line id appears twice."""
    seen: set[uuid.UUID] = set()
    for line_id in ids:
        if line_id in seen:
            raise ValueError(f"line_id {line_id} appears more than once")
        seen.add(line_id)
