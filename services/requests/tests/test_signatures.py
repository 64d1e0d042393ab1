"""The verification of a letter's digital signatures (adapters/signatures.py) against a real test CA, offline:
pyHanko validates real PAdES signatures made by ``phoi_local.pki``; nothing is mocked."""

from __future__ import annotations

import io
import time
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from phoi_local.pki import TestPki, letter_pdf, sign_pdf
from phoi_requests.adapters.signatures import SignatureVerifier, TrustStore
from phoi_requests.domain import LetterCheck, Revocation, SignatureResult
from pyhanko.pdf_utils.generic import ArrayObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

LETTER = letter_pdf(pages=3)


@pytest.fixture
def trusting(test_pki: TestPki, tmp_path: Path) -> SignatureVerifier:
    """A verifier whose trust folder holds the test CA (root PEM, intermediate DER and .p7b), no CRL."""
    return SignatureVerifier(TrustStore.load(test_pki.write_trust_folder(tmp_path / "trust")))


def with_crl(pki: TestPki, tmp_path: Path) -> SignatureVerifier:
    return SignatureVerifier(TrustStore.load(pki.write_trust_folder(tmp_path / "trust-crl", crl=True)))


def test_a_correctly_signed_letter_is_valid_with_who_signed_it_intact(
    test_pki: TestPki, trusting: SignatureVerifier
) -> None:
    signer = test_pki.signer("Nguyễn Thị Ánh Tuyết", "Sở Giáo dục và Đào tạo Thừa Thiên Huế", "CCCD:046123456789")
    check = trusting.verify(sign_pdf(LETTER, signer))
    assert check.result is SignatureResult.VALID
    [found] = check.signatures
    assert (found.signer_name, found.signer_organisation, found.signer_id) == (
        "Nguyễn Thị Ánh Tuyết",
        "Sở Giáo dục và Đào tạo Thừa Thiên Huế",
        "CCCD:046123456789",
    )
    assert found.issuer == "Phôi Test Signing CA"
    assert [p.split("Common Name: ")[1].split(",")[0] for p in found.trust_path] == [
        "Phôi Test Root CA",
        "Phôi Test Signing CA",
        "Nguyễn Thị Ánh Tuyết",
    ]
    assert (found.covers_whole_file, found.intact, found.modified_after_signing) == (True, True, False)
    assert found.signed_at_claimed is not None
    assert found.timestamp_at is None
    assert (found.digest_algorithm, found.problem) == ("sha256", None)
    # the record survives its JSON form (the database keeps it as JSONB)
    assert LetterCheck.from_dict(check.to_dict()) == check


def test_a_ca_outside_the_trust_folder_is_untrusted_and_an_empty_folder_trusts_nothing(
    test_pki: TestPki, trusting: SignatureVerifier
) -> None:
    stranger = TestPki(name="Ngoài danh sách")
    check = trusting.verify(sign_pdf(LETTER, stranger.signer()))
    assert (check.result, check.signatures[0].problem, check.signatures[0].trust_path) == (
        SignatureResult.UNTRUSTED,
        "no_trust_path",
        (),
    )
    # No folder: the roots passed are none at all — never the operating system's list (pyHanko would warn).
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert SignatureVerifier(TrustStore.load(None)).verify(sign_pdf(LETTER, test_pki.signer())).result is (
            SignatureResult.UNTRUSTED
        )


def test_one_byte_changed_inside_the_signed_part_is_modified(test_pki: TestPki, trusting: SignatureVerifier) -> None:
    signed = sign_pdf(LETTER, test_pki.signer())
    at = signed.index(b"trang 2") if b"trang 2" in signed else signed.index(b"stream") + 20
    changed = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]
    check = trusting.verify(changed)
    assert check.result is SignatureResult.MODIFIED
    assert (check.signatures[0].intact, check.signatures[0].problem) == (False, "content_changed")


