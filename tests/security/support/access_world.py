"""A small world per service for the access matrix: two units (`UNIT`, `OTHER_UNIT`), each with resources
of its own made through the service's API (or, where only the bus makes them, its event handlers), so
that every path parameter resolves; and a well-formed request for every operation, so that a call
reaches the authorisation checks (docs/ACCESS_POLICY.md, "Order of checks")."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from access_policy import Operation
from phoi_contracts.envelope import Actor, Envelope
from phoi_contracts.events.inventory import FormTypeCreated
from phoi_contracts.events.requests import ApprovedLine, ReceiptLine, RequestApproved, RequestReceiptConfirmed
from phoi_kit.uow import UnitOfWork
from phoi_local.testkit import OTHER_UNIT, UNIT

Headers = Callable[..., dict[str, str]]
Body = Callable[["Side"], dict[str, Any]]
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FORM_TYPE = "BTN-THPT"


@dataclass
class Side:
    """One unit's part of the world: the values of path and required query parameters naming its
    resources, their versions to send in If-Match (by the path parameter naming the resource changed), and
    strings only its resources' answers contain."""

    unit: str
    values: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)


@dataclass
class World:
    own: Side
    other: Side
    bodies: dict[str, Body]

    def request(self, op: Operation, side: Side, *, unit_filter: str | None = None) -> dict[str, Any]:
        """httpx `request()` arguments for a well-formed call of `op` on `side`'s resources."""
        url = op.path.format(**{name: side.values[name] for name in op.path_params})
        params = {name: side.values[name] for name in op.required_query}
        if unit_filter and op.unit_filter:
            params[op.unit_filter] = unit_filter
        changed = op.path_params[0] if op.path_params else ""
        headers = {"If-Match": f'"{side.versions.get(changed, "1")}"'} if op.if_match else {}
        body = self.bodies[op.key](side) if op.key in self.bodies else {}
        return {"method": op.method, "url": url, "params": params, "headers": headers, **body}


