"""The local replicas: units from identity's events (a deactivated unit cannot submit) and form types from
inventory's, both ordered by event time so a late event never rolls them back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from phoi_contracts.events.identity import UnitCreated, UnitDeactivated, UnitKind, UnitReactivated, UnitUpdated
from phoi_contracts.events.inventory import FormTypeUpdated


async def test_a_deactivated_unit_cannot_create_edit_or_submit(env: Any) -> None:
    t0 = datetime.now(UTC)
    unit_id = uuid.uuid4()
    draft = await env.create()
    ready = await env.create()
    attached = await env.attach(ready["id"])
    assert attached.status_code == 201

    deactivate = UnitDeactivated(unit_id=unit_id, code=env.UNIT, reason="Sáp nhập đơn vị")
    created = UnitCreated(
        unit_id=unit_id,
        code=env.UNIT,
        name="Sở Giáo dục và Đào tạo Hà Nội",
        kind=UnitKind.DEPARTMENT,
        province="Hà Nội",
    )
    # the deactivation overtakes the creation: it still counts
    sent = [env.envelope(deactivate, time=t0 + timedelta(seconds=2)), env.envelope(created, time=t0)]
    await env.send(*sent)
    await env.processed(*sent)

    refused = [
        await env.act(ready["id"], "submit", env.unit()),
        await env.patch(draft["id"], {"justification": "Sửa"}, env.unit()),
        await env.attach(draft["id"]),
        await env.client.post(
            "/api/v1/requests",
            json={"academic_year": "2024-2025", "lines": [{"form_type_code": "BTN-THPT", "quantity": 1}]},
            headers=env.unit(),
        ),
    ]
    for response in refused:
        assert response.status_code == 409, response.text
        assert (response.json()["code"], response.json()["unit_code"]) == ("request.unit_inactive", env.UNIT)
    # another unit is not affected; the deactivated unit may still withdraw a request
    assert (await env.create(env.unit(env.OTHER_UNIT)))["status"] == "draft"
    cancelled = await env.act(draft["id"], "cancel", env.unit())
    assert cancelled.json()["status"] == "cancelled"

    # a stale reactivation (decided before the deactivation) changes nothing; a new one does
    renamed = UnitUpdated(
        unit_id=unit_id, code=env.UNIT, name="Sở GD&ĐT Hà Nội", kind=UnitKind.DEPARTMENT, changed_fields=("name",)
    )
    late = [
        env.envelope(UnitReactivated(unit_id=unit_id, code=env.UNIT), time=t0 + timedelta(seconds=1)),
        env.envelope(renamed, time=t0 + timedelta(seconds=3)),
    ]
    await env.send(*late)
    await env.processed(*late)
    still = await env.act(ready["id"], "submit", env.unit())
    assert (still.status_code, still.json()["code"]) == (409, "request.unit_inactive")

    back = env.envelope(
        UnitReactivated(unit_id=unit_id, code=env.UNIT, reason="Khôi phục"), time=t0 + timedelta(seconds=4)
    )
    await env.send(back)
    await env.processed(back)
    submitted = await env.act(ready["id"], "submit", env.unit())
    assert (submitted.status_code, submitted.json()["status"]) == (200, "submitted")


async def test_form_type_replica_follows_the_newest_event(env: Any) -> None:
    # the portal's dropdowns: active ones by default, paginated by code
    await env.processed(*await env.seed_form_types("CC-NN", active=False))
    page = await env.client.get("/api/v1/form-types", params={"limit": 2}, headers=env.unit())
    assert page.status_code == 200
    first = page.json()
    assert [f["code"] for f in first["items"]] == ["BSC-THPT", "BTN-THCS"]
    rest = await env.client.get(
        "/api/v1/form-types", params={"limit": 2, "cursor": first["next_cursor"]}, headers=env.unit()
    )
    assert ([f["code"] for f in rest.json()["items"]], rest.json()["next_cursor"]) == (["BTN-THPT"], None)
    everything = await env.client.get("/api/v1/form-types", params={"include_inactive": True}, headers=env.auditor())
    assert [(f["code"], f["active"]) for f in everything.json()["items"]] == [
        ("BSC-THPT", True),
        ("BTN-THCS", True),
        ("BTN-THPT", True),
        ("CC-NN", False),
    ]
    item = everything.json()["items"][0]
    # inventory's names for the same facts (its FormTypeOut has these and its own bookkeeping fields)
    assert item == {
        "id": str(env.form_type_ids["BSC-THPT"]),
        "code": "BSC-THPT",
        "name_vi": "Phôi BSC-THPT",
        "name_en": "BSC-THPT blank",
        "serial_prefix": "BS",
        "digits": 7,
        "template_version": "2024.1",
        "active": True,
    }

    t0 = datetime.now(UTC) + timedelta(minutes=1)  # after the seeding events
    thpt = env.form_type_ids["BTN-THPT"]
    draft = await env.submitted()  # BTN-THPT and BTN-THCS, letter attached, submitted
    returned = await env.act(draft["id"], "return", env.officer(), body={"reason": "Bổ sung"})
    assert returned.status_code == 200

    def update(active: bool, name: str) -> FormTypeUpdated:
        return FormTypeUpdated(
            form_type_id=thpt,
            code="BTN-THPT",
            name=name,
            serial_prefix="PT",
            template_version="2025.1",
            active=active,
            changed_fields=("active", "name"),
        )

    # retired, then an older "active" update arrives late: it stays retired
    sent = [
        env.envelope(update(False, "Bằng tốt nghiệp THPT (mẫu cũ)"), time=t0 + timedelta(seconds=2)),
        env.envelope(update(True, "Bằng tốt nghiệp THPT"), time=t0 + timedelta(seconds=1)),
    ]
    await env.send(*sent)
    await env.processed(*sent)
    shown = await env.client.get("/api/v1/form-types", params={"include_inactive": True}, headers=env.unit())
    thpt_now = next(f for f in shown.json()["items"] if f["code"] == "BTN-THPT")
    # the newest event did not carry name_en / digits (published before they existed): null, not stale
    assert (thpt_now["active"], thpt_now["name_vi"], thpt_now["serial_prefix"]) == (
        False,
        "Bằng tốt nghiệp THPT (mẫu cũ)",
        "PT",
    )
    assert (thpt_now["name_en"], thpt_now["digits"]) == (None, None)
    dropdown = await env.client.get("/api/v1/form-types", headers=env.unit())
    assert "BTN-THPT" not in [f["code"] for f in dropdown.json()["items"]]

    # a retired form type cannot be requested, nor resubmitted
    line = {"form_type_code": "BTN-THPT", "quantity": 5}
    new = await env.client.post(
        "/api/v1/requests", json={"academic_year": "2024-2025", "lines": [line]}, headers=env.unit()
    )
    assert (new.status_code, new.json()["code"]) == (422, "request.form_type_inactive")
    resubmit = await env.act(draft["id"], "submit", env.unit())
    assert (resubmit.status_code, resubmit.json()["code"]) == (422, "request.form_type_inactive")
    # dropping the retired line makes it acceptable again
    edited = await env.patch(draft["id"], {"lines": [{"form_type_code": "BTN-THCS", "quantity": 800}]}, env.unit())
    assert edited.status_code == 200, edited.text
    assert (await env.act(draft["id"], "submit", env.unit())).json()["status"] == "submitted"
