"""Small pieces the routes share: settings, cursors, version headers, who may read."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from phoi_kit.app import runtime_of
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.errors import BadRequest, Unprocessable

from phoi_inventory.settings import Settings

READERS = (Role.UNIT_ACCOUNT, Role.QLCL_OFFICER, Role.QLCL_ADMIN, Role.AUDITOR)


def settings_of(request: Request) -> Settings:
    settings = runtime_of(request).settings
    assert isinstance(settings, Settings)
    return settings


AppSettings = Annotated[Settings, Depends(settings_of)]


def require_reader(user: CurrentUser) -> None:
    user.require(*READERS)


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    values = raw.split("|")
    if len(values) != parts or not all(values):
        raise Unprocessable("The cursor is not one this service gave out.", code="invalid_cursor")
    return values


_ETAG = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')


def _if_match(if_match: Annotated[str | None, Header(description='The ETag you read, e.g. "3".')] = None) -> int | None:
    if if_match is None:
        return None
    match = _ETAG.match(if_match.strip())
    if match is None:
        raise BadRequest('If-Match must be the ETag you read, e.g. If-Match: "3".', code="invalid_if_match")
    return int(match.group(1))


IfMatch = Annotated[int | None, Depends(_if_match)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
