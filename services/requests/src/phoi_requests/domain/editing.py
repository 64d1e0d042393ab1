"""What a draft may hold: its lines, its attachments, and the free texts the workflow records.

Pure functions over values; the aggregate (``request.py``) calls them after its permission checks, so a
refusal here is always a ``RuleViolation`` (422) that changed nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from phoi_requests.domain.errors import (
    DuplicateAttachment,
    DuplicateFormType,
    InvalidField,
    NoLines,
    ReasonRequired,
    SignedLetterRequired,
)
from phoi_requests.domain.model import (
    MAX_ATTACHMENTS,
    MAX_EXAM_SESSION_LENGTH,
    MAX_JUSTIFICATION_LENGTH,
    MAX_LINES,
    MAX_REASON_LENGTH,
    Attachment,
    LineInput,
    RequestLine,
    check_code,
    check_quantity,
    clean_text,
)
from phoi_requests.domain.signatures import acceptable_letters


def reason_text(reason: str | None) -> str:
    """A required reason (reject, return): non-blank, at most ``MAX_REASON_LENGTH`` characters."""
    text = clean_text(reason, field="reason", max_length=MAX_REASON_LENGTH)
    if text is None:
        raise ReasonRequired("a non-blank reason is required", field="reason")
    return text


def comment_text(comment: str | None) -> str | None:
    """An optional comment for the history; blank means none."""
    return clean_text(comment, field="comment", max_length=MAX_REASON_LENGTH)


def exam_session_text(value: str | None) -> str | None:
    return clean_text(value, field="exam_session", max_length=MAX_EXAM_SESSION_LENGTH)


def justification_text(value: str | None) -> str | None:
    return clean_text(value, field="justification", max_length=MAX_JUSTIFICATION_LENGTH)


def build_lines(inputs: Sequence[LineInput], *, existing: Iterable[RequestLine]) -> tuple[RequestLine, ...]:
    """The lines of a draft: at least one, one per form type; an input without ``line_id`` keeps the id of
    the existing line of the same form type (unless another input claims that id)."""
    if not inputs:
        raise NoLines("a request needs at least one line", field="lines")
    if len(inputs) > MAX_LINES:
        raise InvalidField(f"a request has at most {MAX_LINES} lines", field="lines")
    by_form = {line.form_type_code: line.id for line in existing}
    claimed = {li.line_id for li in inputs if li.line_id is not None}
    seen_forms: set[str] = set()
    seen_ids: set[uuid.UUID] = set()
    result = []
    for index, li in enumerate(inputs):
        name = f"lines[{index}]"
        code = check_code(li.form_type_code, field=f"{name}.form_type_code")
        if code in seen_forms:
            raise DuplicateFormType(f"form type {code} appears on two lines", field=f"{name}.form_type_code")
        seen_forms.add(code)
        quantity = check_quantity(li.quantity, field=f"{name}.quantity", minimum=1)
        graduates = (
            None
            if li.expected_graduates is None
            else check_quantity(li.expected_graduates, field=f"{name}.expected_graduates", minimum=0)
        )
        line_id = li.line_id
        if line_id is None:
            reuse = by_form.get(code)
            line_id = reuse if reuse is not None and reuse not in claimed else uuid.uuid4()
        if line_id in seen_ids:
            raise InvalidField(f"line id {line_id} appears twice", field=f"{name}.line_id")
        seen_ids.add(line_id)
        result.append(
            RequestLine(
                id=line_id,
                form_type_code=code,
                quantity=quantity,
                justification=clean_text(li.justification, field=f"{name}.justification", max_length=MAX_REASON_LENGTH),
                expected_graduates=graduates,
            )
        )
    return tuple(result)


def check_attachments(attachments: Sequence[Attachment]) -> tuple[Attachment, ...]:
    """At most ``MAX_ATTACHMENTS``, each once."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidField(f"a request has at most {MAX_ATTACHMENTS} attachments", field="attachments")
    ids = [a.id for a in attachments]
    if len(set(ids)) != len(ids):
        raise DuplicateAttachment("an attachment appears twice", field="attachments")
    return tuple(attachments)


def check_signed_letter(attachments: Sequence[Attachment]) -> None:
    """Where a validly signed letter is required: one attachment's signatures are ``valid``, and none was
    modified after signing or signed by a revoked certificate (``signatures.acceptable_letters``)."""
    if acceptable_letters([a.signature for a in attachments]):
        return
    found = [
        {
            "attachment_id": str(a.id),
            "filename": a.filename,
            "signature_result": a.signature.result.value if a.signature else None,
        }
        for a in attachments
    ]
    raise SignedLetterRequired(
        "submitting needs a request letter whose digital signatures are valid", attachments=found
    )
