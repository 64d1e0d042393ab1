"""Fixtures for the requests service's tests: the real app on a fresh database, the session's broker and
the Keycloak stand-in (via the repository's `service_app` and `token_for`).

`env` is a running requests service whose form-type replica was seeded the way inventory would seed
it — by publishing `form_type.created` events on the service's private topics — plus helpers to call
the API as a given role and to play inventory's and identity's parts on the bus. `api_env` is the same
on the faster rolled-back tier (`api_app`: one migrated database per session, no bus), for tests of
request → response.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from phoi_contracts import topics
from phoi_contracts.envelope import Envelope, EventData
from phoi_contracts.events.common import SerialRange
from phoi_contracts.events.inventory import (
    AllocatedLine,
    AllocationCompleted,
    AllocationWaitingForStock,
    FormTypeCreated,
    Shortfall,
)
from phoi_local.testkit import ServiceEnv

FORM_TYPES = ("BTN-THPT", "BTN-THCS", "BSC-THPT")

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"


def _match(version: int | str) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


@dataclass
class Env(ServiceEnv):
    """The requests service: its API as each role, inventory's and identity's parts on the bus."""

    PDF: ClassVar[bytes] = PDF
    PNG: ClassVar[bytes] = PNG
    JPEG: ClassVar[bytes] = JPEG
    EXE: ClassVar[bytes] = EXE

    form_type_ids: dict[str, uuid.UUID] = field(default_factory=dict)

    # --- the bus --------------------------------------------------------------------------------------

    def envelope(
        self, event: EventData, *, time: datetime | None = None, event_id: uuid.UUID | None = None
    ) -> Envelope:
        source = topics.source_for(event.topic_for("/phoi/inventory"))
        return Envelope.wrap(event, source=source, time=time, event_id=event_id)

    async def publish(self, event: EventData, **kw: Any) -> Envelope:
        envelope = self.envelope(event, **kw)
        await self.send(envelope)
        return envelope

    def form_types(self, *codes: str, active: bool = True) -> list[Envelope]:
        """``form_type.created`` as inventory publishes it, one per code (the same id for a code each time)."""
        return [
            self.envelope(
                FormTypeCreated(
                    form_type_id=self.form_type_ids.setdefault(code, uuid.uuid4()),
                    code=code,
                    name=f"Phôi {code}",
                    name_en=f"{code} blank",
                    digits=7,
                    serial_prefix=code[:2],
                    template_version="2024.1",
                    active=active,
                )
            )
            for code in codes
        ]

    async def seed_form_types(self, *codes: str, active: bool = True) -> list[Envelope]:
        sent = self.form_types(*codes, active=active)
        await self.send(*sent)
        return sent

    # --- inventory's answers (built from the contract models) -----------------------------------------

    @staticmethod
    def allocation(
        request: dict[str, Any], *, start: int = 1, allocation_id: uuid.UUID | None = None, revision: int = 1
    ) -> AllocationCompleted:
        """Contiguous ranges, lowest serials first, one per approved line."""
        lines, first = [], start
        for line in request["lines"]:
            quantity = line["approved_quantity"]
            if quantity:
                ranges = (SerialRange(first=first, last=first + quantity - 1),)
                lines.append(
                    AllocatedLine(
                        line_id=line["line_id"], form_type_code=line["form_type_code"], quantity=quantity, ranges=ranges
                    )
                )
                first += quantity
        return AllocationCompleted(
            request_id=request["id"],
            unit_code=request["unit_code"],
            allocation_id=allocation_id or uuid.uuid4(),
            approval_revision=revision,
            lines=tuple(lines),
        )

    @staticmethod
    def shortage(request: dict[str, Any], *, available: int = 0, revision: int = 1) -> AllocationWaitingForStock:
        """Every approved line short, with `available` blanks in stock for each."""
        return AllocationWaitingForStock(
            request_id=request["id"],
            unit_code=request["unit_code"],
            approval_revision=revision,
            lines=tuple(
                Shortfall(
                    line_id=line["line_id"],
                    form_type_code=line["form_type_code"],
                    approved_quantity=line["approved_quantity"],
                    available_quantity=available,
                    shortfall_quantity=line["approved_quantity"] - available,
                )
                for line in request["lines"]
                if line["approved_quantity"] and line["approved_quantity"] > available
            ),
        )

    # --- the API --------------------------------------------------------------------------------------

    async def create(
        self, headers: dict[str, str] | None = None, *, lines: list[dict[str, Any]] | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "academic_year": "2024-2025",
            "exam_session": "Kỳ thi tốt nghiệp THPT năm 2025",
            "justification": "Đề nghị cấp phôi bằng tốt nghiệp năm học 2024-2025",
            "lines": lines
            if lines is not None
            else [
                {
                    "form_type_code": "BTN-THPT",
                    "quantity": 1200,
                    "expected_graduates": 1180,
                    "justification": "Dự kiến",
                },
                {"form_type_code": "BTN-THCS", "quantity": 800},
            ],
            **fields,
        }
        response = await self.client.post("/api/v1/requests", json=body, headers=headers or self.unit())
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def get(self, request_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(f"/api/v1/requests/{request_id}", headers=headers or self.officer())

    async def read(self, request_id: str) -> dict[str, Any]:
        response = await self.get(request_id)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def act(
        self,
        request_id: str,
        action: str,
        headers: dict[str, str],
        *,
        version: int | str | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """POST a transition; `version` defaults to the current one (read as an officer)."""
        if version is None:
            version = (await self.read(request_id))["version"]
        return await self.client.post(
            f"/api/v1/requests/{request_id}/{action}", json=body, headers={**headers, **_match(version)}
        )

    async def patch(
        self, request_id: str, body: dict[str, Any], headers: dict[str, str], *, version: int | str | None = None
    ) -> httpx.Response:
        if version is None:
            version = (await self.read(request_id))["version"]
        return await self.client.patch(
            f"/api/v1/requests/{request_id}", json=body, headers={**headers, **_match(version)}
        )

    async def attach(
        self,
        request_id: str,
        headers: dict[str, str] | None = None,
        *,
        content: bytes = PDF,
        filename: str = "công-văn-đề-nghị.pdf",
        content_type: str = "application/pdf",
        version: int | str | None = None,
    ) -> httpx.Response:
        if version is None:
            version = (await self.read(request_id))["version"]
        return await self.client.post(
            f"/api/v1/requests/{request_id}/attachments",
            files={"file": (filename, content, content_type)},
            headers={**(headers or self.unit()), **_match(version)},
        )

    async def submitted(self, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        """A new request with its letter attached, submitted."""
        who = headers or self.unit()
        created = await self.create(who, **fields)
        attached = await self.attach(created["id"], who)
        assert attached.status_code == 201, attached.text
        submitted = await self.act(created["id"], "submit", who)
        assert submitted.status_code == 200, submitted.text
        body: dict[str, Any] = submitted.json()
        return body

    async def approved(self, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        request = await self.submitted(headers, **fields)
        approved = await self.act(request["id"], "approve", self.officer(), version=request["version"])
        assert approved.status_code == 200, approved.text
        body: dict[str, Any] = approved.json()
        return body


@pytest.fixture
async def env(service_app: Any, broker: Any, tokens: Callable[..., dict[str, str]]) -> AsyncIterator[Env]:
    """A running requests service with the form types BTN-THPT, BTN-THCS, BSC-THPT in its replica."""
    async with Env.running(service_app, broker.bootstrap, tokens, "requests") as environment:
        seeded = await environment.seed_form_types(*FORM_TYPES)
        await environment.processed(*seeded, timeout=30)
        yield environment


@pytest.fixture
async def committed_env(service_app: Any, tokens: Callable[..., dict[str, str]]) -> AsyncIterator[Env]:
    """The service on a fresh database, committing for real (for concurrent requests), without the bus
    (its consumer costs seconds per test to join and leave its group); the replica is seeded through the
    service's own ``form_type.created`` handler."""
    async with Env.committed(service_app, tokens, "requests") as environment:
        for envelope in environment.form_types(*FORM_TYPES):
            await environment.handle(envelope)
        yield environment


@pytest.fixture
async def api_env(api_app: Any, tokens: Callable[..., dict[str, str]]) -> AsyncIterator[Env]:
    """The same, faster, for request → response tests: on the session's migrated database, in a transaction
    rolled back at the end, with no bus (``api_app``); the replica is seeded through the service's own
    ``form_type.created`` handler."""
    async with Env.rolled_back(api_app, tokens, "requests") as environment:
        for envelope in environment.form_types(*FORM_TYPES):
            await environment.handle(envelope)
        yield environment


@pytest.fixture
async def strict_env(
    api_app: Any, tokens: Callable[..., dict[str, str]], test_pki: Any, tmp_path: Path
) -> AsyncIterator[Env]:
    """``api_env`` trusting the test CA (``test_pki``) and requiring a validly signed letter to submit,
    as production does (``REQUESTS_REQUIRE_SIGNED_LETTER``)."""
    folder = test_pki.write_trust_folder(tmp_path / "trust")
    overrides = {"signature_trust_folder": folder, "require_signed_letter": True}
    async with Env.rolled_back(api_app, tokens, "requests", **overrides) as environment:
        for envelope in environment.form_types(*FORM_TYPES):
            await environment.handle(envelope)
        yield environment
