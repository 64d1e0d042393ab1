"""Verifying the PAdES signatures of an uploaded PDF with pyHanko, offline, against a configured trust folder.

The trust folder holds PEM, DER or .p7b certificates (and optionally ``.crl`` files, PEM or DER): the
self-signed ones are the roots, the others intermediates. Production points it at Vietnam's national root
CA and the government CA's published roots; tests build their own CA (``phoi_local.pki``). The roots are
always passed to pyHanko explicitly — an empty folder trusts nothing; the operating system's web trust
list is never consulted — and nothing is fetched: revocation data comes from the folder's CRLs and from
what the PDF carries (its DSS, and revocation data archived in a signature).

Each signature is validated in two steps. First the whole signature (integrity, what was appended after
it, the time-stamp, the path to a root, key usage, algorithms), with revocation left aside; for a signer
whose certificate has since expired, the path is checked again at the time a trusted time-stamp states,
which is how the law judges it (valid if it was valid when signed). Then, for a trusted path only, the
revocation step: the signer must be covered by revocation data — ``good`` or ``revoked`` — and without
any, ``not_checked`` is recorded as such rather than passed off as good.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms, pem
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, RevokedError, ValidationError
from pyhanko_certvalidator.policy_decl import (
    NO_REVOCATION,
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from phoi_requests.domain.signatures import LetterCheck, Revocation, SignatureFinding, SignatureResult

# pyHanko logs every failed path with a stack trace at WARNING; an untrusted letter is an ordinary outcome
# here, recorded with the attachment, not an incident.
logging.getLogger("pyhanko").setLevel(logging.ERROR)
logging.getLogger("pyhanko_certvalidator").setLevel(logging.ERROR)

#: Vietnamese signing certificates often carry digitalSignature alone; nonRepudiation alone is fine too.
KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)

#: The signer must be covered by revocation data; the CAs above it are checked when data names them.
_REVOCATION_REQUIRED = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    )
)
_NO_REVOCATION = CertRevTrustPolicy(NO_REVOCATION)

#: pyHanko's trust problems, by the word the attachment record keeps.
_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND": "no_trust_path",
    "OUT_OF_BOUNDS_NO_POE": "expired",
    "OUT_OF_BOUNDS_NOT_REVOKED": "expired",
    "CRYPTO_CONSTRAINTS_FAILURE": "weak_algorithm",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "weak_algorithm",
    "CHAIN_CONSTRAINTS_FAILURE": "certificate_not_for_signing",
    "REVOKED_NO_POE": "revoked",
    "REVOKED_CA_NO_POE": "revoked",
    "NOT_YET_VALID": "not_yet_valid",
}


@dataclass(frozen=True)
class TrustStore:
    """The roots and intermediates (and local CRLs) of the trust folder, read once at start-up."""

    roots: tuple[asn1_x509.Certificate, ...] = ()
    intermediates: tuple[asn1_x509.Certificate, ...] = ()
    crls: tuple[asn1_crl.CertificateList, ...] = ()

    @classmethod
    def load(cls, folder: Path | None) -> TrustStore:
        """Every certificate and CRL file in ``folder`` (not recursive); none when it is unset. A file that
        is neither is an error: a mistyped trust folder must stop the service, not trust less quietly."""
        if folder is None:
            return cls()
        roots: list[asn1_x509.Certificate] = []
        intermediates: list[asn1_x509.Certificate] = []
        crls: list[asn1_crl.CertificateList] = []
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            data = path.read_bytes()
            if path.suffix.lower() == ".crl":
                crls.extend(asn1_crl.CertificateList.load(der) for der in _ders(data))
                continue
            for certificate in _certificates(path, data):
                (roots if certificate.self_signed != "no" else intermediates).append(certificate)
        return cls(tuple(roots), tuple(intermediates), tuple(crls))


def _ders(data: bytes) -> list[bytes]:
    if pem.detect(data):
        return [der for _type, _headers, der in pem.unarmor(data, multiple=True)]
    return [data]


def _certificates(path: Path, data: bytes) -> list[asn1_x509.Certificate]:
    try:
        if path.suffix.lower() in {".p7b", ".p7c"}:
            certificates: list[asn1_x509.Certificate] = []
            for der in _ders(data):
                signed = cms.ContentInfo.load(der)["content"]
                certificates.extend(c.chosen for c in signed["certificates"] if c.name == "certificate")
            return certificates
        loaded = [asn1_x509.Certificate.load(der) for der in _ders(data)]
        for certificate in loaded:
            certificate.native  # noqa: B018  # parse now: a broken file fails at start-up, not at upload
        return loaded
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path} is not a certificate file (PEM, DER or .p7b): {error}") from error


@dataclass(frozen=True)
class SignatureVerifier:
    """Verifies PDFs against one trust store. Thread-safe: every call builds its own validation contexts."""

    trust: TrustStore = field(default_factory=TrustStore)

    async def verify_off_loop(self, content: bytes) -> tuple[LetterCheck, float]:
        """``verify`` in a worker thread (it is CPU work), and how many seconds it took."""
        return await asyncio.to_thread(self.timed, content)

    def timed(self, content: bytes) -> tuple[LetterCheck, float]:
        started = time.perf_counter()
        check = self.verify(content)
        return check, time.perf_counter() - started

    def verify(self, content: bytes, *, now: datetime | None = None) -> LetterCheck:
        """The letter's check. Never raises for what a file contains: an unreadable PDF is a result too."""
        checked_at = (now or datetime.now(UTC)).isoformat()
        if not content.startswith(b"%PDF-"):
            return LetterCheck(SignatureResult.UNSIGNED, problem="not_pdf", checked_at=checked_at)
        try:
            reader = PdfFileReader(io.BytesIO(content), strict=False)
            signatures = reader.embedded_signatures
            embedded = _embedded_revinfo(reader)
        except Exception:  # pyHanko raises many kinds on a broken file; all mean "unreadable"
            # A file that once carried a signature but no longer parses was changed after signing.
            result = SignatureResult.MODIFIED if b"/ByteRange" in content else SignatureResult.UNSIGNED
            return LetterCheck(result, problem="unreadable_pdf", checked_at=checked_at)
        findings = asyncio.run(self._findings(signatures, embedded, now))
        return LetterCheck.of(findings, checked_at=checked_at)

    async def _findings(
        self, signatures: list[EmbeddedPdfSignature], embedded: _Revinfo, now: datetime | None
    ) -> list[SignatureFinding]:
        return [await self._finding(sig, embedded, now) for sig in signatures]

    async def _finding(self, sig: EmbeddedPdfSignature, embedded: _Revinfo, now: datetime | None) -> SignatureFinding:
        revinfo = embedded.plus(_archived_revinfo(sig))
        try:
            status = await self._validate(sig, revinfo, moment=now)
            ts_time = _trusted_timestamp(status)
            if _problem(status) == "expired" and ts_time is not None:
                # Valid only if it was valid at a trusted signing time: judge the path at the time-stamp.
                status = await self._validate(sig, revinfo, moment=ts_time)
        except Exception:  # a malformed signature dictionary or CMS blob: not verifiable
            return _broken(sig)
        revocation = Revocation.NOT_CHECKED
        if status.trusted:
            revocation = await self._revocation(status, revinfo, moment=_trusted_timestamp(status) or now)
        return _describe(sig, status, revocation)

    def _context(self, revinfo: _Revinfo, *, moment: datetime | None, policy: CertRevTrustPolicy) -> ValidationContext:
        return ValidationContext(
            trust_manager=SimpleTrustManager.build(trust_roots=list(self.trust.roots)),
            other_certs=[*self.trust.intermediates, *revinfo.certs],
            crls=[*self.trust.crls, *revinfo.crls],
            ocsps=list(revinfo.ocsps),
            revinfo_policy=policy,
            moment=moment,
            retroactive_revinfo=moment is not None,  # a CRL issued after the time-stamp still speaks for it
            allow_fetching=False,
        )

    async def _validate(
        self, sig: EmbeddedPdfSignature, revinfo: _Revinfo, *, moment: datetime | None
    ) -> PdfSignatureStatus:
        context = self._context(revinfo, moment=moment, policy=_NO_REVOCATION)
        return await async_validate_pdf_signature(
            sig, signer_validation_context=context, ts_validation_context=context, key_usage_settings=KEY_USAGE
        )

    async def _revocation(
        self, status: PdfSignatureStatus, revinfo: _Revinfo, *, moment: datetime | None
    ) -> Revocation:
        context = self._context(revinfo, moment=moment, policy=_REVOCATION_REQUIRED)
        validator = CertificateValidator(status.signing_cert, validation_context=context)
        try:
            await validator.async_validate_usage(set())  # type: ignore[no-untyped-call]
        except RevokedError:
            return Revocation.REVOKED
        except (PathValidationError, ValidationError):
            return Revocation.NOT_CHECKED  # no revocation data covers the signer (or it is stale)
        return Revocation.GOOD