def _checked(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def handle(svc: Any, envelope: Envelope) -> None:
    """Run the service's handler for one event in its own transaction, as its consumer would."""
    runtime = svc.runtime
    async with runtime.database.session() as session:
        uow = UnitOfWork(session, source=runtime.source, correlation_id=envelope.correlation_id)
        handler = runtime.consumer.handlers.get(envelope.type) or runtime.spec.fallback_handler
        await handler(uow, envelope)
        await uow.commit()


# --- identity -----------------------------------------------------------------------------------------


def _holder() -> dict[str, Any]:
    return {"name": "Nguyễn Văn An", "position": "Chuyên viên"}


IDENTITY_BODIES: dict[str, Body] = {
    "POST /api/v1/units": lambda s: {
        "json": {"code": f"SGD-{secrets.token_hex(2).upper()}", "name": "Sở", "kind": "department"}
    },
    "PATCH /api/v1/units/{code}": lambda s: {"json": {"name": "Sở Giáo dục và Đào tạo"}},
    "POST /api/v1/units/{code}/deactivate": lambda s: {"json": {"reason": "Sáp nhập"}},
    "POST /api/v1/units/{code}/reactivate": lambda s: {"json": {"reason": "Khôi phục"}},
    "POST /api/v1/accounts": lambda s: {
        "json": {"kind": "individual", "role": "auditor", "username": f"m-{secrets.token_hex(5)}", "holder": _holder()}
    },
    "POST /api/v1/accounts/{account_id}/handover": lambda s: {
        "json": {"holder": _holder(), "reason": "Chuyển công tác"}
    },
    "POST /api/v1/accounts/{account_id}/lock": lambda s: {"json": {"reason": "Nghi bị chiếm"}},
    "POST /api/v1/accounts/{account_id}/unlock": lambda s: {"json": {"reason": "Đã xác minh"}},
    "POST /api/v1/accounts/{account_id}/disable": lambda s: {"json": {"reason": "Nghỉ hưu"}},
    "POST /api/v1/incidents": lambda s: {
        "json": {"kind": "suspected_compromise", "description": "Đăng nhập lạ", "unit_code": s.unit}
    },
    "POST /api/v1/incidents/{incident_id}/resolve": lambda s: {"json": {"action": "none", "resolution": "Không sao"}},
    "POST /api/v1/access-reports": lambda s: {
        "json": {"reporter": "Trần Thị Bình", "contact": "binh@example.vn", "description": "Không đăng nhập được"}
    },
}


async def identity_world(client: httpx.AsyncClient, headers: Headers) -> World:
    admin = headers("qlcl_admin")
    sides = {}
    for code in (UNIT, OTHER_UNIT):
        unit = _checked(
            await client.post(
                "/api/v1/units", json={"code": code, "name": f"Sở {code}", "kind": "department"}, headers=admin
            )
        )
        account = _checked(
            await client.post(
                "/api/v1/accounts",
                json={"kind": "unit", "unit_code": code, "username": f"u-{secrets.token_hex(5)}", "holder": _holder()},
                headers=admin,
            )
        )
        incident = _checked(
            await client.post(
                "/api/v1/incidents",
                json={
                    "kind": "suspected_compromise",
                    "description": "Thử",
                    "account_id": account["id"],
                    "unit_code": code,
                },
                headers=admin,
            )
        )
        incident_id = str(incident.get("id") or incident["incident"]["id"])
        sides[code] = Side(
            code,
            {"code": code, "account_id": account["id"], "incident_id": incident_id},
            {"code": str(unit["version"]), "account_id": str(account["version"])},
            {account["id"], incident_id, account["username"]},
        )
    return World(sides[UNIT], sides[OTHER_UNIT], IDENTITY_BODIES)


# --- requests -----------------------------------------------------------------------------------------


def _request_body() -> dict[str, Any]:
    return {"academic_year": "2024-2025", "lines": [{"form_type_code": FORM_TYPE, "quantity": 100}]}


REQUESTS_BODIES: dict[str, Body] = {
    "POST /api/v1/requests": lambda s: {"json": _request_body()},
    "PATCH /api/v1/requests/{request_id}": lambda s: {"json": {"comment": "Bổ sung"}},
    "POST /api/v1/requests/{request_id}/submit": lambda s: {"json": {"comment": "Gửi"}},
    "POST /api/v1/requests/{request_id}/cancel": lambda s: {"json": {"reason": "Không cần"}},
    "POST /api/v1/requests/{request_id}/confirm-receipt": lambda s: {"json": {"comment": "Đã nhận"}},
    "POST /api/v1/requests/{request_id}/approve": lambda s: {"json": {"comment": "Đồng ý"}},
    "POST /api/v1/requests/{request_id}/reject": lambda s: {"json": {"reason": "Thiếu căn cứ"}},
    "POST /api/v1/requests/{request_id}/return": lambda s: {"json": {"reason": "Bổ sung công văn"}},
    "POST /api/v1/requests/{request_id}/close": lambda s: {"json": {"comment": "Xong"}},
    "POST /api/v1/requests/{request_id}/attachments": lambda s: {
        "files": {"file": ("cong-van.pdf", PDF, "application/pdf")}
    },
}


async def requests_world(svc: Any, headers: Headers) -> World:
    created = FormTypeCreated(
        form_type_id=uuid.uuid4(),
        code=FORM_TYPE,
        name="Phôi bằng THPT",
        name_en="Upper secondary diploma blank",
        digits=7,
        serial_prefix="BT",
        template_version="2024.1",
        active=True,
    )
    await handle(svc, Envelope.wrap(created, source="/phoi/inventory"))
    sides = {}
    for code in (UNIT, OTHER_UNIT):
        unit = headers("unit_account", code)
        request = _checked(await svc.client.post("/api/v1/requests", json=_request_body(), headers=unit))
        attached = await svc.client.post(
            f"/api/v1/requests/{request['id']}/attachments",
            files={"file": ("cong-van.pdf", PDF, "application/pdf")},
            headers={**unit, "If-Match": f'"{request["version"]}"'},
        )
        attachment = _checked(attached)
        version = attached.headers["ETag"].strip('"')
        sides[code] = Side(
            code,
            {"request_id": request["id"], "attachment_id": attachment["attachment_id"]},
            {"request_id": version},
            {request["id"], attachment["attachment_id"]},
        )
    return World(sides[UNIT], sides[OTHER_UNIT], REQUESTS_BODIES)


# --- inventory ----------------------------------------------------------------------------------------

INVENTORY_BODIES: dict[str, Body] = {
    "POST /api/v1/form-types": lambda s: {
        "json": {
            "code": f"M{secrets.token_hex(3).upper()}",
            "name_vi": "Phôi thử",
            "name_en": "Test blank",
            "serial_prefix": "MX",
            "digits": 7,
            "template_version": "2024.1",
        }
    },
    "PATCH /api/v1/form-types/{code}": lambda s: {"json": {"template_version": "2025.1"}},
    "POST /api/v1/print-batches": lambda s: {
        "json": {
            "form_type": FORM_TYPE,
            "first_serial": 5001,
            "last_serial": 5100,
            "printer": "Nhà in Tiến Bộ",
            "contract_ref": "HĐ-07/2025",
            "received_on": "2025-03-15",
        }
    },
    "POST /api/v1/movements": lambda s: {
        "json": {
            "kind": "spoil",
            "form_type": FORM_TYPE,
            "items": [{"first": int(s.values["spare"])}],
            "document_ref": "BB-01/2025",
            "reason": "spoiled_misprinted",
        }
    },
}


async def _held(svc: Any, code: str, headers: Headers) -> dict[str, Any]:
    """`code` receives ten blanks by the saga's events, as if the requests service had approved a request and
    the unit confirmed receipt; returns the allocation as the API shows it."""
    request_id = uuid.uuid4()
    approved = RequestApproved(
        request_id=request_id,
        unit_code=code,
        approval_revision=1,
        lines=(
            ApprovedLine(line_id=uuid.uuid4(), form_type_code=FORM_TYPE, requested_quantity=10, approved_quantity=10),
        ),
    )
    system = Actor(username="system")
    await handle(svc, Envelope.wrap(approved, source="/phoi/requests", actor=system))
    listed = await svc.client.get(
        "/api/v1/allocations", params={"request_id": str(request_id)}, headers=headers("qlcl_officer")
    )
    [allocation] = _checked(listed, 200)["items"]
    assert isinstance(allocation, dict)
    line = approved.lines[0]
    receipt = RequestReceiptConfirmed(
        request_id=request_id,
        unit_code=code,
        allocation_ids=(uuid.UUID(allocation["allocation_id"]),),
        received_on=date(2025, 6, 10),
        lines=(
            ReceiptLine(line_id=line.line_id, form_type_code=FORM_TYPE, allocated_quantity=10, accepted_quantity=10),
        ),
    )
    await handle(svc, Envelope.wrap(receipt, source="/phoi/requests", actor=system))
    return allocation


async def inventory_world(svc: Any, headers: Headers) -> World:
    officer = headers("qlcl_officer")
    kinds = {
        "code": FORM_TYPE,
        "name_vi": "Phôi bằng THPT",
        "name_en": "Diploma blank",
        "serial_prefix": "BT",
        "digits": 7,
        "template_version": "2024.1",
    }
    _checked(await svc.client.post("/api/v1/form-types", json=kinds, headers=officer))
    batch = {
        "form_type": FORM_TYPE,
        "first_serial": 1,
        "last_serial": 1000,
        "printer": "Nhà in",
        "contract_ref": "HĐ-1",
        "received_on": "2025-03-15",
    }
    printed = _checked(await svc.client.post("/api/v1/print-batches", json=batch, headers=officer))
    sides = {}
    for code in (UNIT, OTHER_UNIT):
        allocation = await _held(svc, code, headers)
        [line] = allocation["lines"]
        first = int(line["ranges"][0]["first"])
        used = {
            "kind": "spoil",
            "form_type": FORM_TYPE,
            "items": [{"first": first}],
            "document_ref": "BB-1",
            "reason": "spoiled_misprinted",
        }
        movement = _checked(
            await svc.client.post("/api/v1/movements", json=used, headers=headers("unit_account", code))
        )
        movement_id = str(movement["movement_id"])
        sides[code] = Side(
            code,
            {
                "code": FORM_TYPE,
                "batch_id": str(printed["id"]),
                "movement_id": movement_id,
                "allocation_id": allocation["allocation_id"],
                "form_type": FORM_TYPE,
                "serial": str(first),
                "spare": str(first + 1),
                "from": "2025-01-01",
                "to": "2026-12-31",
            },
            {},
            {movement_id, allocation["allocation_id"], allocation["request_id"]},
        )
    return World(sides[UNIT], sides[OTHER_UNIT], INVENTORY_BODIES)


# --- audit --------------------------------------------------------------------------------------------


async def audit_world(svc: Any, headers: Headers) -> World:
    from phoi_audit.service.recording import record

    officer = Actor(user_id="u-officer", username="qlcl.lan", role="qlcl_officer", unit_code="QLCL")
    subjects = {code: str(uuid.uuid4()) for code in (UNIT, OTHER_UNIT)}
    async with svc.runtime.database.session() as session:
        for code, subject in subjects.items():
            await record(
                session,
                Envelope(
                    type="request.submitted.v1",
                    source="/phoi/requests",
                    subject=subject,
                    actor=officer,
                    data={"request_id": subject, "unit_code": code},
                ),
            )
        await session.commit()
    sides = {}
    for code, subject in subjects.items():
        listed = await svc.client.get("/api/v1/entries", params={"subject": subject}, headers=headers("auditor"))
        [entry] = _checked(listed, 200)["items"]
        sides[code] = Side(
            code,
            {"sequence": str(entry["sequence"]), "subject": subject, "type": "request.submitted.v1"},
            {},
            {subject, entry["event_id"]},
        )
    return World(sides[UNIT], sides[OTHER_UNIT], {})


WORLDS: dict[str, Callable[[Any, Headers], Awaitable[World]]] = {
    "identity": lambda svc, headers: identity_world(svc.client, headers),
    "requests": requests_world,
    "inventory": inventory_world,
    "audit": audit_world,
}
