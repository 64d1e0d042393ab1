"""Signing keys of the stand-in, persisted in the state directory.

RS256 keys sign access and ID tokens and are published in the JWKS; an HS512 key signs refresh
tokens and the SSO cookie (Keycloak does the same). :meth:`KeyStore.rotate` makes a new active
key; the previous one stays in the JWKS (so tokens it signed still verify) for a grace period.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey

from .storage import atomic_write_json

KEYS_FILE = "keys.json"


class KeyStore:
    def __init__(self, state_dir: Path, clock: Callable[[], float]) -> None:
        self._path = state_dir / KEYS_FILE
        self._clock = clock
        self._rsa: list[dict[str, Any]] = []
        self._hmac: dict[str, Any] = {}
        if self._path.exists():
            data = json.loads(self._path.read_text(encoding="utf-8"))
            self._rsa = list(data["rsa"])
            self._hmac = dict(data["hmac"])
        else:
            self._rsa = [self._new_rsa()]
            self._hmac = {"kid": secrets.token_urlsafe(16), "k": _b64url(secrets.token_bytes(64))}
            self._save()

    # -- persistence -------------------------------------------------------------------------
    def _new_rsa(self) -> dict[str, Any]:
        key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, private=True)
        kid = key.thumbprint()
        jwk = key.as_dict(private=True)
        jwk["kid"] = kid
        return {"kid": kid, "jwk": jwk, "created": self._clock(), "retire_at": None}

    def _save(self) -> None:
        atomic_write_json(self._path, {"rsa": self._rsa, "hmac": self._hmac}, mode=0o600)

    def _prune(self) -> None:
        now = self._clock()
        keep = [k for k in self._rsa if k["retire_at"] is None or k["retire_at"] > now]
        if len(keep) != len(self._rsa):
            self._rsa = keep
            self._save()

    # -- RSA -----------------------------------------------------------------------------------
    @property
    def active_kid(self) -> str:
        return str(self._rsa[-1]["kid"])

    def _rsa_key(self, entry: dict[str, Any]) -> RSAKey:
        return RSAKey.import_key(entry["jwk"])

    def rotate(self, grace_seconds: float) -> str:
        """New active signing key; the old ones stay published for ``grace_seconds``. Returns the new kid."""
        now = self._clock()
        for entry in self._rsa:
            if entry["retire_at"] is None:
                entry["retire_at"] = now + grace_seconds
        self._rsa.append(self._new_rsa())
        self._save()
        return self.active_kid

    def jwks(self) -> dict[str, Any]:
        """The public JWKS, newest key first."""
        self._prune()
        keys = []
        for entry in reversed(self._rsa):
            public = self._rsa_key(entry).as_dict(private=False)
            keys.append(
                {
                    "kid": entry["kid"],
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "n": public["n"],
                    "e": public["e"],
                }
            )
        return {"keys": keys}

    def public_key_b64(self) -> str:
        """The active public key as base64 DER (SubjectPublicKeyInfo), as ``GET /realms/{realm}`` shows it."""
        pem = self._rsa_key(self._rsa[-1]).as_pem(private=False)
        public = serialization.load_pem_public_key(pem)
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode("ascii")

    def sign(self, claims: dict[str, Any]) -> str:
        """RS256 JWT with the active key."""
        entry = self._rsa[-1]
        header = {"alg": "RS256", "typ": "JWT", "kid": entry["kid"]}
        return jwt.encode(header, claims, self._rsa_key(entry), algorithms=["RS256"])

    def verify(self, token: str) -> dict[str, Any] | None:
        """Claims of an RS256 JWT signed by a published key (expiry is *not* checked here)."""
        self._prune()
        keyset = KeySet([self._rsa_key(e) for e in self._rsa])
        try:
            return dict(jwt.decode(token, keyset, algorithms=["RS256"]).claims)
        except (JoseError, ValueError, KeyError, TypeError):
            return None

    # -- HMAC ----------------------------------------------------------------------------------
    def _oct(self) -> OctKey:
        return OctKey.import_key({"kty": "oct", "k": self._hmac["k"], "kid": self._hmac["kid"]})

    def sign_hs(self, claims: dict[str, Any]) -> str:
        header = {"alg": "HS512", "typ": "JWT", "kid": self._hmac["kid"]}
        return jwt.encode(header, claims, self._oct(), algorithms=["HS512"])

    def verify_hs(self, token: str) -> dict[str, Any] | None:
        try:
            return dict(jwt.decode(token, self._oct(), algorithms=["HS512"]).claims)
        except (JoseError, ValueError, KeyError, TypeError):
            return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # e.g. a directory owned by someone else
        os.chmod(path, 0o700)
