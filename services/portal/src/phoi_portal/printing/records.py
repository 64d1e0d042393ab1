"""The four printed records, built from what the services answer (plain JSON dicts).

The records are official papers in Vietnamese whatever the language of the screen: they are signed,
filed and inspected as Vietnamese documents. Each builder only arranges facts; `document.render` draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from phoi_portal.printing.document import Column, Record, Seal, Signature, Table

ISSUER: Final = ("BỘ GIÁO DỤC VÀ ĐÀO TẠO", "CỤC QUẢN LÝ CHẤT LƯỢNG")
ISSUER_NAME: Final = "Cục Quản lý chất lượng, Bộ Giáo dục và Đào tạo"
PLACE: Final = "Hà Nội"
SIGNED: Final = "(Ký, ghi rõ họ tên)"

ROLES: Final = {
    "unit_account": "Tài khoản đơn vị",
    "qlcl_officer": "Cán bộ Cục QLCL",
    "qlcl_admin": "Quản trị viên Cục QLCL",
    "auditor": "Thanh tra, kiểm tra",
}
DESTRUCTION_REASONS: Final = {
    "destroyed_spoiled": "Phôi hỏng (in hỏng, viết sai, rách nát)",
    "destroyed_obsolete": "Phôi không còn sử dụng (mẫu hết hiệu lực)",
    "destroyed_returned": "Phôi đơn vị đã trả lại",
}
USAGE_COLUMNS: Final = (
    ("opening", "Tồn đầu kỳ"),
    ("received", "Nhận trong kỳ"),
    ("used", "Đã sử dụng"),
    ("spoiled", "Hỏng"),
    ("lost", "Mất"),
    ("destroyed", "Đã hủy"),
    ("returned", "Trả lại"),
    ("closing", "Tồn cuối kỳ"),
)


def number(n: int) -> str:
    """Thousands separated by dots, as Vietnamese papers write them."""
    return f"{n:,}".replace(",", ".")


def vn_date(value: date) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def serial_range(r: Mapping[str, Any]) -> tuple[str, str]:
    return str(r.get("first_label") or r["first"]), str(r.get("last_label") or r["last"])


def size(r: Mapping[str, Any]) -> int:
    """Blanks in an inclusive range (requests' ranges carry no count; inventory's do)."""
    return int(r["last"]) - int(r["first"]) + 1


def unit_party(unit: Mapping[str, Any] | None, code: str) -> str:
    return f"{unit['name']} (mã {code})" if unit else code


def _name(form_types: Mapping[str, Mapping[str, Any]], code: str) -> str:
    form_type = form_types.get(code)
    return f"{form_type['name_vi']} ({code})" if form_type else code


def handover_record(
    item: Mapping[str, Any],
    *,
    unit: Mapping[str, Any] | None,
    form_types: Mapping[str, Mapping[str, Any]],
    dated: date,
    seal: Seal,
) -> Record:
    """Biên bản bàn giao phôi: the blanks allocated to a request, range by range."""
    rows: list[tuple[str, ...]] = []
    total = 0
    for n, line in enumerate(item["lines"], start=1):
        ranges = line.get("allocated_ranges") or []
        for k, r in enumerate(ranges):
            first, last = serial_range(r)
            rows.append(
                (
                    str(n) if k == 0 else "",
                    _name(form_types, line["form_type_code"]) if k == 0 else "",
                    first,
                    last,
                    number(size(r)),
                )
            )
        total += sum(size(r) for r in ranges)
    rows.append(("", "Tổng cộng", "", "", number(total)))
    exam = f", {item['exam_session']}" if item.get("exam_session") else ""
    return Record(
        issuer=ISSUER,
        seal=seal,
        title="Biên bản bàn giao phôi văn bằng, chứng chỉ",
        subtitle=f"Cấp phát theo yêu cầu năm học {item['academic_year']}{exam}",
        place=PLACE,
        dated=dated,
        facts=(
            ("Bên giao", ISSUER_NAME),
            ("Bên nhận", unit_party(unit, item["unit_code"])),
            ("Mã yêu cầu", str(item["id"])),
            ("Số lượng bàn giao", f"{number(total)} phôi"),
        ),
        paragraphs=(
            "Hai bên cùng kiểm đếm và bàn giao phôi văn bằng, chứng chỉ theo danh mục dưới đây. Số hiệu phôi "
            "được ghi theo từng dải liên tục, tính cả số đầu và số cuối.",
        ),
        tables=(
            Table(
                columns=(
                    Column("STT", 0.08, "C"),
                    Column("Loại phôi", 0.38),
                    Column("Từ số hiệu", 0.19, "C"),
                    Column("Đến số hiệu", 0.19, "C"),
                    Column("Số lượng", 0.16, "R"),
                ),
                rows=tuple(rows),
            ),
        ),
        closing=(
            "Bên nhận có trách nhiệm kiểm tra số lượng, số hiệu phôi khi nhận, xác nhận đã nhận trên hệ thống "
            "và quản lý, sử dụng phôi đúng quy định. Biên bản lập thành 02 bản, mỗi bên giữ 01 bản.",
        ),
        signatures=(Signature("ĐẠI DIỆN BÊN GIAO"), Signature("ĐẠI DIỆN BÊN NHẬN")),
        file_reference=f"Biên bản bàn giao phôi · yêu cầu {item['id']}",
        extra={"subject": "Biên bản bàn giao phôi", "keywords": f"{item['unit_code']} {item['id']}"},
    )


def account_slip(
    account: Mapping[str, Any], *, unit: Mapping[str, Any] | None, held_from: date, handed_over: bool, seal: Seal
) -> Record:
    """Phiếu bàn giao tài khoản (Article 8.2; 8.4 for a new holder). Never the password: it was shown once."""
    holder = account["holder"]
    holder_text = holder["name"] + (f", {holder['position']}" if holder.get("position") else "")
    facts: list[tuple[str, str]] = []
    if account.get("unit_code"):
        facts.append(("Đơn vị", unit_party(unit, account["unit_code"])))
    facts += [
        ("Vai trò", ROLES.get(account["role"], account["role"])),
        ("Tên đăng nhập", account["username"]),
        ("Người nhận tài khoản", holder_text),
        ("Ngày nhận", vn_date(held_from)),
        ("Mật khẩu tạm thời", "Đã trao một lần khi cấp; không in lại. Đổi mật khẩu ngay khi đăng nhập lần đầu."),
    ]
    signatures = [Signature("NGƯỜI BÀN GIAO (CỤC QLCL)"), Signature("NGƯỜI NHẬN TÀI KHOẢN")]
    if account.get("kind") == "unit":
        signatures.append(Signature("THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)"))
    why = "bàn giao cho người phụ trách mới (Điều 8.4)" if handed_over else "cấp tài khoản (Điều 8.2)"
    return Record(
        issuer=ISSUER,
        seal=seal,
        title="Phiếu bàn giao tài khoản",
        subtitle=f"Phần mềm quản lý phôi văn bằng, chứng chỉ: {why}",
        place=PLACE,
        dated=held_from,
        facts=tuple(facts),
        paragraphs=(
            "Người nhận giữ bí mật mật khẩu, không cho người khác dùng tài khoản, và báo ngay cho thủ trưởng "
            "đơn vị và Cục Quản lý chất lượng khi tài khoản có thể đã bị người khác sử dụng.",
        ),
        signatures=tuple(signatures),
        file_reference=f"Phiếu bàn giao tài khoản {account['username']}",
        extra={"subject": "Phiếu bàn giao tài khoản", "keywords": account["username"]},
    )


def usage_report(
    report: Mapping[str, Any],
    *,
    unit: Mapping[str, Any] | None,
    form_types: Mapping[str, Mapping[str, Any]],
    dated: date,
    seal: Seal,
) -> Record:
    """Báo cáo tình hình sử dụng phôi: counts per category, then every category's serial ranges."""
    start, end = date.fromisoformat(report["period"]["from"]), date.fromisoformat(report["period"]["to"])
    counts = Table(
        columns=(Column("Loại phôi", 0.2), *(Column(title, 0.1, "R") for _, title in USAGE_COLUMNS)),
        rows=tuple(
            (item["form_type"], *(number(int(item[key]["count"])) for key, _ in USAGE_COLUMNS))
            for item in report["form_types"]
        ),
        caption="1. Số lượng phôi",
    )
    ranges = Table(
        columns=(
            Column("Loại phôi", 0.3),
            Column("Nội dung", 0.2),
            Column("Từ số hiệu", 0.19, "C"),
            Column("Đến số hiệu", 0.19, "C"),
            Column("Số lượng", 0.12, "R"),
        ),
        rows=tuple(_usage_ranges(report["form_types"], form_types)) or (("", "Không có phôi", "", "", "0"),),
        caption="2. Số hiệu phôi theo từng nội dung",
    )
    return Record(
        issuer=ISSUER,
        seal=seal,
        title="Báo cáo tình hình sử dụng phôi văn bằng, chứng chỉ",
        subtitle=f"Từ ngày {vn_date(start)} đến ngày {vn_date(end)}",
        place=PLACE,
        dated=dated,
        facts=(("Đơn vị báo cáo", unit_party(unit, report["unit_code"])),),
        tables=(counts, ranges),
        closing=(
            "Tồn cuối kỳ = Tồn đầu kỳ + Nhận trong kỳ - Đã sử dụng - Hỏng - Mất - Đã hủy - Trả lại. "
            "Số liệu lấy từ sổ theo dõi phôi của hệ thống tại thời điểm lập báo cáo.",
        ),
        signatures=(Signature("NGƯỜI LẬP BÁO CÁO"), Signature("THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)")),
        file_reference=f"Báo cáo sử dụng phôi {report['unit_code']} {vn_date(start)}-{vn_date(end)}",
        extra={"subject": "Báo cáo tình hình sử dụng phôi", "keywords": report["unit_code"]},
    )


