"""One realistic example payload per event type.

They appear in the exported JSON Schemas and the AsyncAPI document, and the tests check that each one
is valid for its model and its schema. Add one when you add an event type.
"""

import uuid
from datetime import UTC, datetime
from typing import Any, Final

from phoi_contracts.catalogue import event_class
from phoi_contracts.envelope import SYSTEM_ACTOR, Actor, Envelope
from phoi_contracts.topics import SOURCES

UNIT_HN = "11111111-1111-4111-8111-111111111111"
ACCOUNT = "22222222-2222-4222-8222-222222222222"
USER = "33333333-3333-4333-8333-333333333333"
INCIDENT = "44444444-4444-4444-8444-444444444444"
REQUEST = "55555555-5555-4555-8555-555555555555"
LINE_THPT = "66666666-6666-4666-8666-666666666661"
LINE_THCS = "66666666-6666-4666-8666-666666666662"
ALLOCATION = "77777777-7777-4777-8777-777777777777"
FORM_TYPE = "88888888-8888-4888-8888-888888888888"
BATCH = "99999999-9999-4999-8999-999999999999"
MOVEMENT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
EXPORT = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
ATTACHMENT = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"

_UNIT = {
    "unit_id": UNIT_HN,
    "code": "SGD-HNI",
    "name": "Sở Giáo dục và Đào tạo Hà Nội",
    "kind": "department",
    "parent_code": None,
    "province": "Hà Nội",
}
_ACCOUNT = {"account_id": ACCOUNT, "user_id": USER, "username": "sgd-hni", "unit_code": "SGD-HNI"}
_KEYCLOAK = {
    "keycloak_event_id": "0b3c7f3e-5d0e-4a51-9d7b-0c2b1f0e9a11",
    "occurred_at": "2025-06-02T08:15:00Z",
    "client_id": "portal",
    "ip_address": "203.0.113.7",
    "session_id": "f2c1d7a4-8d7e-4a62-b1f0-2c9a7e5d3b10",
}
_REQUEST_LINES = [
    {
        "line_id": LINE_THPT,
        "form_type_code": "BTN-THPT",
        "quantity": 95000,
        "justification": "Dự kiến 94.850 học sinh tốt nghiệp THPT năm 2025",
        "expected_graduates": 94850,
    },
    {
        "line_id": LINE_THCS,
        "form_type_code": "BTN-THCS",
        "quantity": 120000,
        "justification": None,
        "expected_graduates": None,
    },
]
#: An attached letter with one valid signature, as verified on upload.
_SIGNED_LETTER = {
    "attachment_id": ATTACHMENT,
    "filename": "Công văn đề nghị cấp phôi.pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "signature_result": "valid",
    "signatures": [
        {
            "result": "valid",
            "signer_name": "Nguyễn Văn Ân",
            "signer_organisation": "Sở Giáo dục và Đào tạo Hà Nội",
            "signer_id": "MST:0101234567",
            "issuer": "Cục Chứng thực số và Bảo mật thông tin",
            "signed_at_claimed": "2025-06-02T08:15:00+07:00",
            "timestamp_at": None,
            "revocation": "good",
            "problem": None,
        }
    ],
}

_REQUEST_STATE = {
    "request_id": REQUEST,
    "unit_code": "SGD-HNI",
    "academic_year": "2024-2025",
    "exam_session": "Kỳ thi tốt nghiệp THPT 2025",
    "lines": _REQUEST_LINES,
    "note": None,
}
_ALLOCATED_LINES = [
    {
        "line_id": LINE_THPT,
        "form_type_code": "BTN-THPT",
        "quantity": 90000,
        "ranges": [{"first": 1000001, "last": 1060000}, {"first": 1070001, "last": 1100000}],
    },
    {
        "line_id": LINE_THCS,
        "form_type_code": "BTN-THCS",
        "quantity": 120000,
        "ranges": [{"first": 5000001, "last": 5120000}],
    },
]
_FORM_TYPE = {
    "form_type_id": FORM_TYPE,
    "code": "BTN-THPT",
    "name": "Phôi bằng tốt nghiệp trung học phổ thông",
    "serial_prefix": "THPT",
    "template_version": "2024.1",
    "active": True,
    "name_en": "Upper-secondary school diploma blank",
    "digits": 7,
}

