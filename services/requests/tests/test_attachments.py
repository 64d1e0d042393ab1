"""Attachments: PDF, JPEG and PNG recognised by content, downloadable; anything else refused with a stable
code; oversize refused with 413; attaching bumps the version like any edit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

TEN_MIB = 10 * 1024 * 1024


async def test_letters_are_accepted_by_content_and_downloadable(api_env: Any) -> None:
    created = await api_env.create()
    rid = created["id"]
    version = created["version"]
    uploaded = {}
    for filename, content, declared, detected in (
        ("Công văn đề nghị.pdf", api_env.PDF, "application/pdf", "application/pdf"),
        ("bản-chụp.png", api_env.PNG, "image/png", "image/png"),
        ("scan.jpg", api_env.JPEG, "image/jpeg", "image/jpeg"),
        ("unnamed", api_env.PNG, "application/octet-stream", "image/png"),  # generic declared type: content decides
    ):
        response = await api_env.attach(rid, content=content, filename=filename, content_type=declared, version=version)
        assert response.status_code == 201, response.text
        version += 1
        assert response.headers["ETag"] == f'"{version}"'
        body = response.json()
        assert (body["filename"], body["content_type"], body["size_bytes"]) == (filename, detected, len(content))
        assert response.headers["Location"] == body["download_url"]
        uploaded[body["attachment_id"]] = (filename, content, detected)

    listed = await api_env.client.get(f"/api/v1/requests/{rid}/attachments", headers=api_env.unit())
    assert [a["attachment_id"] for a in listed.json()["items"]] == list(uploaded)
    for attachment_id, (_name, content, detected) in uploaded.items():
        download = await api_env.client.get(
            f"/api/v1/requests/{rid}/attachments/{attachment_id}", headers=api_env.unit()
        )
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["content-type"] == detected
        assert download.headers["content-disposition"].startswith('attachment; filename="')
        assert download.headers["x-content-type-options"] == "nosniff"
    pdf_id = next(iter(uploaded))
    disposition = (
        await api_env.client.get(f"/api/v1/requests/{rid}/attachments/{pdf_id}", headers=api_env.unit())
    ).headers["content-disposition"]
    assert disposition == (
        'attachment; filename="Cong van de nghi.pdf"; '
        "filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20%C4%91%E1%BB%81%20ngh%E1%BB%8B.pdf"
    )

    # removing one: 204 with the new ETag; its bytes are gone too
    removed = await api_env.client.delete(
        f"/api/v1/requests/{rid}/attachments/{pdf_id}", headers={**api_env.unit(), "If-Match": f'"{version}"'}
    )
    assert (removed.status_code, removed.headers["ETag"]) == (204, f'"{version + 1}"')
    gone = await api_env.client.get(f"/api/v1/requests/{rid}/attachments/{pdf_id}", headers=api_env.unit())
    assert (gone.status_code, gone.json()["code"]) == (404, "request.unknown_attachment")
    again = await api_env.client.delete(
        f"/api/v1/requests/{rid}/attachments/{pdf_id}", headers={**api_env.unit(), "If-Match": f'"{version + 1}"'}
    )
    assert (again.status_code, again.json()["code"]) == (422, "request.unknown_attachment")
    history = (await api_env.client.get(f"/api/v1/requests/{rid}/history", headers=api_env.unit())).json()["items"]
    assert [(e["attachment"], e["comment"]) for e in history[-2:]] == [
        ({"change": "added", "filename": "unnamed"}, None),
        ({"change": "removed", "filename": "Công văn đề nghị.pdf"}, None),
    ]

    # listing requests never reads the blobs, but counts the attachments
    listed_requests = await api_env.client.get("/api/v1/requests", headers=api_env.unit())
    assert listed_requests.json()["items"][0]["attachment_count"] == 3
    async with api_env.svc.runtime.database.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM attachment_contents"))).scalar_one() == 3

    # once submitted, attachments are frozen
    submitted = await api_env.act(rid, "submit", api_env.unit())
    assert submitted.status_code == 200
    late = await api_env.attach(rid, version=submitted.json()["version"])
    assert (late.status_code, late.json()["code"]) == (409, "request.illegal_transition")


async def test_what_is_not_a_letter_is_refused(api_env: Any) -> None:
    created = await api_env.create()
    rid, version = created["id"], created["version"]
    cases = [
        # an executable renamed .pdf, declared as a PDF
        (
            dict(content=api_env.EXE, filename="cong-van.pdf", content_type="application/pdf"),
            415,
            "request.attachment_type_unsupported",
        ),
        (
            dict(content=b"GIF89a\x01\x00\x01\x00", filename="a.gif", content_type="image/gif"),
            415,
            "request.attachment_type_unsupported",
        ),
        (
            dict(content=b"<html><script>", filename="a.pdf", content_type="application/pdf"),
            415,
            "request.attachment_type_unsupported",
        ),
        # a real PNG that claims to be a PDF
        (
            dict(content=api_env.PNG, filename="a.pdf", content_type="application/pdf"),
            415,
            "request.attachment_type_mismatch",
        ),
        (dict(content=b"", filename="empty.pdf", content_type="application/pdf"), 422, "request.attachment_empty"),
        # one byte over the limit (the Content-Length is within the allowance: the content is measured)
        (dict(content=b"%PDF-" + b"0" * (TEN_MIB - 4), filename="big.pdf"), 413, "request.attachment_too_large"),
        # far over the limit: refused from the Content-Length, before the body is read
        (dict(content=b"%PDF-" + b"0" * (TEN_MIB + 100_000), filename="huge.pdf"), 413, "request.attachment_too_large"),
    ]
    for kwargs, status, code in cases:
        response = await api_env.attach(rid, version=version, **kwargs)
        assert response.status_code == status, (code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code

    exactly_ten = await api_env.attach(
        rid, content=b"%PDF-" + b"0" * (TEN_MIB - 5), filename="max.pdf", version=version
    )
    assert exactly_ten.status_code == 201, exactly_ten.text
    assert exactly_ten.json()["size_bytes"] == TEN_MIB

    no_file = await api_env.client.post(
        f"/api/v1/requests/{rid}/attachments",
        files={"other": ("a.pdf", api_env.PDF, "application/pdf")},
        headers={**api_env.unit(), "If-Match": f'"{version + 1}"'},
    )
    assert (no_file.status_code, no_file.json()["code"]) == (422, "validation_failed")
    not_multipart = await api_env.client.post(
        f"/api/v1/requests/{rid}/attachments", json={"file": "x"}, headers={**api_env.unit(), "If-Match": '"2"'}
    )
    assert (not_multipart.status_code, not_multipart.json()["code"]) == (422, "validation_failed")

    # only the accepted one is stored
    after = await api_env.read(rid)
    assert (after["version"], len(after["attachments"])) == (version + 1, 1)
    async with api_env.svc.runtime.database.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM attachment_contents"))).scalar_one() == 1
