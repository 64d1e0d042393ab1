"""Dates and times that accept exactly what the OpenAPI says: ISO 8601 text.

pydantic's lax mode also reads a number as a Unix timestamp (`?to=0` is 1970-01-01), which the schema
(`format: date`) does not allow and no client means; these types refuse it (422 `validation_failed`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

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


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