def swap_first_two_pages(signed: bytes) -> bytes:
    """An incremental update appended after signing that swaps the first two pages."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    pages = writer.root["/Pages"]
    kids = pages["/Kids"]
    pages["/Kids"] = ArrayObject([kids[1], kids[0], *list(kids)[2:]])
    writer.update_container(pages)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_a_page_swapped_in_an_edit_appended_after_signing_is_modified(
    test_pki: TestPki, trusting: SignatureVerifier
) -> None:
    check = trusting.verify(swap_first_two_pages(sign_pdf(LETTER, test_pki.signer())))
    assert check.result is SignatureResult.MODIFIED
    [found] = check.signatures
    assert found.intact  # the signed revision itself is untouched ...
    assert (found.covers_whole_file, found.modified_after_signing) == (False, True)  # ... what came after is not


def test_a_letter_with_two_signatures_is_valid(test_pki: TestPki, trusting: SignatureVerifier) -> None:
    once = sign_pdf(LETTER, test_pki.signer("Nguyễn Văn Ân"))
    twice = sign_pdf(once, test_pki.signer("Trần Thị Bình", "Trường THPT Chu Văn An"))
    check = trusting.verify(twice)
    assert check.result is SignatureResult.VALID
    first, second = check.signatures
    assert (first.signer_name, second.signer_name) == ("Nguyễn Văn Ân", "Trần Thị Bình")
    # the first signature no longer covers the whole file, but only a signature was added after it
    assert (first.covers_whole_file, first.modified_after_signing) == (False, False)
    assert second.covers_whole_file


def test_unsigned_and_not_a_pdf_are_unsigned(trusting: SignatureVerifier) -> None:
    assert (trusting.verify(LETTER).result, trusting.verify(LETTER).signatures) == (SignatureResult.UNSIGNED, ())
    image = trusting.verify(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert (image.result, image.problem) == (SignatureResult.UNSIGNED, "not_pdf")
    broken = trusting.verify(b"%PDF-1.7\nthis is not a PDF")
    assert (broken.result, broken.problem) == (SignatureResult.UNSIGNED, "unreadable_pdf")


def test_revocation_from_a_local_crl_good_or_revoked_and_not_checked_without_data(
    test_pki: TestPki, tmp_path: Path, trusting: SignatureVerifier
) -> None:
    kept, revoked = test_pki.signer("Lê Văn Cường"), test_pki.signer("Phạm Văn Dũng")
    test_pki.revoke(revoked)
    checking = with_crl(test_pki, tmp_path)

    good = checking.verify(sign_pdf(LETTER, kept))
    assert (good.result, good.signatures[0].revocation) == (SignatureResult.VALID, Revocation.GOOD)
    bad = checking.verify(sign_pdf(LETTER, revoked))
    assert (bad.result, bad.signatures[0].revocation, bad.signatures[0].problem) == (
        SignatureResult.REVOKED,
        Revocation.REVOKED,
        "revoked",
    )
    # No revocation data at all: valid, and the revocation status says it was not checked (not "good").
    unknown = trusting.verify(sign_pdf(LETTER, revoked))
    assert (unknown.result, unknown.signatures[0].revocation) == (SignatureResult.VALID, Revocation.NOT_CHECKED)


def test_an_expired_signer_is_valid_only_if_it_was_valid_at_a_trusted_signing_time(
    test_pki: TestPki, trusting: SignatureVerifier
) -> None:
    now = test_pki.now
    expired = test_pki.signer("Hoàng Thị Én", not_before=now - timedelta(days=700), not_after=now - timedelta(days=300))
    # a time-stamp from a trusted TSA while the certificate was valid: valid
    in_time = trusting.verify(sign_pdf(LETTER, expired, timestamp=(test_pki.tsa, now - timedelta(days=400))))
    assert in_time.result is SignatureResult.VALID
    assert in_time.signatures[0].timestamp_at is not None
    assert in_time.signatures[0].timestamp_at.startswith((now - timedelta(days=400)).date().isoformat())
    # time-stamped after it expired: untrusted
    late = trusting.verify(sign_pdf(LETTER, expired, timestamp=(test_pki.tsa, now - timedelta(days=200))))
    assert (late.result, late.signatures[0].problem) == (SignatureResult.UNTRUSTED, "expired")
    # only the signer's own claim of a time: not evidence, untrusted
    claimed = trusting.verify(sign_pdf(LETTER, expired))
    assert (claimed.result, claimed.signatures[0].problem) == (SignatureResult.UNTRUSTED, "expired")


def test_digital_signature_alone_is_accepted_and_sha1_is_not(test_pki: TestPki, trusting: SignatureVerifier) -> None:
    token = test_pki.signer(key_usage={"digital_signature"})
    assert trusting.verify(sign_pdf(LETTER, token)).result is SignatureResult.VALID
    sha1 = trusting.verify(sign_pdf(LETTER, test_pki.signer(), md_algorithm="sha1"))
    assert (sha1.result, sha1.signatures[0].problem) == (SignatureResult.UNTRUSTED, "weak_algorithm")
    encipher_only = trusting.verify(sign_pdf(LETTER, test_pki.signer(key_usage={"key_encipherment"})))
    assert (encipher_only.result, encipher_only.signatures[0].problem) == (
        SignatureResult.UNTRUSTED,
        "certificate_not_for_signing",
    )


def test_the_trust_folder_reads_pem_der_and_p7b_and_refuses_anything_else(test_pki: TestPki, tmp_path: Path) -> None:
    folder = test_pki.write_trust_folder(tmp_path / "trust", crl=True)
    store = TrustStore.load(folder)
    assert [c.subject.native["common_name"] for c in store.roots] == ["Phôi Test Root CA"]
    assert {c.subject.native["common_name"] for c in store.intermediates} == {"Phôi Test Signing CA"}
    assert len(store.crls) == 1
    (folder / "notes.txt").write_text("not a certificate", encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        TrustStore.load(folder)


def test_one_verification_takes_well_under_a_second(test_pki: TestPki, trusting: SignatureVerifier) -> None:
    signed = sign_pdf(letter_pdf(pages=20), test_pki.signer())
    started = time.perf_counter()
    check, seconds = trusting.timed(signed)
    assert check.result is SignatureResult.VALID
    assert seconds <= time.perf_counter() - started
    assert seconds < 2.0  # typically 30-60 ms on the CI machine; generous for a shared two-core box
