"""A test public-key infrastructure, built in memory in well under a second, and PDFs signed with it.

It stands in for Vietnam's CAs in tests and in the local stack: a root (self-signed, like the national
root CA), an intermediate that issues signers' certificates (like a public CA or the government CA of
Ban Cơ yếu Chính phủ), a time-stamping authority, CRLs, and the trust folder a service reads (PEM, DER
and .p7b files). Nothing here is a real CA's key; the repository ships none. EC P-256 keys: generating
one takes microseconds, so every test may have its own CA.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

#: Where the test certificates say their CRL is; nothing answers there (validation is offline).
CRL_URL = "http://crl.phoi-test.invalid/intermediate.crl"


def _name(common_name: str, organisation: str | None = None, user_id: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if user_id:  # Vietnamese certificates carry the tax code or citizen id as UID ("MST:...", "CCCD:...")
        attributes.append(x509.NameAttribute(NameOID.USER_ID, user_id))
    return x509.Name(attributes)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key and the certificates above it (nearest issuer first)."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def pkcs12(self, password: bytes) -> bytes:
        """The key, certificate and chain as a PKCS#12 file (what a development signing key looks like)."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        return pkcs12.serialize_key_and_certificates(
            b"phoi",
            self.key,
            self.certificate,
            list(self.chain),
            serialization.BestAvailableEncryption(password),
        )


def _issue(
    subject: x509.Name,
    *,
    issuer: Issued | None,
    not_before: datetime,
    not_after: datetime,
    ca: bool,
    key_usage: frozenset[str],
    extended: Sequence[x509.ObjectIdentifier] = (),
    crl_url: str | None = None,
    rsa_key: bool = False,
) -> Issued:
    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    signing_key = issuer.key if issuer else key
    usage = {name: name in key_usage for name in _KEY_USAGES}
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended)), critical=True)
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    certificate = builder.sign(signing_key, hashes.SHA256())
    chain = (issuer.certificate, *issuer.chain) if issuer else ()
    return Issued(certificate, key, chain)


_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
_CA_USAGE = frozenset({"key_cert_sign", "crl_sign", "digital_signature"})
#: What Vietnamese signing tokens usually carry: digitalSignature and nonRepudiation (content_commitment).
SIGNER_USAGE = frozenset({"digital_signature", "content_commitment"})


@dataclass
class TestPki:
    """A root, an intermediate that issues signers, and a time-stamping authority."""

    __test__ = False  # not a pytest test class

    name: str = "Phôi Test"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    root: Issued = field(init=False)
    intermediate: Issued = field(init=False)
    tsa: Issued = field(init=False)
    revoked: list[tuple[x509.Certificate, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        start, end = self.now - timedelta(days=3650), self.now + timedelta(days=3650)
        self.root = _issue(
            _name(f"{self.name} Root CA", self.name),
            issuer=None,
            not_before=start,
            not_after=end,
            ca=True,
            key_usage=_CA_USAGE,
        )
        self.intermediate = _issue(
            _name(f"{self.name} Signing CA", self.name),
            issuer=self.root,
            not_before=start,
            not_after=end,
            ca=True,
            key_usage=_CA_USAGE,
        )
        self.tsa = _issue(
            _name(f"{self.name} TSA", self.name),
            issuer=self.intermediate,
            not_before=start,
            not_after=end,
            ca=False,
            key_usage=frozenset({"digital_signature", "content_commitment"}),
            extended=[ExtendedKeyUsageOID.TIME_STAMPING],
            rsa_key=True,  # pyHanko's test time-stamper signs with RSA only
        )

    def signer(
        self,
        common_name: str = "Nguyễn Văn Ân",
        organisation: str | None = "Sở Giáo dục và Đào tạo Hà Nội",
        user_id: str | None = "MST:0101234567",
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key_usage: Iterable[str] = SIGNER_USAGE,
    ) -> Issued:
        """A signer's certificate from the intermediate; valid for a year around now unless told."""
        return _issue(
            _name(common_name, organisation, user_id),
            issuer=self.intermediate,
            not_before=not_before or self.now - timedelta(days=180),
            not_after=not_after or self.now + timedelta(days=180),
            ca=False,
            key_usage=frozenset(key_usage),
            crl_url=CRL_URL,
        )

    def revoke(self, issued: Issued, at: datetime | None = None) -> None:
        self.revoked.append((issued.certificate, at or self.now - timedelta(hours=1)))

    def crl(self) -> bytes:
        """The intermediate's CRL (DER), listing what was revoked; issued now, next update in a week."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.intermediate.certificate.subject)
            .last_update(self.now - timedelta(minutes=5))
            .next_update(self.now + timedelta(days=7))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.intermediate.key.public_key()), critical=False
            )
            .add_extension(x509.CRLNumber(1), critical=False)
        )
        for certificate, at in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(certificate.serial_number)
                .revocation_date(at)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
        crl = builder.sign(self.intermediate.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)

    def write_trust_folder(self, folder: Path, *, crl: bool = False) -> Path:
        """The root as PEM, the intermediate as DER and again inside a .p7b: every form a folder may hold.
        With ``crl``, the intermediate's CRL too (a local CRL, as offline revocation data)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "root.pem").write_bytes(self.root.pem)
        (folder / "intermediate.cer").write_bytes(self.intermediate.der)
        bundle = pkcs7.serialize_certificates([self.intermediate.certificate], serialization.Encoding.DER)
        (folder / "bundle.p7b").write_bytes(bundle)
        if crl:
            (folder / "intermediate.crl").write_bytes(self.crl())
        return folder


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def letter_pdf(text: str = "Cong van de nghi cap phoi", pages: int = 1) -> bytes:
    """A small unsigned PDF letter (fpdf2, core font: the body needs no Vietnamese glyphs)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(text=f"{text} - trang {page}")
    return bytes(pdf.output())


def sign_pdf(
    pdf: bytes,
    signer: Issued,
    *,
    field_name: str | None = None,
    timestamp: tuple[Issued, datetime] | None = None,
    md_algorithm: str = "sha256",
) -> bytes:
    """``pdf`` with one more PAdES signature by ``signer`` (an incremental update, so earlier signatures
    stay intact). ``timestamp``: a TSA and the time its token states."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_cms import SimpleSigner
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    chain = [asn1_certificate(c) for c in signer.chain]
    cms_signer = SimpleSigner(
        signing_cert=asn1_certificate(signer.certificate),
        signing_key=_asn1_key(signer.key),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            chain
        ),
    )
    timestamper = None
    if timestamp is not None:
        tsa, at = timestamp
        timestamper = DummyTimeStamper(
            tsa_cert=asn1_certificate(tsa.certificate),
            tsa_key=_asn1_key(tsa.key),
            certs_to_embed=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [asn1_certificate(c) for c in tsa.chain]
            ),
            fixed_dt=at,
        )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    name = field_name or f"Signature{len(list(fields.enumerate_sig_fields(writer))) + 1}"
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm=md_algorithm,
        subfilter=fields.SigSeedSubFilter.PADES,
        signer_key_usage=set(),
    )
    out = io.BytesIO()
    _run(signers.async_sign_pdf(writer, meta, signer=cms_signer, timestamper=timestamper, output=out))
    return out.getvalue()


def _run(coroutine: Coroutine[Any, Any, object]) -> None:
    """Run pyHanko's coroutine to the end, also from inside a running event loop (an async test): then in
    a thread of its own, with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()