#: Example payload (JSON form) per event type.
EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    # identity
    "unit.created.v1": _UNIT,
    "unit.updated.v1": {**_UNIT, "name": "Sở GDĐT thành phố Hà Nội", "changed_fields": ["name"]},
    "unit.deactivated.v1": {"unit_id": UNIT_HN, "code": "SGD-HNI", "reason": "Sáp nhập đơn vị"},
    "unit.reactivated.v1": {"unit_id": UNIT_HN, "code": "SGD-HNI", "reason": None},
    "account.created.v1": {
        **_ACCOUNT,
        "kind": "unit",
        "role": "unit_account",
        "holder_name": "Nguyễn Văn An",
        "must_change_password": True,
    },
    "account.handed_over.v1": {
        **_ACCOUNT,
        "previous_holder": "Nguyễn Văn An",
        "new_holder": "Trần Thị Bình",
        "reason": "Chuyển công tác",
        "tokens_not_before": "2025-06-02T09:00:00Z",
    },
    "account.locked.v1": {
        **_ACCOUNT,
        "reason": "Nghi ngờ bị chiếm quyền tài khoản",
        "incident_id": INCIDENT,
        "tokens_not_before": "2025-06-02T09:30:00Z",
    },
    "account.unlocked.v1": {**_ACCOUNT, "reason": "Đã đổi mật khẩu, xác minh xong"},
    "account.disabled.v1": {
        **_ACCOUNT,
        "reason": "Đơn vị giải thể",
        "tokens_not_before": "2025-06-02T10:00:00Z",
    },
    "account.password_reset.v1": {**_ACCOUNT, "temporary": True, "tokens_not_before": "2025-06-02T10:05:00Z"},
    "incident.reported.v1": {
        "incident_id": INCIDENT,
        "kind": "suspected_takeover",
        "account_id": ACCOUNT,
        "unit_code": "SGD-HNI",
        "description": "Có đăng nhập lạ từ địa chỉ IP ở nước ngoài",
        "occurred_at": "2025-06-02T07:50:00+07:00",
        "source": "signed_in",
        "reporter": None,
        "reference": None,
    },
    "incident.resolved.v1": {"incident_id": INCIDENT, "resolution": "Đã khóa, đổi mật khẩu và mở khóa"},
    "auth.login_succeeded.v1": {**_KEYCLOAK, "user_id": USER, "username": "sgd-hni"},
    "auth.login_failed.v1": {
        **_KEYCLOAK,
        "session_id": None,
        "user_id": None,
        "username": "sgd-hni",
        "error": "invalid_user_credentials",
    },
    "auth.login_failed_summary.v1": {
        "window_start": "2025-06-02T08:15:00Z",
        "window_end": "2025-06-02T08:16:00Z",
        "count": 243,
        "individually_published": 10,
        "errors": {"invalid_user_credentials": 3, "user_temporarily_disabled": 240},
        "first_failed_at": "2025-06-02T08:15:04Z",
        "last_failed_at": "2025-06-02T08:15:59Z",
        "user_id": USER,
        "username": "sgd-hni",
        "ip_address": "203.0.113.7",
        "client_id": "portal",
    },
    "auth.password_updated.v1": {**_KEYCLOAK, "user_id": USER, "username": "sgd-hni"},
    "auth.logout.v1": {**_KEYCLOAK, "user_id": USER, "username": None},
    # requests
    "request.created.v1": _REQUEST_STATE,
    "request.updated.v1": {
        **_REQUEST_STATE,
        "note": "Bổ sung số liệu",
        "changed_fields": ["attachments"],
        "attachment": _SIGNED_LETTER,
    },
    "request.submitted.v1": {
        **_REQUEST_STATE,
        "submission_no": 1,
        "attachment_ids": [ATTACHMENT],
        "attachments": [_SIGNED_LETTER],
    },
    "request.approved.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "approval_revision": 1,
        "lines": [
            {
                "line_id": LINE_THPT,
                "form_type_code": "BTN-THPT",
                "requested_quantity": 95000,
                "approved_quantity": 90000,
            },
            {
                "line_id": LINE_THCS,
                "form_type_code": "BTN-THCS",
                "requested_quantity": 120000,
                "approved_quantity": 120000,
            },
        ],
        "note": "Cấp theo số học sinh dự kiến tốt nghiệp",
    },
    "request.rejected.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "reason": "Thiếu công văn đề nghị",
    },
    "request.returned.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "reason": "Đề nghị bổ sung số liệu học sinh dự kiến tốt nghiệp",
    },
    "request.cancelled.v1": {"request_id": REQUEST, "unit_code": "SGD-HNI", "reason": None},
    "request.receipt_confirmed.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "allocation_ids": [ALLOCATION],
        "received_on": "2025-06-20",
        "lines": [
            {
                "line_id": LINE_THPT,
                "form_type_code": "BTN-THPT",
                "allocated_quantity": 90000,
                "accepted_quantity": 89998,
                "discrepancy_note": "Hai phôi bị rách khi vận chuyển",
                "rejected_ranges": [{"first": 1000101, "last": 1000102}],
            },
            {
                "line_id": LINE_THCS,
                "form_type_code": "BTN-THCS",
                "allocated_quantity": 120000,
                "accepted_quantity": 120000,
                "discrepancy_note": None,
                "rejected_ranges": None,
            },
        ],
        "note": None,
    },
    "request.closed.v1": {"request_id": REQUEST, "unit_code": "SGD-HNI", "note": None},
    # inventory
    "form_type.created.v1": _FORM_TYPE,
    "form_type.updated.v1": {
        **_FORM_TYPE,
        "template_version": "2025.1",
        "changed_fields": ["template_version"],
    },
    "print_batch.received.v1": {
        "batch_id": BATCH,
        "form_type_code": "BTN-THPT",
        "serials": {"first": 1000001, "last": 1500000},
        "quantity": 500000,
        "printer": "Nhà xuất bản Giáo dục Việt Nam",
        "contract_ref": "HĐ 15/2025/HĐ-QLCL",
        "received_on": "2025-05-15",
        "note": None,
    },
    "allocation.completed.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "allocation_id": ALLOCATION,
        "approval_revision": 1,
        "lines": _ALLOCATED_LINES,
    },
    "allocation.waiting_for_stock.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "approval_revision": 1,
        "lines": [
            {
                "line_id": LINE_THCS,
                "form_type_code": "BTN-THCS",
                "approved_quantity": 120000,
                "available_quantity": 80000,
                "shortfall_quantity": 40000,
            }
        ],
    },
    "allocation.released.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "allocation_id": ALLOCATION,
        "reason": "Đơn vị hủy phiếu đề nghị",
        "lines": _ALLOCATED_LINES,
    },
    "stock.received_by_unit.v1": {
        "request_id": REQUEST,
        "unit_code": "SGD-HNI",
        "allocation_id": ALLOCATION,
        "received_on": "2025-06-20",
        "lines": [
            {
                "line_id": LINE_THPT,
                "form_type_code": "BTN-THPT",
                "quantity": 89998,
                "ranges": [
                    {"first": 1000001, "last": 1000100},
                    {"first": 1000103, "last": 1060000},
                    {"first": 1070001, "last": 1100000},
                ],
            },
            _ALLOCATED_LINES[1],
        ],
    },
    "stock.movement_recorded.v2": {
        "movement_id": MOVEMENT,
        "kind": "spoil",
        "unit_code": "SGD-HNI",
        "form_type_code": "BTN-THPT",
        "ranges": [{"first": 1000205, "last": 1000206}, {"first": 1000310, "last": 1000310}],
        "quantity": 3,
        "from_state": "at_unit",
        "to_state": "spoiled",
        "document_ref": "BB 12/2025/SGD-HNI",
        "occurred_on": "2025-07-01",
        "reason": "Viết sai thông tin người học",
        "register_entry_numbers": None,
    },
    "stock.movement_recorded.v1": {
        "movement_id": MOVEMENT,
        "kind": "spoil",
        "unit_code": "SGD-HNI",
        "form_type_code": "BTN-THPT",
        "ranges": [{"first": 1000205, "last": 1000206}, {"first": 1000310, "last": 1000310}],
        "quantity": 3,
        "from_state": "held",
        "to_state": "spoiled",
        "document_ref": "BB 12/2025/SGD-HNI",
        "occurred_on": "2025-07-01",
        "reason": "Viết sai thông tin người học",
        "register_entry_numbers": None,
    },
    # any service
    "security.access_denied.v1": {
        "service": "inventory",
        "method": "POST",
        "path": "/api/v1/movements",
        "reason": "other_unit",
        "user_id": USER,
        "username": "sgd-hni",
        "unit_code": "SGD-HNI",
        "ip_address": "203.0.113.7",
    },
    "security.access_denied_summary.v1": {
        "service": "inventory",
        "window_start": "2025-06-02T08:15:00Z",
        "window_end": "2025-06-02T08:16:00Z",
        "count": 1937,
        "individually_recorded": 10,
        "reasons": {"role_required": 1937},
        "last_method": "POST",
        "last_path": "/api/v1/print-batches",
        "last_refused_at": "2025-06-02T08:15:59Z",
        "user_id": USER,
        "username": "sgd-hni",
        "unit_code": "SGD-HNI",
        "ip_address": "203.0.113.7",
    },
    "data.exported.v1": {
        "export_id": EXPORT,
        "service": "audit",
        "report_kind": "audit_entries",
        "format": "csv",
        "filters": {"unit": "SGD-HNI", "from": "2025-06-01"},
        "row_count": 1520,
    },
    # audit
    "audit.checkpoint.v1": {
        "latest_sequence": 1520,
        "latest_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "hash_algorithm": "sha256",
        "entry_count": 1520,
        "checkpoint_at": "2025-06-30T17:00:00Z",
    },
}

