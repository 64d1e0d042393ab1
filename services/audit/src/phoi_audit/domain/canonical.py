"""The canonical serialisation the audit hash chain is computed over (format version 1).

Rules — changing any of them changes every hash, so they are pinned by a golden test:

* JSON (RFC 8259) with object keys sorted by code point (``sort_keys=True``), no insignificant
  whitespace (separators ``,`` and ``:``), non-ASCII characters written as themselves
  (``ensure_ascii=False``) and the whole text encoded as UTF-8. Strings are **not** Unicode-normalised:
  the hash covers the exact code points (store them exactly; PostgreSQL ``text``/``jsonb`` do).
* Only JSON values are allowed: ``None``, ``bool``, ``int``, finite ``float``, ``str``, lists/tuples,
  and mappings with ``str`` keys. NaN/Infinity, non-string keys, bytes, sets, datetimes inside the payload
  etc. are refused (``InvalidAuditEntry``) — the producer must put them in JSON form first.
  Numbers are written the way Python's ``json`` writes them (``1`` and ``1.0`` differ; floats use the
  shortest repr that round-trips).
* Datetimes (entry fields, not payload values): timezone-aware, converted to UTC, written as RFC 3339
  with exactly six fractional digits and ``Z``: ``2025-06-01T01:02:03.000004Z``. Naive datetimes are
  refused.
* UUIDs: the lowercase hyphenated form (``str(uuid)``).
* The document hashed for an entry is the object of every field except ``hash``::

      {"actor":{"role":…,"unit_code":…,"user_id":…,"username":…},"event_id":"…","occurred_at":"…",
       "payload":{…},"prev_hash":"…","recorded_at":"…","sequence":1,"subject":…,"type":"…","unit_code":…}

* ``hash = sha256(prev_hash_ascii_bytes + canonical_bytes).hexdigest()`` (lowercase hex).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from phoi_audit.domain.errors import InvalidAuditEntry

CANONICAL_FORMAT_VERSION: Final = 1

# One encoder for every call (the same as json.dumps with these arguments, without building one each time).
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """``value`` (a JSON value) as canonical JSON text; ``InvalidAuditEntry`` if it is not JSON."""
    check_json_value(value)
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:  # pragma: no cover - check_json_value catches these first
        raise InvalidAuditEntry(f"not canonical JSON: {exc}") from exc


def canonical_bytes_of(value: Any) -> bytes:
    """``canonical_json(value)`` encoded as UTF-8 (lone surrogates are refused)."""
    check_json_value(value)
    return encode_checked(value)


def encode_checked(value: Any) -> bytes:
    """``canonical_bytes_of`` for a value already known to pass ``check_json_value``."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:  # pragma: no cover - the check catches these first
        raise InvalidAuditEntry(f"not canonical JSON: {exc}") from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidAuditEntry("text is not valid Unicode (lone surrogate)", field="payload") from exc


def canonical_datetime(value: datetime, *, field: str) -> str:
    """RFC 3339, UTC, microseconds, ``Z`` suffix."""
    if not isinstance(value, datetime):
        raise InvalidAuditEntry(f"{field} must be a datetime", field=field)
    if value.tzinfo is UTC:  # the common case (stored and normalised values): no conversion needed
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidAuditEntry(f"{field} must be timezone-aware", field=field)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_uuid(value: uuid.UUID, *, field: str) -> str:
    if not isinstance(value, uuid.UUID):
        raise InvalidAuditEntry(f"{field} must be a UUID", field=field)
    return str(value)


def _plainly_json(value: Any) -> bool:
    """Fast path of ``check_json_value``: True when ``value`` is made of the exact built-in JSON types
    (what ``json.loads`` returns). Stricter than the full check, never looser: anything it does not
    accept (a subclass, a non-dict mapping, a bad value) goes through the full check, which decides."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plainly_json(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plainly_json(item):
                return False
        return True
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    return False


def check_json_value(value: Any, path: str = "payload") -> None:
    """Raise ``InvalidAuditEntry`` unless ``value`` is made of JSON values only (see the module rules)."""
    if _plainly_json(value):
        return
    _check_json_value(value, path)


def _check_json_value(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidAuditEntry(f"{path}: NaN and infinities are not JSON", field=path)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidAuditEntry(f"{path}: object keys must be strings, got {key!r}", field=path)
            _check_json_value(item, f"{path}.{key}")
        return
    raise InvalidAuditEntry(f"{path}: {type(value).__name__} is not a JSON value", field=path)


def json_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    """A detached copy made only of plain JSON types (tuples become lists), as it will be read back."""
    copied = json.loads(canonical_json(value))
    if not isinstance(copied, dict):
        raise InvalidAuditEntry("payload must be a JSON object", field="payload")
    return copied