@dataclass(frozen=True)
class _Revinfo:
    certs: tuple[asn1_x509.Certificate, ...] = ()
    crls: tuple[asn1_crl.CertificateList, ...] = ()
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...] = ()

    def plus(self, other: _Revinfo) -> _Revinfo:
        return _Revinfo(self.certs + other.certs, self.crls + other.crls, self.ocsps + other.ocsps)


def _embedded_revinfo(reader: PdfFileReader) -> _Revinfo:
    """What the PDF's Document Security Store carries (certificates, CRLs, OCSP responses), if it has one."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        crls = tuple(asn1_crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL)) for ref in dss.crls)
        ocsps = tuple(
            asn1_ocsp.OCSPResponse.load(ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE)) for ref in dss.ocsps
        )
        return _Revinfo(tuple(dss.load_certs()), crls, ocsps)
    except Exception:  # no DSS (the usual case) or an unreadable one: nothing to add
        return _Revinfo()


def _archived_revinfo(sig: EmbeddedPdfSignature) -> _Revinfo:
    """Revocation data archived inside the signature (Adobe's revocation-info attribute)."""
    try:
        archived = find_unique_cms_attribute(sig.signer_info["signed_attrs"], "adobe_revocation_info_archival")
    except Exception:  # absent (the usual case) or ambiguous: nothing to add
        return _Revinfo()
    crls = tuple(archived["crl"]) if archived["crl"] else ()
    ocsps = tuple(archived["ocsp"]) if archived["ocsp"] else ()
    return _Revinfo((), crls, ocsps)


def _trusted_timestamp(status: PdfSignatureStatus) -> datetime | None:
    ts = status.timestamp_validity
    if ts is not None and ts.intact and ts.valid and ts.trusted:
        return ts.timestamp
    return None


def _problem(status: PdfSignatureStatus) -> str | None:
    if not status.intact or not status.valid:
        return "content_changed"
    indication = status.trust_problem_indic
    if indication is None:
        return None if status.validation_path is not None else "no_trust_path"
    name = str(getattr(indication, "name", indication))
    return _PROBLEMS.get(name, name.lower())


def _modified_after(status: PdfSignatureStatus) -> bool:
    if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        return True
    level = status.modification_level
    if status.coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return False
    return level is None or level > ModificationLevel.FORM_FILLING or status.docmdp_ok is False


def _attribute(name: asn1_x509.Name, *keys: str) -> str | None:
    values = name.native
    for key in keys:
        value = values.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value:
            return str(value)
    return None


def _describe(sig: EmbeddedPdfSignature, status: PdfSignatureStatus, revocation: Revocation) -> SignatureFinding:
    certificate = status.signing_cert
    modified = _modified_after(status)
    problem = _problem(status)
    if not status.intact or not status.valid or modified:
        result = SignatureResult.MODIFIED
        problem = problem or "changed_after_signing"
    elif revocation is Revocation.REVOKED or status.revoked:
        result, revocation, problem = SignatureResult.REVOKED, Revocation.REVOKED, "revoked"
    elif not status.bottom_line:
        result = SignatureResult.UNTRUSTED
        problem = problem or "untrusted"
    else:
        result = SignatureResult.VALID
    ts = _trusted_timestamp(status)
    claimed = status.signer_reported_dt
    return SignatureFinding(
        field_name=sig.field_name or "",
        result=result,
        signer_name=_attribute(certificate.subject, "common_name", "pseudonym"),
        signer_organisation=_attribute(certificate.subject, "organization_name", "organizational_unit_name"),
        signer_id=_attribute(certificate.subject, "user_id", "serial_number"),
        certificate_serial=format(certificate.serial_number, "x"),
        issuer=_attribute(certificate.issuer, "common_name", "organization_name"),
        trust_path=tuple(c.subject.human_friendly for c in status.validation_path) if status.validation_path else (),
        signed_at_claimed=claimed.isoformat() if claimed else None,
        timestamp_at=ts.isoformat() if ts else None,
        covers_whole_file=status.coverage is SignatureCoverageLevel.ENTIRE_FILE,
        modified_after_signing=modified,
        intact=bool(status.intact and status.valid),
        revocation=revocation,
        digest_algorithm=status.md_algorithm,
        problem=None if result is SignatureResult.VALID else problem,
    )


def _broken(sig: EmbeddedPdfSignature) -> SignatureFinding:
    """A signature whose dictionary or CMS data cannot be read: the file was damaged or tampered with."""
    return SignatureFinding(
        field_name=sig.field_name or "",
        result=SignatureResult.MODIFIED,
        signer_name=None,
        signer_organisation=None,
        signer_id=None,
        certificate_serial="",
        issuer=None,
        trust_path=(),
        signed_at_claimed=None,
        timestamp_at=None,
        covers_whole_file=False,
        modified_after_signing=True,
        intact=False,
        revocation=Revocation.NOT_CHECKED,
        digest_algorithm=None,
        problem="unreadable_signature",
    )
