"""Fixtures for the inventory service's integration tests: the real app on a fresh, migrated database, the
session's broker and the Keycloak stand-in (the repository's `service_app` and `token_for`).

`env` is a running inventory service plus helpers: call the API as a role, play the requests service's
part on the bus (or call the saga handlers directly in their own transaction), and snapshot the stock
tables to prove that a refused call changed nothing. `api_env` is the same on the faster rolled-back tier
(`api_app`: one migrated database per session, no bus), for tests of request → response.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from phoi_contracts.envelope import Actor, Envelope, EventData
from phoi_contracts.events.requests import ApprovedLine, ReceiptLine, RequestApproved, RequestReceiptConfirmed
from phoi_local.testkit import UNIT, ServiceEnv
from sqlalchemy import text


class Env(ServiceEnv):
    """The inventory service: its API as each role, the requests service's part on the bus."""

    # --- the API --------------------------------------------------------------------------------------

    async def form_type(self, code: str | None = None, *, digits: int = 7, prefix: str = "TS") -> str:
        code = code or f"T{uuid.uuid4().hex[:8].upper()}"
        body = {
            "code": code,
            "name_vi": f"Phôi thử {code}",
            "name_en": f"Test blank {code}",
            "serial_prefix": prefix,
            "digits": digits,
            "template_version": "2024.1",
        }
        response = await self.client.post("/api/v1/form-types", json=body, headers=self.officer())
        assert response.status_code == 201, response.text
        return code

    async def batch(self, form_type: str, first: int, last: int, **extra: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/print-batches",
            json={
                "form_type": form_type,
                "first_serial": first,
                "last_serial": last,
                "printer": "Nhà in Tiến Bộ",
                "contract_ref": "HĐ-07/2025/QLCL-IN",
                "received_on": "2025-03-15",
                **extra,
            },
            headers=self.officer(),
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def move(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post("/api/v1/movements", json=body, headers=headers or self.unit())

    async def stock(self, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/stock", params=params, headers=headers or self.officer())
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def allocations(self, request_id: uuid.UUID, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/v1/allocations", params={"request_id": str(request_id)}, headers=headers or self.officer()
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    # --- the saga -------------------------------------------------------------------------------------

    @staticmethod
    def approval(
        lines: list[tuple[str, int]], *, unit: str = UNIT, request_id: uuid.UUID | None = None, revision: int = 1
    ) -> RequestApproved:
        return RequestApproved(
            request_id=request_id or uuid.uuid4(),
            unit_code=unit,
            approval_revision=revision,
            lines=tuple(
                ApprovedLine(line_id=uuid.uuid4(), form_type_code=ft, requested_quantity=max(q, 1), approved_quantity=q)
                for ft, q in lines
            ),
        )

    @staticmethod
    def receipt(
        approved: RequestApproved,
        allocation_id: uuid.UUID,
        *,
        lines: list[ReceiptLine] | None = None,
        received_on: date = date(2025, 6, 10),
    ) -> RequestReceiptConfirmed:
        return RequestReceiptConfirmed(
            request_id=approved.request_id,
            unit_code=approved.unit_code,
            allocation_ids=(allocation_id,),
            received_on=received_on,
            lines=tuple(
                lines
                if lines is not None
                else [
                    ReceiptLine(
                        line_id=line.line_id,
                        form_type_code=line.form_type_code,
                        allocated_quantity=line.approved_quantity,
                        accepted_quantity=line.approved_quantity,
                    )
                    for line in approved.lines
                    if line.approved_quantity
                ]
            ),
        )

    @staticmethod
    def envelope(event: EventData, *, actor: Actor | None = None) -> Envelope:
        return Envelope.wrap(event, source="/phoi/requests", actor=actor or Actor(username="system"))

    async def approve(
        self, lines: list[tuple[str, int]], *, unit: str = UNIT
    ) -> tuple[RequestApproved, dict[str, Any]]:
        """An approval handled directly; returns it and its allocation as the API shows it."""
        approved = self.approval(lines, unit=unit)
        await self.handle(self.envelope(approved))
        [allocation] = await self.allocations(approved.request_id)
        return approved, allocation

    async def hold(self, form_type: str, quantity: int, *, unit: str = UNIT) -> list[tuple[int, int]]:
        """Approve `quantity` blanks for `unit` and confirm their receipt: the unit holds them."""
        approved, allocation = await self.approve([(form_type, quantity)], unit=unit)
        assert allocation["status"] == "completed", allocation
        await self.handle(self.envelope(self.receipt(approved, uuid.UUID(allocation["allocation_id"]))))
        return [(r["first"], r["last"]) for line in allocation["lines"] for r in line["ranges"]]

    # --- the database ---------------------------------------------------------------------------------

    async def fetch(self, sql: str, **params: Any) -> list[Any]:
        async with self.svc.runtime.database.session() as session:
            return list(await session.execute(text(sql), params))

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.svc.runtime.database.session() as session:
            return (await session.execute(text(sql), params)).scalar()

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.fetch("SELECT payload FROM outbox WHERE type = :t ORDER BY id", t=event_type)
        return [Envelope.model_validate_json(r.payload).model_dump(mode="json") for r in rows]

    async def snapshot(self) -> dict[str, Any]:
        """Everything a stock change writes: blocks, ledger, balances, counts, allocations, outbox."""
        return {
            "blocks": [
                tuple(r)
                for r in await self.fetch(
                    "SELECT form_type, lower(serials), upper(serials), state, holder_unit, allocation_id"
                    " FROM blocks ORDER BY form_type, lower(serials)"
                )
            ],
            "ledger": int(await self.scalar("SELECT count(*) FROM ledger")),
            "balances": [tuple(r) for r in await self.fetch("SELECT * FROM stock_balances ORDER BY 1, 2")],
            "counts": [tuple(r) for r in await self.fetch("SELECT * FROM stock_state_counts ORDER BY 1, 2")],
            "batches": int(await self.scalar("SELECT count(*) FROM print_batches")),
            "entries": int(await self.scalar("SELECT count(*) FROM register_entries")),
            "outbox": int(await self.scalar("SELECT count(*) FROM outbox WHERE type <> 'security.access_denied.v1'")),
        }


@pytest.fixture
async def env(service_app: Any, broker: Any, tokens: Callable[..., dict[str, str]]) -> AsyncIterator[Env]:
    """The inventory service on a fresh database, with its relay and consumer on the bus."""
    async with Env.running(service_app, broker.bootstrap, tokens, "inventory") as environment:
        yield environment


@pytest.fixture
async def committed_env(service_app: Any, tokens: Callable[..., dict[str, str]]) -> AsyncIterator[Env]:
    """The inventory service on a fresh database, committing for real (for concurrency and distinct
    server times), without the bus, whose consumer costs seconds per test to join and leave its group."""
    async with Env.committed(service_app, tokens, "inventory") as environment:
        yield environment


@pytest.fixture
async def api_env(api_app: Any, tokens: Callable[..., dict[str, str]]) -> AsyncIterator[Env]:
    """The same, faster: on the session's migrated database, in a transaction rolled back at the end, with
    no bus (``api_app``). Sagas are played with ``handle``."""
    async with Env.rolled_back(api_app, tokens, "inventory") as environment:
        yield environment
