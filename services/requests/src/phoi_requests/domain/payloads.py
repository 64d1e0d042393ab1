"""The ``data`` of the request's domain events, shaped like the contracts' payloads (``phoi_contracts``).

Built from the aggregate *after* a command changed it, so each event tells the state it produced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phoi_requests.domain.model import Attachment
    from phoi_requests.domain.request import Request

#: How long a text an event may carry (the contracts' ``ShortText``).
_SHORT = 255


def key_data(request: Request) -> dict[str, Any]:
    return {"request_id": str(request.id), "unit_code": request.unit_code}


def state_data(request: Request) -> dict[str, Any]:
    """The request's editable state, shaped like the contracts' ``_RequestState`` payload."""
    return {
        **key_data(request),
        "academic_year": request.academic_year,
        "exam_session": request.exam_session,
        "lines": [
            {
                "line_id": str(line.id),
                "form_type_code": line.form_type_code,
                "quantity": line.quantity,
                "justification": line.justification,
                "expected_graduates": line.expected_graduates,
            }
            for line in request.lines
        ],
        "note": request.justification,
    }


def submitted_data(request: Request) -> dict[str, Any]:
    return {
        **state_data(request),
        "submission_no": request.submission_count,
        "attachment_ids": [str(a.id) for a in request.attachments],
        "attachments": [attachment_data(a) for a in request.attachments],
    }


def attachment_data(attachment: Attachment) -> dict[str, Any]:
    """An attachment as the contracts' ``AttachmentRecord``: the audit log keeps who signed the letter and
    what the verification found."""
    check = attachment.signature
    return {
        "attachment_id": str(attachment.id),
        "filename": attachment.filename,
        "sha256": attachment.sha256,
        "signature_result": check.result.value if check else None,
        "signatures": [
            {
                "result": s.result.value,
                "signer_name": _short(s.signer_name),
                "signer_organisation": _short(s.signer_organisation),
                "signer_id": _short(s.signer_id),
                "issuer": _short(s.issuer),
                "signed_at_claimed": s.signed_at_claimed,
                "timestamp_at": s.timestamp_at,
                "revocation": s.revocation.value,
                "problem": _short(s.problem),
            }
            for s in (check.signatures if check else ())
        ],
    }


def _short(text: str | None) -> str | None:
    return text[:_SHORT] if text else None


def approved_data(request: Request, note: str | None) -> dict[str, Any]:
    return {
        **key_data(request),
        "approval_revision": request.approval_revision,
        "lines": [
            {
                "line_id": str(line.id),
                "form_type_code": line.form_type_code,
                "requested_quantity": line.quantity,
                "approved_quantity": line.approved_quantity,
            }
            for line in request.lines
        ],
        "note": note,
    }


def receipt_data(request: Request, note: str | None) -> dict[str, Any]:
    received_on = request.received_on.isoformat() if request.received_on else None
    return {
        **key_data(request),
        "allocation_ids": [str(request.allocation_id)] if request.allocation_id else [],
        "received_on": received_on,
        "lines": [
            {
                "line_id": str(line.id),
                "form_type_code": line.form_type_code,
                "allocated_quantity": line.allocated_quantity,
                "accepted_quantity": line.accepted_quantity,
                "discrepancy_note": line.discrepancy_note,
                "rejected_ranges": (
                    None if line.rejected_ranges is None else [r.to_dict() for r in line.rejected_ranges]
                ),
            }
            for line in request.lines
            if line.allocated_quantity > 0
        ],
        "note": note,
    }
