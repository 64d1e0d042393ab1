"""What the verification of an uploaded letter's digital signatures (chữ ký số) found, as plain values.

A signature is valid when the signer's certificate chains to a trusted root and was valid at signing, the
key in it made the signature, and the content is unchanged since (Law on Electronic Transactions 2023).
The adapter (``adapters/signatures.py``) checks each signature in a PDF with pyHanko; this module holds
what it found and the one rule that turns the signatures into the letter's overall result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class SignatureResult(StrEnum):
    """A letter's overall result, and each signature's."""

    VALID = "valid"  # every signature trusted, intact, nothing but signing or form filling added since
    UNTRUSTED = "untrusted"  # no path to a trusted root, expired without a trusted time, weak algorithm, ...
    MODIFIED = "modified"  # the signed bytes changed, or something other than signing was appended after
    REVOKED = "revoked"  # a certificate of the signer's path is on a revocation list
    UNSIGNED = "unsigned"  # no signature at all (or not a PDF: an image cannot carry one)


class Revocation(StrEnum):
    GOOD = "good"  # revocation data covered the signer and did not list it
    REVOKED = "revoked"
    NOT_CHECKED = "not_checked"  # no revocation data available offline: neither good nor revoked


#: The worst result decides the letter's: tampering first, then revocation, then trust.
_SEVERITY = (SignatureResult.MODIFIED, SignatureResult.REVOKED, SignatureResult.UNTRUSTED, SignatureResult.VALID)


@dataclass(frozen=True, slots=True)
class SignatureFinding:
    """One signature in the letter: who signed, under which CA, when, and what became of the file since."""

    field_name: str
    result: SignatureResult
    signer_name: str | None
    signer_organisation: str | None
    signer_id: str | None  # the certificate's UID (e.g. "MST:..." or "CCCD:...") or serialNumber attribute
    certificate_serial: str  # hex
    issuer: str | None
    trust_path: tuple[str, ...]  # subjects from the trusted root down to the signer; empty when untrusted
    signed_at_claimed: str | None  # ISO 8601: the signer's own claim, not evidence
    timestamp_at: str | None  # ISO 8601: a time-stamping authority's token, when present and trusted
    covers_whole_file: bool
    modified_after_signing: bool  # something other than signatures or form filling was appended
    intact: bool  # the signed bytes hash to what was signed, and the signature value checks out
    revocation: Revocation
    digest_algorithm: str | None
    problem: str | None  # why it is not valid, a stable word: no_trust_path, expired, weak_algorithm, ...

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["result"] = self.result.value
        raw["revocation"] = self.revocation.value
        raw["trust_path"] = list(self.trust_path)
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SignatureFinding:
        return cls(
            **{
                **raw,
                "result": SignatureResult(raw["result"]),
                "revocation": Revocation(raw["revocation"]),
                "trust_path": tuple(raw["trust_path"]),
            }
        )


@dataclass(frozen=True, slots=True)
class LetterCheck:
    """The verification of one uploaded file: its overall result and each signature found."""

    result: SignatureResult
    signatures: tuple[SignatureFinding, ...] = ()
    problem: str | None = None  # for the whole file: "not_pdf", "unreadable_pdf"
    checked_at: str | None = None  # ISO 8601, when the verification ran

    @classmethod
    def of(cls, signatures: Sequence[SignatureFinding], *, checked_at: str | None = None) -> LetterCheck:
        return cls(overall(signatures), tuple(signatures), checked_at=checked_at)

    @property
    def first_valid(self) -> SignatureFinding | None:
        return next((s for s in self.signatures if s.result is SignatureResult.VALID), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.value,
            "problem": self.problem,
            "checked_at": self.checked_at,
            "signatures": [s.to_dict() for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LetterCheck:
        return cls(
            result=SignatureResult(raw["result"]),
            signatures=tuple(SignatureFinding.from_dict(s) for s in raw.get("signatures", [])),
            problem=raw.get("problem"),
            checked_at=raw.get("checked_at"),
        )


def overall(signatures: Sequence[SignatureFinding]) -> SignatureResult:
    """No signature → unsigned; otherwise the worst signature's result (modified > revoked > untrusted)."""
    if not signatures:
        return SignatureResult.UNSIGNED
    results = {s.result for s in signatures}
    return next(r for r in _SEVERITY if r in results)


def acceptable_letters(checks: Sequence[LetterCheck | None]) -> bool:
    """Whether attachments with these checks may be submitted when a validly signed letter is required:
    at least one ``valid`` letter, and none tampered with or signed by a revoked certificate (other
    attachments — a scan, a document signed under another CA — may come along)."""
    results = [c.result if c else SignatureResult.UNSIGNED for c in checks]
    refused = {SignatureResult.MODIFIED, SignatureResult.REVOKED}
    return SignatureResult.VALID in results and not refused & set(results)
