"""Uploaded letters through the API: the verification of their digital signatures is recorded with the
attachment, shown in the request, carried by the events the audit log keeps, and — where the setting asks
for it — a submission without a validly signed letter is refused with a stable code and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from phoi_local.pki import TestPki, letter_pdf, sign_pdf
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

LETTER = letter_pdf()


async def _outbox_data(env: Any, event_type: str) -> list[dict[str, Any]]:
    async with env.svc.runtime.database.session() as session:
        rows = await session.execute(text("SELECT payload FROM outbox WHERE type = :t ORDER BY id"), {"t": event_type})
        return [json.loads(r.payload)["data"] if isinstance(r.payload, str) else r.payload["data"] for r in rows]


async def test_a_signed_letter_is_recorded_valid_with_its_signer_in_the_request_and_the_event(
    strict_env: Any, test_pki: TestPki
) -> None:
    created = await strict_env.create()
    signed = sign_pdf(LETTER, test_pki.signer("Đặng Thị Hồng Nhung", "Sở Giáo dục và Đào tạo Đắk Lắk"))
    uploaded = await strict_env.attach(created["id"], content=signed, filename="Công văn số 123.pdf")
    assert uploaded.status_code == 201, uploaded.text
    signature = uploaded.json()["signature"]
    assert signature["result"] == "valid"
    [found] = signature["signatures"]
    assert (found["signer_name"], found["signer_organisation"], found["revocation"]) == (
        "Đặng Thị Hồng Nhung",
        "Sở Giáo dục và Đào tạo Đắk Lắk",
        "not_checked",
    )
    # the request (what the officer's page reads) carries the same record
    request = await strict_env.read(created["id"])
    assert request["attachments"][0]["signature"] == signature

    # the audit log's event: the attachment with its verification
    [updated] = [d for d in await _outbox_data(strict_env, "request.updated.v1") if d.get("attachment")]
    assert updated["attachment"]["signature_result"] == "valid"
    assert updated["attachment"]["signatures"][0]["signer_name"] == "Đặng Thị Hồng Nhung"
    submitted = await strict_env.act(created["id"], "submit", strict_env.unit())
    assert submitted.status_code == 200, submitted.text
    [event] = await _outbox_data(strict_env, "request.submitted.v1")
    assert [a["signature_result"] for a in event["attachments"]] == ["valid"]


async def test_without_a_valid_letter_submission_is_refused_and_changes_nothing(
    strict_env: Any, test_pki: TestPki
) -> None:
    created = await strict_env.create()
    for content, filename in ((LETTER, "chưa-ký.pdf"), (strict_env.PNG, "bản-chụp.png")):
        attached = await strict_env.attach(created["id"], content=content, filename=filename, content_type="")
        assert attached.status_code == 201, attached.text
    stranger = sign_pdf(LETTER, TestPki(name="Ngoài danh sách").signer())
    assert (await strict_env.attach(created["id"], content=stranger, filename="ngoài.pdf")).status_code == 201
    before = await strict_env.read(created["id"])
    assert [a["signature"]["result"] for a in before["attachments"]] == ["unsigned", "unsigned", "untrusted"]

    refused = await strict_env.act(created["id"], "submit", strict_env.unit())
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "request.signed_letter_required"
    assert [a["signature_result"] for a in problem["attachments"]] == ["unsigned", "unsigned", "untrusted"]
    assert await strict_env.read(created["id"]) == before

    # a tampered letter beside a valid one is refused too
    signed = sign_pdf(LETTER, test_pki.signer())
    at = signed.index(b"stream") + 20
    tampered = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1 :]
    assert (await strict_env.attach(created["id"], content=tampered, filename="sửa.pdf")).status_code == 201
    assert (await strict_env.attach(created["id"], content=signed, filename="ký.pdf")).status_code == 201
    still = await strict_env.act(created["id"], "submit", strict_env.unit())
    assert (still.status_code, still.json()["code"]) == (422, "request.signed_letter_required")


async def test_the_demo_setting_lets_an_unsigned_letter_through_recorded_as_unsigned(api_env: Any) -> None:
    request = await api_env.submitted()
    assert request["status"] == "submitted"
    assert [a["signature"]["result"] for a in request["attachments"]] == ["unsigned"]


async def test_the_database_keeps_the_result_and_the_report_consistent(api_env: Any) -> None:
    request = await api_env.submitted()
    attachment_id = request["attachments"][0]["attachment_id"]
    async with api_env.svc.runtime.database.session() as session:
        for assignment in (
            "signature_result = 'forged'",
            "signature_result = 'valid'",  # the report still says unsigned
            "signature_check = NULL",
        ):
            with pytest.raises(IntegrityError):
                async with session.begin_nested():
                    await session.execute(
                        text(f"UPDATE request_attachments SET {assignment} WHERE id = :id"),
                        {"id": attachment_id},
                    )
