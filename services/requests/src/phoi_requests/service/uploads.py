"""Checking an uploaded file: the signed request letter is a PDF, JPEG or PNG, recognised by its content.

The declared type (the multipart part's Content-Type) is not trusted: the first bytes decide. A declared
type that contradicts them is refused too (a PNG sent as ``application/pdf`` is a client bug or a trick);
a generic declared type (``application/octet-stream``, none) is fine. The stored content type is the
detected one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from phoi_kit.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType


@dataclass(frozen=True, slots=True)
class FileKind:
    mime: str
    extension: str
    magic: bytes


PDF = FileKind("application/pdf", "pdf", b"%PDF-")
PNG = FileKind("image/png", "png", b"\x89PNG\r\n\x1a\n")
JPEG = FileKind("image/jpeg", "jpg", b"\xff\xd8\xff")
ALLOWED: tuple[FileKind, ...] = (PDF, JPEG, PNG)
ALLOWED_TYPES: tuple[str, ...] = tuple(k.mime for k in ALLOWED)

_ALIASES = {
    "application/x-pdf": PDF.mime,
    "image/jpg": JPEG.mime,
    "image/pjpeg": JPEG.mime,
    "image/x-png": PNG.mime,
}
_GENERIC = {"", "application/octet-stream", "binary/octet-stream", "application/binary"}
_MAX_FILENAME = 255


@dataclass(frozen=True, slots=True)
class CheckedFile:
    kind: FileKind
    filename: str
    size_bytes: int
    sha256: str


def sniff(content: bytes) -> FileKind | None:
    """The allowed kind whose signature starts `content`, or None."""
    for kind in ALLOWED:
        if content.startswith(kind.magic):
            return kind
    return None


def _media_type(declared: str | None) -> str:
    base = (declared or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def check_upload(content: bytes, *, filename: str | None, declared_type: str | None, limit: int) -> CheckedFile:
    """Refuse what is too big (413), empty (422), not a PDF/JPEG/PNG or not what it claims (415)."""
    if len(content) > limit:
        raise PayloadTooLarge(
            f"An attachment may be at most {limit} bytes.", code="request.attachment_too_large", limit_bytes=limit
        )
    if not content:
        raise Unprocessable("The file is empty.", code="request.attachment_empty")
    kind = sniff(content)
    if kind is None:
        raise UnsupportedMediaType(
            "Only PDF, JPEG and PNG files are accepted, and this file's content is none of them.",
            code="request.attachment_type_unsupported",
            allowed_types=list(ALLOWED_TYPES),
        )
    declared = _media_type(declared_type)
    if declared not in _GENERIC and declared != kind.mime:
        raise UnsupportedMediaType(
            f"The file was sent as {declared} but its content is {kind.mime}.",
            code="request.attachment_type_mismatch",
            declared_type=declared,
            detected_type=kind.mime,
        )
    return CheckedFile(
        kind=kind,
        filename=clean_filename(filename, kind),
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def clean_filename(filename: str | None, kind: FileKind) -> str:
    """The last path component, NFC, without control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        return f"attachment.{kind.extension}"
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        keep_extension = bool(dot) and 0 < len(ext) <= 10
        name = f"{stem[: _MAX_FILENAME - len(ext) - 1]}.{ext}" if keep_extension else name[:_MAX_FILENAME]
    return name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    latin = filename.replace("đ", "d").replace("Đ", "D")  # the one Vietnamese letter NFKD keeps whole
    ascii_name = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._\- ()]+", "_", ascii_name).strip() or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
