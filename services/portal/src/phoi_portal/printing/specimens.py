"""Specimens of the four printed records, with made-up facts: the pictures in the README and the data
of the printing tests. `python -m phoi_portal.printing.specimens DIR` writes the first page of each as
PNG (with pypdfium2, a development dependency; the README shows them from docs/records)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any, Final

from phoi_portal.printing import records
from phoi_portal.printing.document import Record, Seal, render

HASH: Final = "3f9c2a7d41e08b65" * 4
SEAL: Final = Seal(url="https://phoi.moet.gov.vn/audit/entries/4821", reference="-", sequence=4821, hash=HASH)
UNIT: Final = {"code": "SGD-HNI", "name": "Sở Giáo dục và Đào tạo Hà Nội", "head": {"name": "Nguyễn Văn An"}}
FORM_TYPES: Final = {"TN-THPT": {"code": "TN-THPT", "name_vi": "Bằng tốt nghiệp trung học phổ thông"}}
TEMPORARY_PASSWORD: Final = "must-never-print"  # noqa: S105 - a marker the slip must leave out


def labelled(first: int, last: int) -> dict[str, Any]:
    return {
        "first": first,
        "last": last,
        "count": last - first + 1,
        "first_label": f"TN{first:07d}",
        "last_label": f"TN{last:07d}",
    }


def allocated_request() -> dict[str, Any]:
    return {
        "id": "6f1c1b7e-8a52-4d1e-9a3f-0c2b7d9e1a11",
        "unit_code": "SGD-HNI",
        "academic_year": "2025-2026",
        "exam_session": "Kỳ thi tốt nghiệp THPT",
        "lines": [
            {
                "form_type_code": "TN-THPT",
                "quantity": 2000,
                "allocated_ranges": [labelled(1, 1200), labelled(1501, 1800)],
            }
        ],
    }


def unit_account() -> dict[str, Any]:
    return {
        "kind": "unit",
        "role": "unit_account",
        "unit_code": "SGD-HNI",
        "username": "sgd-hni",
        "holder": {"name": "Trần Thị Bình", "position": "Phó Chánh Văn phòng"},
        "temporary_password": TEMPORARY_PASSWORD,  # as identity answers on issue: the slip must leave it out
    }


def tally(*ranges: tuple[int, int]) -> dict[str, Any]:
    return {"count": sum(b - a + 1 for a, b in ranges), "ranges": [labelled(a, b) for a, b in ranges]}


def usage_report() -> dict[str, Any]:
    return {
        "unit_code": "SGD-HNI",
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "form_types": [
            {
                "form_type": "TN-THPT",
                "opening": tally(),
                "received": tally((1, 1500)),
                "used": tally((1, 1180)),
                "spoiled": tally((1181, 1183)),
                "lost": tally(),
                "destroyed": tally((1184, 1185)),
                "returned": tally(),
                "closing": tally((1186, 1500)),
            }
        ],
    }


def destroy_movement() -> dict[str, Any]:
    return {
        "movement_id": "0b0e8f7a-2d7c-4f5e-8d11-5f7c1b2a3c4d",
        "kind": "destroy",
        "form_type": "TN-THPT",
        "holder_unit": "SGD-HNI",
        "quantity": 3,
        "ranges": [labelled(1184, 1185), labelled(1190, 1190)],
        "lines": [
            {
                "reason": "destroyed_spoiled",
                "note": "Phôi bị rách; cắt hủy bằng máy hủy giấy",
                "document_ref": "BB-HỦY-2026/03",
                "occurred_on": "2026-07-15",
            }
        ],
    }


def specimens(seal: Seal = SEAL) -> dict[str, Record]:
    return {
        "bien-ban-ban-giao-phoi": records.handover_record(
            allocated_request(), unit=UNIT, form_types=FORM_TYPES, dated=date(2026, 5, 4), seal=seal
        ),
        "phieu-ban-giao-tai-khoan": records.account_slip(
            unit_account(), unit=UNIT, held_from=date(2026, 9, 1), handed_over=True, seal=seal
        ),
        "bao-cao-su-dung-phoi": records.usage_report(
            usage_report(), unit=UNIT, form_types=FORM_TYPES, dated=date(2026, 7, 2), seal=seal
        ),
        "bien-ban-huy-phoi": records.destruction_record(
            destroy_movement(), unit=UNIT, form_type=FORM_TYPES["TN-THPT"], seal=seal
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    import pypdfium2  # type: ignore[import-untyped]

    for name, record in specimens().items():
        pdf = render(record)
        page = pypdfium2.PdfDocument(pdf)[0]
        page.render(scale=1.25).to_pil().save(folder / f"{name}.png", optimize=True)
        print(folder / f"{name}.png")


if __name__ == "__main__":
    main()
