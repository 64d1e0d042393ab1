"""Stock, allocations, one serial's history, usage reports (JSON, CSV, XLSX) and the stock gauge; units see
only their own."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


async def _stocked(api_env: Any) -> str:
    """SGD-HN holds 1..300 (used 1..10, spoiled 11..12, lost 13); SGD-HCM holds 301..400; 401..1000 central."""
    ft: str = await api_env.form_type()
    await api_env.batch(ft, 1, 1_000)
    await api_env.hold(ft, 300)
    await api_env.hold(ft, 100, unit=api_env.OTHER_UNIT)
    for body in (
        {"kind": "use", "items": [{"first": 1, "last": 10, "register_entry_first": 1}], "document_ref": "QĐ-1"},
        {"kind": "spoil", "items": [{"first": 11, "last": 12}], "document_ref": "BB-1"},
        {"kind": "lose", "serials": [13], "document_ref": "CA-1"},
    ):
        response = await api_env.move({"form_type": ft, **body})
        assert response.status_code == 201, response.text
    return ft


async def test_stock_serials_and_allocations_are_scoped_to_the_unit(api_env: Any) -> None:
    ft = await _stocked(api_env)
    mine = await api_env.stock(api_env.unit(), form_type=ft)
    assert {(line["state"], line["holder_unit"], line["count"]) for line in mine} == {
        ("at_unit", api_env.UNIT, 287),
        ("used", api_env.UNIT, 10),
        ("spoiled", api_env.UNIT, 2),
        ("lost", api_env.UNIT, 1),
    }
    other = await api_env.client.get("/api/v1/stock", params={"unit_code": api_env.OTHER_UNIT}, headers=api_env.unit())
    assert other.status_code == 404
    everything = await api_env.stock(api_env.auditor(), form_type=ft)
    assert {line["holder_unit"] for line in everything} == {None, api_env.UNIT, api_env.OTHER_UNIT}
    central = await api_env.stock(api_env.officer(), form_type=ft, unit_code="QLCL")
    assert [(line["state"], line["count"]) for line in central] == [("central", 600)]
    filtered = await api_env.stock(api_env.officer(), form_type=ft, state=["used", "lost"])
    assert {line["state"] for line in filtered} == {"used", "lost"}

    # one serial: by number or printed label; another unit's serial is not found
    serial = await api_env.client.get(f"/api/v1/serials/{ft}/TS0000005", headers=api_env.unit())
    assert serial.status_code == 200, serial.text
    body = serial.json()
    assert (body["serial"], body["label"], body["state"], body["holder_unit"]) == (5, "TS0000005", "used", api_env.UNIT)
    assert [line["kind"] for line in body["history"]] == ["receive_print", "allocate", "receive", "use"]
    assert body["history"][-1]["register_entry_first"] == 1
    assert (await api_env.client.get(f"/api/v1/serials/{ft}/350", headers=api_env.unit())).status_code == 404
    hcm = await api_env.client.get(f"/api/v1/serials/{ft}/350", headers=api_env.unit(api_env.OTHER_UNIT))
    assert hcm.json()["state"] == "at_unit"
    assert (await api_env.client.get(f"/api/v1/serials/{ft}/350", headers=api_env.auditor())).status_code == 200
    assert (await api_env.client.get(f"/api/v1/serials/{ft}/5000", headers=api_env.officer())).status_code == 404
    assert (await api_env.client.get(f"/api/v1/serials/{ft}/XY12", headers=api_env.officer())).status_code == 422
    assert (await api_env.client.get("/api/v1/serials/NO-TYPE/1", headers=api_env.officer())).status_code == 404

    approved, allocation = await api_env.approve([(ft, 50)], unit=api_env.OTHER_UNIT)
    assert (await api_env.allocations(approved.request_id, api_env.unit())) == []
    assert len(await api_env.allocations(approved.request_id, api_env.unit(api_env.OTHER_UNIT))) == 1
    one = f"/api/v1/allocations/{allocation['allocation_id']}"
    assert (await api_env.client.get(one, headers=api_env.unit())).status_code == 404
    assert (await api_env.client.get(one, headers=api_env.auditor())).json()["status"] == "completed"
    allocated = await api_env.client.get(f"/api/v1/serials/{ft}/401", headers=api_env.officer())
    assert allocated.json()["request_id"] == str(approved.request_id)
    listed = await api_env.client.get(
        "/api/v1/allocations", params={"status": "received", "limit": 1}, headers=api_env.officer()
    )
    assert len(listed.json()["items"]) == 1
    assert listed.json()["next_cursor"]
    nxt = await api_env.client.get(
        "/api/v1/allocations",
        params={"status": "received", "cursor": listed.json()["next_cursor"]},
        headers=api_env.officer(),
    )
    assert nxt.json()["items"][0]["allocation_id"] != listed.json()["items"][0]["allocation_id"]

    metrics = (await api_env.client.get("/metrics")).text
    assert f'inventory_blanks{{form_type="{ft}",service="inventory",state="at_unit"}} 387.0' in metrics
    assert f'inventory_blanks{{form_type="{ft}",service="inventory",state="allocated"}} 50.0' in metrics


async def test_a_usage_report_printed_by_the_portal_is_recorded_as_an_export(api_env: Any) -> None:
    ft = await _stocked(api_env)
    today = datetime.now(VIETNAM).date().isoformat()
    params = {"from": today, "to": today, "form_type": ft}
    on_screen = await api_env.client.get("/api/v1/reports/usage", params=params, headers=api_env.unit())
    assert on_screen.json()["export_id"] is None  # reading the report is not an export
    printed = await api_env.client.get(
        "/api/v1/reports/usage", params={**params, "record_as": "pdf"}, headers=api_env.unit()
    )
    assert printed.status_code == 200, printed.text
    assert printed.json()["form_types"] == on_screen.json()["form_types"]
    [exported] = await api_env.outbox("data.exported.v1")
    assert exported["subject"] == printed.json()["export_id"]
    assert (exported["data"]["format"], exported["data"]["report_kind"], exported["data"]["row_count"]) == (
        "pdf",
        "usage_report",
        1,
    )
    not_json = await api_env.client.get(
        "/api/v1/reports/usage", params={**params, "format": "csv", "record_as": "pdf"}, headers=api_env.unit()
    )
    assert (not_json.status_code, not_json.json()["code"]) == (422, "record_as_needs_json")


async def test_usage_report_as_json_csv_and_xlsx(api_env: Any) -> None:
    ft = await _stocked(api_env)
    today = datetime.now(VIETNAM).date()
    params = {"from": today.isoformat(), "to": today.isoformat(), "form_type": ft}
    response = await api_env.client.get("/api/v1/reports/usage", params=params, headers=api_env.unit())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["unit_code"] == api_env.UNIT
    assert report["period"] == {"from": today.isoformat(), "to": today.isoformat()}
    [lines] = report["form_types"]

    def tally(name: str) -> tuple[int, list[tuple[int, int]]]:
        return lines[name]["count"], [(r["first"], r["last"]) for r in lines[name]["ranges"]]

    assert tally("opening") == (0, [])
    assert tally("received") == (300, [(1, 300)])
    assert tally("used") == (10, [(1, 10)])
    assert tally("spoiled") == (2, [(11, 12)])
    assert tally("lost") == (1, [(13, 13)])
    assert tally("destroyed") == (0, [])
    assert tally("returned") == (0, [])
    assert tally("closing") == (287, [(14, 300)])
    assert lines["closing"]["ranges"][0]["first_label"] == "TS0000014"
    assert lines["reconciles"] is True

    later = (today + timedelta(days=1)).isoformat()
    next_period = await api_env.client.get(
        "/api/v1/reports/usage", params={"from": later, "to": later, "form_type": ft}, headers=api_env.unit()
    )
    [following] = next_period.json()["form_types"]
    assert following["opening"]["count"] == 287
    assert following["received"]["count"] == 0

    before = len(await api_env.outbox("data.exported.v1"))
    as_csv = await api_env.client.get(
        "/api/v1/reports/usage", params={**params, "format": "csv"}, headers=api_env.unit()
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    closing = [r for r in rows if r["category"] == "closing"]
    assert [(r["category_vi"], r["range_first_label"], r["range_last_label"]) for r in closing] == [
        ("Tồn cuối kỳ", "TS0000014", "TS0000300")
    ]
    as_xlsx = await api_env.client.get(
        "/api/v1/reports/usage", params={**params, "format": "xlsx"}, headers=api_env.officer()
    )
    assert as_xlsx.status_code == 422  # QLCL must name the unit
    as_xlsx = await api_env.client.get(
        "/api/v1/reports/usage",
        params={**params, "format": "xlsx", "unit_code": api_env.UNIT},
        headers=api_env.auditor(),
    )
    assert as_xlsx.status_code == 200, as_xlsx.text
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    assert workbook.sheetnames == ["Tổng hợp", "Dải số hiệu"]
    summary = list(workbook["Tổng hợp"].iter_rows(values_only=True))
    assert summary[5] == (ft, 0, 300, 10, 2, 1, 0, 0, 287)
    exported = (await api_env.outbox("data.exported.v1"))[before:]
    assert [(e["data"]["format"], e["data"]["report_kind"], e["data"]["row_count"]) for e in exported] == [
        ("csv", "usage_report", len(rows)),
        ("xlsx", "usage_report", len(rows)),
    ]
    assert exported[0]["data"]["filters"]["unit_code"] == api_env.UNIT
    assert exported[0]["actorunit"] == api_env.UNIT

    refused = [
        ({**params, "unit_code": api_env.OTHER_UNIT}, api_env.unit(), 404, "not_found"),
        (params, api_env.officer(), 422, "unit_code_required"),
        ({**params, "from": later}, api_env.unit(), 422, "period_invalid"),
        ({"from": "yesterday", "to": today.isoformat()}, api_env.unit(), 422, "validation_failed"),
        ({**params, "format": "pdf"}, api_env.unit(), 422, "validation_failed"),
    ]
    for query, who, status, code in refused:
        got = await api_env.client.get("/api/v1/reports/usage", params=query, headers=who)
        assert (got.status_code, got.json()["code"]) == (status, code), query
