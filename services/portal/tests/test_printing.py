"""The printed records: each is rendered to PDF, its text extracted again and read back.

Extraction proves what an official (or a search on the file server) finds in the file: every Vietnamese
word with its diacritics (the embedded font carries its Unicode map), the numbers, the inclusive serial
ranges and the audit seal. The QR code is decoded from the drawing's own matrix by re-encoding.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from phoi_local.pages import pdf_text
from phoi_portal.printing import records, specimens
from phoi_portal.printing.document import Seal, render
from pypdf import PdfReader


def text_of(pdf: bytes) -> tuple[str, PdfReader]:
    return pdf_text(pdf), PdfReader(io.BytesIO(pdf))


def assert_a4_with_fonts_embedded(reader: PdfReader) -> None:
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        fonts: Any = page["/Resources"]["/Font"]  # type: ignore[index]
        for ref in fonts.values():
            descriptor = ref.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor  # the TrueType program is in the file, not borrowed from the reader


def assert_sealed(text: str) -> None:
    assert "Đối chiếu nhật ký kiểm toán" in text
    assert "Số thứ tự trong nhật ký: 4821" in text
    assert specimens.HASH[:32] in text
    assert specimens.HASH[32:] in text
    assert specimens.SEAL.url in text  # printed under the QR code too, for whoever cannot scan it


def test_blank_handover_record_lists_parties_ranges_and_total() -> None:
    text, reader = text_of(render(specimens.specimens()["bien-ban-ban-giao-phoi"]))
    assert_a4_with_fonts_embedded(reader)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 04 tháng 05 năm 2026",
        "BIÊN BẢN BÀN GIAO PHÔI VĂN BẰNG, CHỨNG CHỈ",
        "Cục Quản lý chất lượng, Bộ Giáo dục và Đào tạo",
        "Sở Giáo dục và Đào tạo Hà Nội (mã SGD-HNI)",
        "Bằng tốt nghiệp trung học phổ thông (TN-THPT)",
        "TN0000001",
        "TN0001200",
        "TN0001501",
        "TN0001800",
        "1.200",
        "Tổng cộng",
        "1.500 phôi",
        "ĐẠI DIỆN BÊN GIAO",
        "ĐẠI DIỆN BÊN NHẬN",
    ):
        assert expected in text, expected
    assert_sealed(text)


def test_account_slip_never_carries_a_password() -> None:
    text, reader = text_of(render(specimens.specimens()["phieu-ban-giao-tai-khoan"]))
    assert_a4_with_fonts_embedded(reader)
    for expected in (
        "PHIẾU BÀN GIAO TÀI KHOẢN",
        "bàn giao cho người phụ trách mới (Điều 8.4)",
        "sgd-hni",
        "Trần Thị Bình, Phó Chánh Văn phòng",
        "Tài khoản đơn vị",
        "01/09/2026",
        "THỦ TRƯỞNG ĐƠN VỊ",
    ):
        assert expected in text, expected
    assert specimens.TEMPORARY_PASSWORD not in text
    assert_sealed(text)


def test_usage_report_counts_and_ranges_per_category() -> None:
    record = specimens.specimens()["bao-cao-su-dung-phoi"]
    text, reader = text_of(render(record))
    assert_a4_with_fonts_embedded(reader)
    for expected in (
        "BÁO CÁO TÌNH HÌNH SỬ DỤNG PHÔI VĂN BẰNG, CHỨNG CHỈ",
        "Từ ngày 01/01/2026 đến ngày 30/06/2026",
        "Tồn đầu kỳ",
        "Tồn cuối kỳ",
        "1.180",
        "TN0001181",
        "TN0001183",
        "TN0001186",
        "TN0001500",
    ):
        assert expected in text, expected
    assert_sealed(text)


def test_destruction_record_and_an_unsealed_paper_names_its_reference() -> None:
    movement = specimens.destroy_movement()
    pending = Seal(url="https://phoi.example.vn/audit/entries?subject=SGD-HNI", reference=movement["movement_id"])
    record = specimens.specimens(pending)["bien-ban-huy-phoi"]
    text, reader = text_of(render(record))
    assert_a4_with_fonts_embedded(reader)
    for expected in (
        "BIÊN BẢN HỦY PHÔI VĂN BẰNG, CHỨNG CHỈ",
        "Phôi hỏng (in hỏng, viết sai, rách nát)",
        "Phôi bị rách; cắt hủy bằng máy hủy giấy",
        "BB-HỦY-2026/03",
        "15/07/2026",
        "TN0001184",
        "TN0001190",
        "3 phôi",
        "CHỦ TỊCH HỘI ĐỒNG",
        f"Mã tra cứu: {movement['movement_id']}",
    ):
        assert expected in text, expected
    assert "Số thứ tự trong nhật ký" not in text


def test_a_long_record_breaks_pages_and_repeats_the_table_heading() -> None:
    rows = 400
    item = specimens.allocated_request()
    item["lines"][0]["allocated_ranges"] = [
        {"first": 10 * n + 1, "last": 10 * n + 5, "count": 5, "first_label": f"A{n}", "last_label": f"B{n}"}
        for n in range(rows)
    ]
    record = records.handover_record(item, unit=None, form_types={}, dated=date(2026, 5, 4), seal=specimens.SEAL)
    text, reader = text_of(render(record))
    assert len(reader.pages) > 5
    pages_with_rows = [p for p in reader.pages if "B" in (p.extract_text() or "")]
    assert all("Từ số hiệu" in (p.extract_text() or "") for p in pages_with_rows[:-1])  # heading repeated
    assert f"A{rows - 1}" in text
    assert f"Trang {len(reader.pages)}/{len(reader.pages)}" in text
    assert_sealed(text)


def glyph_boxes(pdf: bytes) -> list[list[tuple[float, float, float, float, str]]]:
    """Per page, the box (left, bottom, right, top) and character of every printed glyph."""
    import pypdfium2  # type: ignore[import-untyped]

    document = pypdfium2.PdfDocument(pdf)
    pages = []
    for page in document:
        text = page.get_textpage()
        boxes = []
        for index in range(text.count_chars()):
            char = text.get_text_range(index, 1)
            if char.strip():
                boxes.append((*text.get_charbox(index), char))
        pages.append(boxes)
    return pages


def overlapping_glyphs(boxes: list[tuple[float, float, float, float, str]]) -> list[str]:
    """Glyphs printed over each other: one's centre inside the other's box (neighbours in a word, a
    diacritic or an italic slant may touch the next glyph's box, never reach its centre)."""
    found = []
    ordered = sorted(boxes)
    for i, (left, bottom, right, top, char) in enumerate(ordered):
        for other_left, other_bottom, other_right, other_top, other in ordered[i + 1 :]:
            if other_left >= right:
                break
            centre_x, centre_y = (other_left + other_right) / 2, (other_bottom + other_top) / 2
            if left < centre_x < right and bottom < centre_y < top:
                found.append(f"{char!r} at ({left:.0f}, {bottom:.0f}) under {other!r}")
    return found


def test_no_text_is_printed_over_other_text() -> None:
    """A label too long for its column wraps and pushes the next row down (the destruction record's did not)."""
    for name, record in specimens.specimens().items():
        for number, boxes in enumerate(glyph_boxes(render(record)), start=1):
            assert boxes, (name, number)
            assert not overlapping_glyphs(boxes), (name, number, overlapping_glyphs(boxes)[:5])
