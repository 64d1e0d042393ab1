"""Usage reports (báo cáo sử dụng phôi) per unit and period: opening balance, received, used, spoiled, lost,
destroyed, returned, closing balance — each with its inclusive serial ranges — computed by the domain from
the unit's ledger lines; and their CSV / XLSX downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Font

from phoi_inventory.domain import FormType, RangeTally, SerialRange, UsageReport

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("opening", "Tồn đầu kỳ"),
    ("received", "Nhận trong kỳ"),
    ("used", "Đã sử dụng"),
    ("spoiled", "Hỏng"),
    ("lost", "Mất"),
    ("destroyed", "Đã hủy"),
    ("returned", "Trả lại"),
    ("closing", "Tồn cuối kỳ"),
)

CSV_HEADER = (
    "unit_code",
    "form_type",
    "period_from",
    "period_to",
    "category",
    "category_vi",
    "category_count",
    "range_first",
    "range_last",
    "range_first_label",
    "range_last_label",
    "range_count",
)


@dataclass(frozen=True, slots=True)
class UsageReportSet:
    unit_code: str
    period_from: date
    period_to: date  # inclusive
    reports: tuple[UsageReport, ...]
    form_types: dict[str, FormType]
    generated_at: datetime

    def label(self, form_type: str, serial: int) -> str:
        ft = self.form_types.get(form_type)
        return ft.format_serial(serial) if ft is not None else str(serial)

    def rows(self) -> list[tuple[object, ...]]:
        """One row per (form type, category, range); a category without ranges gets one row with its count."""
        out: list[tuple[object, ...]] = []
        for report in self.reports:
            for category, category_vi in CATEGORIES:
                tally: RangeTally = getattr(report, category)
                head = (
                    self.unit_code,
                    report.form_type,
                    self.period_from.isoformat(),
                    self.period_to.isoformat(),
                    category,
                    category_vi,
                    tally.count,
                )
                if not tally.ranges:
                    out.append((*head, "", "", "", "", 0))
                for r in tally.ranges:
                    out.append(
                        (
                            *head,
                            r.first,
                            r.last,
                            self.label(report.form_type, r.first),
                            self.label(report.form_type, r.last),
                            r.count,
                        )
                    )
        return out


def to_csv(report_set: UsageReportSet) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    rows = report_set.rows()
    writer.writerows(rows)
    # UTF-8 with a byte-order mark: what spreadsheet programs need to read Vietnamese text correctly.
    return buffer.getvalue().encode("utf-8-sig"), len(rows)


def to_xlsx(report_set: UsageReportSet) -> tuple[bytes, int]:
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Tổng hợp"
    bold = Font(bold=True)
    summary.append(["Báo cáo tình hình sử dụng phôi văn bằng, chứng chỉ"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Đơn vị", report_set.unit_code])
    summary.append(["Kỳ báo cáo", f"{report_set.period_from:%d/%m/%Y} – {report_set.period_to:%d/%m/%Y}"])
    summary.append([])
    summary.append(["Loại phôi", *(vi for _, vi in CATEGORIES)])
    for cell in summary[5]:
        cell.font = bold
    for report in report_set.reports:
        summary.append([report.form_type, *(getattr(report, c).count for c, _ in CATEGORIES)])
    details = workbook.create_sheet("Dải số hiệu")
    details.append(list(CSV_HEADER))
    for cell in details[1]:
        cell.font = bold
    rows = report_set.rows()
    for row in rows:
        details.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), len(rows)


def tally_json(tally: RangeTally, label: FormType | None) -> dict[str, object]:
    return {"count": tally.count, "ranges": [range_json(r, label) for r in tally.ranges]}


def range_json(r: SerialRange, form_type: FormType | None) -> dict[str, object]:
    out: dict[str, object] = {"first": r.first, "last": r.last, "count": r.count}
    if form_type is not None:
        out["first_label"] = form_type.format_serial(r.first) if r.first >= 1 else str(r.first)
        out["last_label"] = form_type.format_serial(r.last) if r.last >= 1 else str(r.last)
    return out


def report_json(report_set: UsageReportSet) -> list[dict[str, object]]:
    out = []
    for report in report_set.reports:
        ft = report_set.form_types.get(report.form_type)
        item: dict[str, object] = {"form_type": report.form_type}
        for category, _ in CATEGORIES:
            item[category] = tally_json(getattr(report, category), ft)
        item["destroyed_from_stock"] = tally_json(report.destroyed_obsolete, ft)
        item["reconciles"] = report.reconciles
        out.append(item)
    return out


def sorted_reports(reports: Sequence[UsageReport]) -> tuple[UsageReport, ...]:
    return tuple(sorted(reports, key=lambda r: r.form_type))
