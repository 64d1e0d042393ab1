"""Form types (loại phôi): a small validated value object and serial formatting."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from phoi_inventory.domain.errors import InvalidFormTypeError, SerialFormatError
from phoi_inventory.domain.ranges import SerialRange

__all__ = ["MAX_DIGITS", "FormType"]

#: 18 digits keep every serial below 2**63 (PostgreSQL int8).
MAX_DIGITS = 18

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
_PREFIX = re.compile(r"^[A-Z0-9]{0,10}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True, slots=True)
class FormType:
    """A kind of blank, e.g. ``FormType("THPT", "Bằng tốt nghiệp THPT", "Upper-secondary diploma",
    "TH", 7, "2024.1")``. Serial ``42`` formats as ``TH0000042``.

    ``active=False`` marks the type (its template) obsolete: no new print batches, and its blanks may be
    destroyed even if not spoiled.
    """

    code: str
    name_vi: str
    name_en: str
    serial_prefix: str
    digits: int
    template_version: str
    active: bool = True

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise InvalidFormTypeError("code", "1-32 characters A-Z, 0-9, '_' or '-', starting with A-Z or 0-9")
        for field, value in (("name_vi", self.name_vi), ("name_en", self.name_en)):
            if not value.strip() or len(value) > 255 or value != value.strip():
                raise InvalidFormTypeError(field, "1-255 characters without leading or trailing spaces")
        if not _PREFIX.match(self.serial_prefix):
            raise InvalidFormTypeError("serial_prefix", "0-10 characters A-Z or 0-9")
        if isinstance(self.digits, bool) or not 1 <= self.digits <= MAX_DIGITS:
            raise InvalidFormTypeError("digits", f"between 1 and {MAX_DIGITS}")
        if not _VERSION.match(self.template_version):
            raise InvalidFormTypeError("template_version", "1-32 characters A-Z, a-z, 0-9, '.', '_' or '-'")

    @property
    def max_serial(self) -> int:
        return int(10**self.digits) - 1

    @property
    def capacity(self) -> SerialRange:
        """Every serial the type can print: ``1 .. 10**digits - 1`` (serial 0 is never printed)."""
        return SerialRange(1, self.max_serial)

    def deactivated(self) -> FormType:
        return replace(self, active=False)

    def check_serial(self, serial: int) -> int:
        if not 1 <= serial <= self.max_serial:
            raise SerialFormatError(self.code, str(serial), f"must be between 1 and {self.max_serial}")
        return serial

    def check_range(self, serials: SerialRange) -> SerialRange:
        if not self.capacity.covers(serials):
            raise SerialFormatError(self.code, str(serials), f"must be between 1 and {self.max_serial}")
        return serials

    def format_serial(self, serial: int) -> str:
        """Prefix + number zero-padded to ``digits``: ``TH0000042``."""
        self.check_serial(serial)
        return f"{self.serial_prefix}{serial:0{self.digits}d}"

    def format_range(self, serials: SerialRange) -> str:
        """``TH0000001–TH0000100`` (en dash), or a single serial."""
        if serials.first == serials.last:
            return self.format_serial(serials.first)
        return f"{self.format_serial(serials.first)}–{self.format_serial(serials.last)}"

    def parse_serial(self, text: str) -> int:
        """The number in ``TH0000042`` (prefix optional, case-insensitive, exact digit count)."""
        raw = text.strip().upper()
        if len(raw) == len(self.serial_prefix) + self.digits and raw.startswith(self.serial_prefix):
            raw = raw[len(self.serial_prefix) :]
        if len(raw) != self.digits or not raw.isascii() or not raw.isdigit():
            raise SerialFormatError(
                self.code, text, f"expected {self.serial_prefix!r} followed by {self.digits} digits"
            )
        return self.check_serial(int(raw))
