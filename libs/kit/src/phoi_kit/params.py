"""Dates and times that accept exactly what the OpenAPI says: ISO 8601 text, within the years the system
can mean.

pydantic's lax mode also reads a number as a Unix timestamp (`?to=0` is 1970-01-01), which the schema
(`format: date`) does not allow and no client means; these types refuse it (422 `validation_failed`).

The years are 2000 to 2099 (`MIN_YEAR`, `MAX_YEAR`): blanks issued under Decision 2699 are recent, and
the calendar's edges (0001-01-01, 9999-12-31) overflow the date arithmetic and the time-zone conversion of
a report's period. A date outside is 422 `validation_failed` with the `type` `date_out_of_range`; the
OpenAPI says it with a `pattern` on the year."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

MIN_YEAR = 2000
MAX_YEAR = 2099
YEAR_PATTERN = r"^20[0-9]{2}-"  # MIN_YEAR..MAX_YEAR, as the OpenAPI states it

D = TypeVar("D", bound=date)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DATE.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date, e.g. 2025-06-30")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _DATETIME.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date and time with its offset, e.g. 2025-06-30T08:00:00+07:00")


def _within_years(value: D) -> D:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError(
            "date_out_of_range",
            "The year must be from {min_year} to {max_year}.",
            {"min_year": MIN_YEAR, "max_year": MAX_YEAR},
        )
    return value


class _YearsInSchema:
    """States the years in the JSON schema, beside `format` (which cannot bound a date)."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema: dict[str, Any] = handler(schema)
        json_schema["pattern"] = YEAR_PATTERN
        return json_schema


IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_within_years), _YearsInSchema()]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime), AfterValidator(_within_years), _YearsInSchema()]
