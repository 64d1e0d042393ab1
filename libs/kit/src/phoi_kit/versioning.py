"""Optimistic concurrency over HTTP: resources carry `ETag: "<version>"`; a change sends the version it
read in `If-Match`. A missing header where one is required is 428, an unreadable one 400; the service
compares the number with the current version and answers 412 when it moved on."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Response

from phoi_kit.errors import BadRequest, PreconditionRequired

ETAG_PATTERN = r'^(?:W/)?(?:"([0-9]{1,9})"|([0-9]{1,9}))$'
_ETAG = re.compile(ETAG_PATTERN)


def parse_if_match(value: str | None) -> int | None:
    """The version in `If-Match` (`"3"`, `W/"3"` or `3`); None when absent. `*` is refused: a change
    must name the version it was based on."""
    if value is None:
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise BadRequest(
            'If-Match must be the ETag you read, e.g. If-Match: "3".', code="invalid_if_match", if_match=value[:100]
        )
    return int(match.group(1) or match.group(2))


def _optional(if_match: Annotated[str | None, Header(description='The ETag you read, e.g. "3".')] = None) -> int | None:
    return parse_if_match(if_match)


def _required(if_match: Annotated[str | None, Header(description='The ETag you read, e.g. "3".')] = None) -> int:
    version = parse_if_match(if_match)
    if version is None:
        raise PreconditionRequired("Send If-Match with the version (ETag) you read.")
    return version


def _required_by_service(
    if_match: Annotated[str | None, Header(description='The ETag you read, e.g. "3".')] = None,
) -> int | None:
    return parse_if_match(if_match)


#: Optional: without it the change applies to whatever version is current.
IfMatch = Annotated[int | None, Depends(_optional)]
#: Required: 428 before anything else when it is missing.
IfMatchRequired = Annotated[int, Depends(_required)]
#: Required, and the service answers the 428 itself (None when missing), after the checks that come first
#: (the caller may see the resource: 404; may ever do this: 403), so the 428 can name the current version.
IfMatchRequiredByService = Annotated[int | None, Depends(_required_by_service)]
#: The dependencies that make If-Match required; the OpenAPI says so (phoi_kit.openapi).
REQUIRED_IF_MATCH = frozenset({_required, _required_by_service})


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
