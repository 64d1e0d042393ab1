"""The issuance saga across the real requests and inventory services, on the real broker.

submit → approve → inventory allocates → the ranges show on the request → the unit confirms receipt →
inventory holds the ranges at the unit; and the variant where stock is short: waiting_for_stock → a
print batch arrives → allocated.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from phoi_local.testkit import wait_for

UNIT = "SGD-HN"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Saga:
    requests: httpx.AsyncClient
    inventory: httpx.AsyncClient
    unit: dict[str, str]
    officer: dict[str, str]

    async def print_batch(self, first: int, last: int) -> None:
        response = await self.inventory.post(
            "/api/v1/print-batches",
            json={
                "form_type": "THPT",
                "first_serial": first,
                "last_serial": last,
                "printer": "Nhà in thử nghiệm",
                "contract_ref": f"HĐ-{uuid.uuid4().hex[:6]}",
                "received_on": "2025-03-15",
            },
            headers=self.officer,
        )
        assert response.status_code == 201, response.text

    async def request(self, path: str = "", **kw: Any) -> dict[str, Any]:
        response = await self.requests.get(f"/api/v1/requests{path}", headers=self.officer, **kw)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def act(self, request: dict[str, Any], action: str, who: dict[str, str], body: Any = None) -> dict[str, Any]:
        current = await self.request(f"/{request['id']}")
        response = await self.requests.post(
            f"/api/v1/requests/{request['id']}/{action}",
            json=body,
            headers={**who, "If-Match": f'"{current["version"]}"'},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def submitted(self, quantity: int) -> dict[str, Any]:
        created = await self.requests.post(
            "/api/v1/requests",
            json={
                "academic_year": "2024-2025",
                "exam_session": "Kỳ thi tốt nghiệp THPT năm 2025",
                "lines": [{"form_type_code": "THPT", "quantity": quantity, "expected_graduates": quantity}],
            },
            headers=self.unit,
        )
        assert created.status_code == 201, created.text
        request: dict[str, Any] = created.json()
        attached = await self.requests.post(
            f"/api/v1/requests/{request['id']}/attachments",
            files={"file": ("cong-van.pdf", PDF, "application/pdf")},
            headers={**self.unit, "If-Match": f'"{request["version"]}"'},
        )
        assert attached.status_code == 201, attached.text
        return await self.act(request, "submit", self.unit)

    async def until_status(self, request: dict[str, Any], status: str) -> dict[str, Any]:
        async def reached() -> bool:
            current: str = (await self.request(f"/{request['id']}"))["status"]
            return current == status

        await wait_for(reached, timeout=30, what=f"request {status}")
        return await self.request(f"/{request['id']}")

    async def unit_stock(self) -> list[tuple[str, int, list[tuple[int, int]]]]:
        response = await self.inventory.get(
            "/api/v1/stock", params={"unit_code": UNIT, "form_type": "THPT"}, headers=self.unit
        )
        assert response.status_code == 200, response.text
        return [
            (line["state"], line["count"], [(r["first"], r["last"]) for r in line["ranges"]])
            for line in response.json()["items"]
        ]


@pytest.fixture
def saga(service_app: Any, token_for: Any, unique: Any) -> Any:
    @contextlib.asynccontextmanager
    async def _run() -> AsyncIterator[Saga]:
        prefix = unique("saga") + "."
        async with (
            service_app("inventory", topic_prefix=prefix) as inventory,
            service_app("requests", topic_prefix=prefix) as requests,
        ):
            saga = Saga(
                requests.client,
                inventory.client,
                token_for("unit_account", UNIT).headers,
                token_for("qlcl_officer").headers,
            )

            async def form_types_known() -> bool:  # inventory's seeded form types reached requests
                listed = await saga.requests.get("/api/v1/form-types", headers=saga.unit)
                return "THPT" in {ft["code"] for ft in listed.json()["items"]}

            await wait_for(form_types_known, timeout=30, what="form type replica filled from inventory's events")
            yield saga

    return _run


async def test_request_is_allocated_received_and_ends_in_the_units_stock(saga: Any) -> None:
    async with saga() as s:
        await s.print_batch(1, 1000)
        request = await s.submitted(quantity=300)
        line_id = request["lines"][0]["line_id"]
        approved = await s.act(
            request, "approve", s.officer, {"lines": [{"line_id": line_id, "approved_quantity": 250}]}
        )
        # the approval's answer already tells the portal that the inventory is at work
        assert (approved["status"], approved["allocation_status"]) == ("approved", "allocating")

        allocated = await s.until_status(request, "allocated")
        assert allocated["allocation_status"] == "allocated"
        assert [(r["first"], r["last"]) for r in allocated["lines"][0]["allocated_ranges"]] == [(1, 250)]
        assert await s.unit_stock() == [("allocated", 250, [(1, 250)])]

        await s.act(request, "confirm-receipt", s.unit, {"comment": "Đã nhận đủ"})

        async def at_unit() -> bool:
            stock: list[tuple[str, int, list[tuple[int, int]]]] = await s.unit_stock()
            return stock == [("at_unit", 250, [(1, 250)])]

        await wait_for(at_unit, timeout=30, what="inventory moved the ranges to the unit")


async def test_the_requests_replica_names_form_types_as_inventory_does(saga: Any) -> None:
    """The same facts under the same names: requests' copy of a form type, filled from inventory's events,
    is a subset of inventory's own answer, field for field."""
    async with saga() as s:
        replica = (await s.requests.get("/api/v1/form-types", headers=s.unit)).json()["items"]
        source = (await s.inventory.get("/api/v1/form-types", headers=s.officer)).json()["items"]
        by_code = {ft["code"]: ft for ft in source}
        assert replica
        for copy in replica:
            assert copy == {name: by_code[copy["code"]][name] for name in copy}


async def test_short_stock_waits_and_completes_when_a_print_batch_arrives(saga: Any) -> None:
    async with saga() as s:
        await s.print_batch(1, 100)
        request = await s.submitted(quantity=250)
        await s.act(request, "approve", s.officer)

        waiting = await s.until_status(request, "waiting_for_stock")
        assert waiting["allocation_status"] == "waiting_for_stock"
        assert waiting["lines"][0]["shortfall"] == 150
        assert await s.unit_stock() == []

        await s.print_batch(101, 500)
        allocated = await s.until_status(request, "allocated")
        assert [(r["first"], r["last"]) for r in allocated["lines"][0]["allocated_ranges"]] == [(1, 250)]