#: Example producer of the events any service may publish.
_ANY_PRODUCER_SOURCE = SOURCES["phoi.inventory"]

_UNIT_ACTOR = Actor(user_id=USER, username="sgd-hni", role="unit_account", unit_code="SGD-HNI")
_OFFICER = Actor(
    user_id="dddddddd-dddd-4ddd-8ddd-dddddddddddd", username="qlcl.lan", role="qlcl_officer", unit_code="QLCL"
)
_UNIT_ACTIONS = {
    "request.created.v1",
    "request.updated.v1",
    "request.submitted.v1",
    "request.cancelled.v1",
    "request.receipt_confirmed.v1",
    "stock.movement_recorded.v1",
    "stock.movement_recorded.v2",
    "security.access_denied.v1",
    "security.access_denied_summary.v1",
    "incident.reported.v1",
}
_SYSTEM_ACTIONS = {"allocation.", "auth.", "stock.received_by_unit.", "audit.checkpoint."}


def _actor(event_type: str) -> Actor:
    if event_type in _UNIT_ACTIONS:
        return _UNIT_ACTOR
    if event_type.startswith(tuple(_SYSTEM_ACTIONS)):
        return SYSTEM_ACTOR
    return _OFFICER


def example_envelope(event_type: str) -> Envelope:
    """A complete, deterministic example envelope for `event_type`."""
    cls = event_class(event_type)
    event = cls.model_validate(EXAMPLES[event_type])
    source = SOURCES[cls.TOPIC] if cls.TOPIC is not None else _ANY_PRODUCER_SOURCE
    return Envelope.wrap(
        event,
        source=source,
        actor=_actor(event_type),
        correlation_id=REQUEST,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:phoi:example:{event_type}"),
        time=datetime(2025, 6, 2, 9, 0, tzinfo=UTC),
    )
