"""FormType validation and serial formatting."""

from __future__ import annotations

import pytest
from phoi_inventory.domain import FormType, InvalidFormTypeError, SerialFormatError, SerialRange


def ft(**kw: object) -> FormType:
    base: dict[str, object] = {
        "code": "THPT",
        "name_vi": "Bằng tốt nghiệp trung học phổ thông",
        "name_en": "Upper-secondary diploma",
        "serial_prefix": "TH",
        "digits": 7,
        "template_version": "2024.1",
    }
    base.update(kw)
    return FormType(**base)  # type: ignore[arg-type]


def test_formatting_and_parsing() -> None:
    f = ft()
    assert f.format_serial(42) == "TH0000042"
    assert f.format_range(SerialRange(1, 100)) == "TH0000001–TH0000100"
    assert f.format_range(SerialRange(5, 5)) == "TH0000005"
    assert f.parse_serial("TH0000042") == 42
    assert f.parse_serial(" th0000042 ") == 42
    assert f.parse_serial("0000042") == 42
    assert f.max_serial == 9_999_999
    assert f.active
    assert not f.deactivated().active


def test_numeric_prefix_parses_without_ambiguity() -> None:
    f = ft(serial_prefix="00", digits=4)
    assert f.parse_serial("000042") == 42
    assert f.parse_serial("0042") == 42


@pytest.mark.parametrize("text", ["TH42", "TH00000042", "XX0000042", "TH000004a", "", "TH0000000"])
def test_bad_serial_text(text: str) -> None:
    with pytest.raises(SerialFormatError) as exc:
        ft().parse_serial(text)
    assert exc.value.code == "serial_format"


def test_serial_out_of_capacity() -> None:
    f = ft(digits=3)
    with pytest.raises(SerialFormatError):
        f.format_serial(1000)
    with pytest.raises(SerialFormatError):
        f.check_range(SerialRange(0, 5))
    assert f.check_range(SerialRange(1, 999)) == SerialRange(1, 999)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "thpt"),
        ("code", ""),
        ("code", "A" * 33),
        ("name_vi", " "),
        ("name_en", " padded"),
        ("serial_prefix", "th"),
        ("serial_prefix", "ABCDEFGHIJK"),
        ("digits", 0),
        ("digits", 19),
        ("digits", True),
        ("template_version", ""),
        ("template_version", "v 1"),
    ],
)
def test_invalid_form_types(field: str, value: object) -> None:
    with pytest.raises(InvalidFormTypeError) as exc:
        ft(**{field: value})
    assert exc.value.field == field
    assert exc.value.code == "form_type_invalid"


def test_vietnamese_names_are_kept() -> None:
    f = ft(name_vi="Phôi bản sao bằng tốt nghiệp THCS")
    assert f.name_vi == "Phôi bản sao bằng tốt nghiệp THCS"
