"""Password hashing for the stand-in: scrypt with a random salt; plain text is never stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

_N = 2**14
_R = 8
_P = 1
_LEN = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> dict[str, Any]:
    """A JSON-serialisable record of the scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    return {"algorithm": "scrypt", "n": _N, "r": _R, "p": _P, "salt": _b64(salt), "hash": _b64(digest)}


def verify_password(record: dict[str, Any], password: str) -> bool:
    """Constant-time check of ``password`` against a record made by :func:`hash_password`."""
    if record.get("algorithm") != "scrypt":
        return False
    salt = base64.b64decode(record["salt"])
    expected = base64.b64decode(record["hash"])
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=int(record["n"]),
        r=int(record["r"]),
        p=int(record["p"]),
        dklen=len(expected),
    )
    return hmac.compare_digest(digest, expected)
