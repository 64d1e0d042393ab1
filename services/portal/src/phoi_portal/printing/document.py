"""A printed record on A4, laid out as Vietnamese administrative papers are, drawn with fpdf2.

A drawing library rather than HTML-to-PDF: the records are a few fixed layouts, fpdf2 is pure Python
(no browser or Pango in the portal's image), embeds subsets of TrueType fonts with their Unicode maps
(so every diacritic prints and the text can be searched and extracted), and pages break tables itself.
The typeface is Tinos, metric-compatible with Times New Roman, which Decree 30/2020/ND-CP prescribes for
administrative documents; it is pinned in assets.lock.json like the portal's other front-end files.

Every record ends with its audit seal: the sequence number and hash of the audit log entry of the fact
it records, and a QR code that opens that entry in the portal, so the paper on file can be matched to
the log and verification proves the entry unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final, Literal

import segno
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos
from fpdf.fonts import FontFace

FONT_DIR: Final = Path(__file__).resolve().parents[1] / "static" / "vendor" / "fonts" / "pdf"
FONT: Final = "Tinos"
BODY_SIZE: Final = 13  # Decree 30: body text 13-14 pt
SMALL_SIZE: Final = 10
LEFT, RIGHT, TOP, BOTTOM = 30.0, 15.0, 20.0, 20.0  # mm, Decree 30's margins
QR_SIZE: Final = 28.0  # mm
HEADINGS: Final = FontFace(family=FONT, emphasis="BOLD", fill_color=(235, 235, 235))
NATION: Final = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO: Final = "Độc lập - Tự do - Hạnh phúc"

Alignment = Literal["L", "C", "R"]


@dataclass(frozen=True)
class Seal:
    """Where the recorded fact sits in the audit log. Without a sequence the fact has not reached the log
    yet (events arrive a moment after the action): the paper then names its reference, which the log
    will list under the same subject, and the QR code opens that search."""

    url: str
    reference: str
    sequence: int | None = None
    hash: str | None = None


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # share of the text width
    align: Alignment = "L"


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None


@dataclass(frozen=True)
class Signature:
    party: str  # e.g. "ĐẠI DIỆN BÊN GIAO"
    hint: str = "(Ký, ghi rõ họ tên)"


@dataclass(frozen=True)
class Record:
    """What a record says, in the order it is printed."""

    issuer: tuple[str, ...]  # the body issuing the paper, top left, e.g. ("BỘ GIÁO DỤC VÀ ĐÀO TẠO", ...)
    title: str
    subtitle: str | None
    place: str
    dated: date
    facts: tuple[tuple[str, str], ...]  # label, value
    seal: Seal
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    closing: tuple[str, ...] = ()
    signatures: tuple[Signature, ...] = ()
    file_reference: str = ""  # printed in every page's footer with the page number
    extra: dict[str, str] = field(default_factory=dict)  # PDF metadata (subject, keywords)


class _Paper(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_margins(LEFT, TOP, RIGHT)
        self.set_auto_page_break(auto=True, margin=BOTTOM)
        self.add_font(FONT, "", str(FONT_DIR / "Tinos-Regular.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "Tinos-Bold.ttf"))
        self.add_font(FONT, "I", str(FONT_DIR / "Tinos-Italic.ttf"))
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-BOTTOM + 6)
        self.set_font(FONT, "", SMALL_SIZE - 1)
        self.cell(0, 4, f"{self.footer_text} · Trang {self.page_no()}/{{nb}}", align=Align.C)


def render(record: Record) -> bytes:
    """The record as PDF bytes."""
    pdf = _Paper(record.file_reference or record.title)
    pdf.set_title(record.title)
    pdf.set_author(" - ".join(record.issuer))
    pdf.set_subject(record.extra.get("subject", record.title))
    pdf.set_keywords(record.extra.get("keywords", ""))
    pdf.set_creator("Phôi VBCC")
    pdf.set_lang("vi")
    pdf.add_page()
    _heading(pdf, record)
    _facts(pdf, record.facts)
    for paragraph in record.paragraphs:
        _paragraph(pdf, paragraph)
    for table in record.tables:
        _table(pdf, table)
    for paragraph in record.closing:
        _paragraph(pdf, paragraph)
    _signatures(pdf, record.signatures)
    _seal(pdf, record.seal)
    return bytes(pdf.output())


def _heading(pdf: FPDF, record: Record) -> None:
    half = pdf.epw * 0.45
    top = pdf.get_y()
    pdf.set_font(FONT, "", 12)
    for n, line in enumerate(record.issuer):
        pdf.set_font(FONT, "B" if n == len(record.issuer) - 1 else "", 12)
        pdf.set_x(LEFT)
        pdf.cell(half, 6, line, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()
    pdf.set_xy(LEFT + half, top)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(pdf.epw - half, 6, NATION, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", BODY_SIZE)
    pdf.cell(pdf.epw - half, 6, MOTTO, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "I", BODY_SIZE)
    dated = record.dated
    pdf.cell(
        pdf.epw - half,
        8,
        f"{record.place}, ngày {dated.day:02d} tháng {dated.month:02d} năm {dated.year}",
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(max(pdf.get_y(), left_bottom) + 6)
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(0, 8, record.title.upper(), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if record.subtitle:
        pdf.set_font(FONT, "I", BODY_SIZE)
        pdf.multi_cell(0, 7, record.subtitle, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _facts(pdf: FPDF, facts: tuple[tuple[str, str], ...]) -> None:
    label_width, line = pdf.epw * 0.36, 6.5
    for label, value in facts:
        pdf.set_x(LEFT)
        top = pdf.get_y()
        # a long label wraps: the row is as tall as the taller of its two cells (measured, not assumed)
        label_lines = _lines(pdf, label_width, "B", BODY_SIZE, line, f"{label}:")
        pdf.multi_cell(label_width, line, f"{label}:", align=Align.L, new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_xy(LEFT + label_width, top)
        pdf.set_font(FONT, "", BODY_SIZE)
        pdf.multi_cell(pdf.epw - label_width, line, value, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(pdf.get_y(), top + line * label_lines))
    pdf.ln(2)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, "", BODY_SIZE)
    pdf.multi_cell(0, 6.5, text, align=Align.J, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _table(pdf: FPDF, table: Table) -> None:
    if table.caption:
        pdf.set_font(FONT, "B", BODY_SIZE)
        pdf.multi_cell(0, 7, table.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 11)
    widths = tuple(c.width for c in table.columns)
    aligns = tuple(c.align for c in table.columns)
    with pdf.table(
        col_widths=widths,
        text_align=aligns,
        line_height=5.5,
        padding=1.2,
        headings_style=HEADINGS,
        repeat_headings=1,
        first_row_as_headings=True,
        align=Align.L,
        width=pdf.epw,
    ) as grid:
        heading = grid.row()
        for column in table.columns:
            heading.cell(column.title, align=Align.C)
        for values in table.rows:
            row = grid.row()
            for value in values:
                row.cell(value)
    pdf.ln(4)


def _signatures(pdf: FPDF, signatures: tuple[Signature, ...]) -> None:
    if not signatures:
        return
    block_height = 42.0
    if pdf.get_y() + block_height > pdf.h - BOTTOM:
        pdf.add_page()
    width = pdf.epw / len(signatures)
    top = pdf.get_y() + 2
    for n, signature in enumerate(signatures):
        pdf.set_xy(LEFT + n * width, top)
        pdf.set_font(FONT, "B", 12)
        pdf.multi_cell(width, 6, signature.party, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "I", 12)
        pdf.multi_cell(width, 6, signature.hint, align=Align.C)
    pdf.set_y(top + block_height)


def _seal(pdf: FPDF, seal: Seal) -> None:
    """The audit seal in a box at the end: QR code on the left, what it means on the right."""
    width = pdf.epw - QR_SIZE - 10
    text = _seal_text(seal)
    text_height = sum(_lines(pdf, width, *part) * part[2] for part in text)
    height = max(QR_SIZE + 6, text_height + 6)  # as tall as what it holds
    if pdf.get_y() + height > pdf.h - BOTTOM:  # the box is never split across pages
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(LEFT, top, pdf.epw, height)
    _qr(pdf, seal.url, LEFT + 3, top + 3, QR_SIZE)
    pdf.set_xy(LEFT + QR_SIZE + 7, top + 3)
    for style, size, line_height, line in text:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(width, line_height, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(top + height)


def _seal_text(seal: Seal) -> list[tuple[Literal["", "B", "I"], float, float, str]]:
    """(style, size, line height, text) of each paragraph in the seal box."""
    if seal.sequence is not None and seal.hash is not None:
        lines = [f"Số thứ tự trong nhật ký: {seal.sequence}", "Mã băm (SHA-256):", seal.hash[:32], seal.hash[32:]]
    else:
        lines = [f"Mã tra cứu: {seal.reference}", "Sự kiện đang được ghi vào nhật ký; tra cứu theo mã này."]
    how = "Quét mã QR hoặc mở địa chỉ trên để xem mục nhật ký (cần đăng nhập với vai trò thanh tra, kiểm tra)."
    return [
        ("B", SMALL_SIZE + 1, 5, "Đối chiếu nhật ký kiểm toán"),
        *(("", SMALL_SIZE, 4.6, line) for line in (*lines, seal.url)),
        ("I", SMALL_SIZE - 1, 4.4, how),
    ]


def _lines(pdf: FPDF, width: float, style: Literal["", "B", "I"], size: float, line_height: float, text: str) -> int:
    """How many lines `text` takes in a cell `width` wide (measured by fpdf2 itself)."""
    pdf.set_font(FONT, style, size)
    lines = pdf.multi_cell(width, line_height, text, dry_run=True, output=MethodReturnValue.LINES)
    assert isinstance(lines, list)  # what output=LINES returns
    return len(lines)


def _qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector squares (one rectangle per run of dark modules in a row)."""
    code = segno.make(data, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