def _usage_ranges(
    items: Iterable[Mapping[str, Any]], form_types: Mapping[str, Mapping[str, Any]]
) -> Iterable[tuple[str, ...]]:
    for item in items:
        first_of_type = True
        for key, title in USAGE_COLUMNS:
            for r in item[key]["ranges"]:
                first, last = serial_range(r)
                name = _name(form_types, item["form_type"]) if first_of_type else ""
                first_of_type = False
                yield (name, title, first, last, number(size(r)))


def destruction_record(
    movement: Mapping[str, Any],
    *,
    unit: Mapping[str, Any] | None,
    form_type: Mapping[str, Any] | None,
    seal: Seal,
) -> Record:
    """Biên bản hủy phôi: the destroyed ranges, why, how, and the council's signatures."""
    lines = movement["lines"]
    reasons = sorted({DESTRUCTION_REASONS.get(line["reason"], line["reason"]) for line in lines})
    note = next((line["note"] for line in lines if line.get("note")), None)
    occurred = date.fromisoformat(lines[0]["occurred_on"])
    holder = movement.get("holder_unit")
    name = f"{form_type['name_vi']} ({movement['form_type']})" if form_type else movement["form_type"]
    facts = [
        ("Đơn vị hủy phôi", unit_party(unit, holder) if holder else ISSUER_NAME),
        ("Loại phôi", name),
        ("Số lượng hủy", f"{number(int(movement['quantity']))} phôi"),
        ("Lý do hủy", "; ".join(reasons)),
        ("Tình trạng, phương thức hủy", note or "Theo quyết định thành lập hội đồng hủy phôi."),
        ("Số, ký hiệu biên bản/quyết định", lines[0].get("document_ref") or ""),
        ("Ngày hủy", vn_date(occurred)),
    ]
    rows = tuple((str(n), *serial_range(r), number(size(r))) for n, r in enumerate(movement["ranges"], start=1))
    return Record(
        issuer=ISSUER,
        seal=seal,
        title="Biên bản hủy phôi văn bằng, chứng chỉ",
        subtitle=None,
        place=PLACE,
        dated=occurred,
        facts=tuple(facts),
        paragraphs=("Hội đồng hủy phôi đã kiểm đếm và hủy các phôi có số hiệu dưới đây, tính cả số đầu và số cuối.",),
        tables=(
            Table(
                columns=(
                    Column("STT", 0.1, "C"),
                    Column("Từ số hiệu", 0.32, "C"),
                    Column("Đến số hiệu", 0.32, "C"),
                    Column("Số lượng", 0.26, "R"),
                ),
                rows=(*rows, ("", "Tổng cộng", "", number(int(movement["quantity"])))),
            ),
        ),
        closing=("Các phôi trên đã được hủy hoàn toàn, không còn khả năng sử dụng.",),
        signatures=(
            Signature("THƯ KÝ HỘI ĐỒNG"),
            Signature("CHỦ TỊCH HỘI ĐỒNG"),
            Signature("THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)"),
        ),
        file_reference=f"Biên bản hủy phôi · {movement['movement_id']}",
        extra={"subject": "Biên bản hủy phôi", "keywords": str(movement["movement_id"])},
    )
