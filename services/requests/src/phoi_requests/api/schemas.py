"""Request and response bodies of the requests API.

Input models check shapes and types only; the business rules (quantities, lengths, codes, reasons) are
the domain's, so their refusals carry the domain's stable codes (``request.invalid_quantity``...).
Unknown fields are refused (422), so a misspelt field is never silently ignored.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from phoi_kit.inputs import MultiLine, RequestBody
from phoi_kit.params import IsoDate
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from phoi_requests.adapters.replicas import FormType
from phoi_requests.adapters.requests import RequestSummary
from phoi_requests.domain import (
    Action,
    Actor,
    AllocationStatus,
    Attachment,
    AttachmentChange,
    HistoryEntry,
    LetterCheck,
    LineInput,
    ReceiptLine,
    Request,
    RequestLine,
    Revocation,
    SerialRange,
    SignatureResult,
    Status,
    allocation_status,
)
from phoi_requests.domain.model import (
    MAX_CODE_LENGTH,
    MAX_EXAM_SESSION_LENGTH,
    MAX_JUSTIFICATION_LENGTH,
    MAX_LINE_QUANTITY,
    MAX_LINES,
    MAX_REASON_LENGTH,
)
from phoi_requests.domain.transitions import INVENTORY_ACTIONS

# Generous ceilings against abuse; the domain's limits are tighter and give the precise error. The OpenAPI
# states the domain's limits (`json_schema_extra`, from the domain's own constants), so that it tells the
# truth while a breach still answers the domain's stable code.
_TEXT = 10_000
# Justifications, comments, reasons, notes: typed in a text area, so line breaks and tabs belong.
FreeText = Annotated[str, MultiLine()]
_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
_ACADEMIC_YEAR = r"^[0-9]{4}-[0-9]{4}$"
_EXAM_SESSION: dict[str, Any] = {"maxLength": MAX_EXAM_SESSION_LENGTH}
_JUSTIFICATION: dict[str, Any] = {"maxLength": MAX_JUSTIFICATION_LENGTH}
_NOTE: dict[str, Any] = {"maxLength": MAX_REASON_LENGTH}
_LINES: dict[str, Any] = {"minItems": 1, "maxItems": MAX_LINES}


class _In(RequestBody):
    model_config = ConfigDict(extra="forbid")


class RangeIO(BaseModel):
    """An inclusive range of serial numbers."""

    first: StrictInt = Field(description="First serial (inclusive).")
    last: StrictInt = Field(description="Last serial (inclusive).")

    def to_domain(self) -> SerialRange:
        return SerialRange(self.first, self.last)

    @classmethod
    def of(cls, r: SerialRange) -> RangeIO:
        return cls(first=r.first, last=r.last)


# --- input ---------------------------------------------------------------------------------------------


class LineIn(_In):
    form_type_code: str = Field(
        max_length=200,
        description="A form type code from GET /api/v1/form-types.",
        json_schema_extra={"maxLength": MAX_CODE_LENGTH, "pattern": _CODE_PATTERN},
    )
    quantity: StrictInt = Field(
        description="Blanks requested.", json_schema_extra={"minimum": 1, "maximum": MAX_LINE_QUANTITY}
    )
    justification: FreeText | None = Field(
        None, max_length=_TEXT, description="Why this many.", json_schema_extra=_NOTE
    )
    expected_graduates: StrictInt | None = Field(
        None,
        description="Expected number of graduates.",
        json_schema_extra={"minimum": 0, "maximum": MAX_LINE_QUANTITY},
    )
    line_id: uuid.UUID | None = Field(
        None, description="On edit: keep this line's identity (default: the existing line of the same form type)."
    )

    def to_domain(self) -> LineInput:
        return LineInput(
            form_type_code=self.form_type_code,
            quantity=self.quantity,
            justification=self.justification,
            expected_graduates=self.expected_graduates,
            line_id=self.line_id,
        )


class RequestCreate(_In):
    academic_year: str = Field(
        max_length=20,
        examples=["2024-2025"],
        description="School year, YYYY-YYYY (consecutive years).",
        json_schema_extra={"pattern": _ACADEMIC_YEAR},
    )
    exam_session: str | None = Field(
        None, max_length=_TEXT, description="Exam session, if any.", json_schema_extra=_EXAM_SESSION
    )
    justification: FreeText | None = Field(
        None, max_length=_TEXT, description="Free-text justification.", json_schema_extra=_JUSTIFICATION
    )
    lines: list[LineIn] = Field(
        max_length=200, description="One line per form type, at least one.", json_schema_extra=_LINES
    )
    comment: FreeText | None = Field(
        None, max_length=_TEXT, description="Comment for the history.", json_schema_extra=_NOTE
    )


class RequestPatch(_In):
    """Only the fields sent change. ``null`` (or ``""``) clears ``exam_session`` / ``justification``;
    ``lines`` replaces all lines."""

    academic_year: str | None = Field(None, max_length=20, json_schema_extra={"pattern": _ACADEMIC_YEAR})
    exam_session: str | None = Field(None, max_length=_TEXT, json_schema_extra=_EXAM_SESSION)
    justification: FreeText | None = Field(None, max_length=_TEXT, json_schema_extra=_JUSTIFICATION)
    lines: list[LineIn] | None = Field(None, max_length=200, json_schema_extra=_LINES)
    comment: FreeText | None = Field(None, max_length=_TEXT, json_schema_extra=_NOTE)

    @model_validator(mode="after")
    def _required_not_null(self) -> Self:
        for name in ("academic_year", "lines"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def cleared_or(self, name: str) -> str | None:
        """The domain's PATCH convention: None = unchanged, "" = clear."""
        if name not in self.model_fields_set:
            return None
        value: str | None = getattr(self, name)
        return "" if value is None else value


class StepIn(_In):
    """The body of a workflow step (``api/actions.py``): every field is optional, so no body is ``StepIn()``."""

    def arguments(self) -> dict[str, Any]:
        """The step's domain command's keyword arguments (besides the actor and the expected version)."""
        return self.model_dump()


class CommentIn(StepIn):
    comment: FreeText | None = Field(
        None, max_length=_TEXT, description="Comment for the history.", json_schema_extra=_NOTE
    )


class ReasonIn(StepIn):
    reason: FreeText | None = Field(
        None, max_length=_TEXT, description="Why (required for reject and return).", json_schema_extra=_NOTE
    )


class _PerLineIn(StepIn):
    """A body whose optional ``lines`` name each line at most once."""

    @model_validator(mode="after")
    def _unique(self) -> Self:
        lines: list[ApprovedLineIn] | list[ReceiptLineIn] | None = getattr(self, "lines", None)
        ids = [line.line_id for line in lines or ()]
        if len(ids) != len(set(ids)):
            raise ValueError("a line_id appears twice")
        return self


class ApprovedLineIn(_In):
    line_id: uuid.UUID
    approved_quantity: StrictInt = Field(
        description="0 <= approved <= requested.", json_schema_extra={"minimum": 0, "maximum": MAX_LINE_QUANTITY}
    )


class ApproveIn(_PerLineIn):
    lines: list[ApprovedLineIn] | None = Field(
        None, max_length=200, description="Lowered quantities; lines not listed are approved in full."
    )
    comment: FreeText | None = Field(None, max_length=_TEXT)

    def arguments(self) -> dict[str, Any]:
        """Approved quantity per line (``None``: every line in full)."""
        lowered = None if self.lines is None else {line.line_id: line.approved_quantity for line in self.lines}
        return {"approved_quantities": lowered, "comment": self.comment}


class ReceiptLineIn(_In):
    line_id: uuid.UUID
    accepted_quantity: StrictInt = Field(
        description="0 <= accepted <= allocated.", json_schema_extra={"minimum": 0, "maximum": MAX_LINE_QUANTITY}
    )
    discrepancy_note: FreeText | None = Field(
        None, max_length=_TEXT, description="Required when accepted < allocated.", json_schema_extra=_NOTE
    )
    rejected_ranges: list[RangeIO] | None = Field(None, max_length=1000, description="Serials not accepted.")


class ConfirmReceiptIn(_PerLineIn):
    received_on: IsoDate | None = Field(None, description="Date the blanks arrived (default: today in Vietnam).")
    lines: list[ReceiptLineIn] | None = Field(
        None, max_length=200, description="Lines with a discrepancy; lines not listed are accepted in full."
    )
    comment: FreeText | None = Field(None, max_length=_TEXT)

    def arguments(self) -> dict[str, Any]:
        return {"lines": self._receipt_lines(), "received_on": self.received_on, "comment": self.comment}

    def _receipt_lines(self) -> dict[uuid.UUID, ReceiptLine] | None:
        if self.lines is None:
            return None
        return {
            line.line_id: ReceiptLine(
                accepted_quantity=line.accepted_quantity,
                discrepancy_note=line.discrepancy_note,
                rejected_ranges=(
                    None if line.rejected_ranges is None else tuple(r.to_domain() for r in line.rejected_ranges)
                ),
            )
            for line in self.lines
        }


# --- output --------------------------------------------------------------------------------------------


class ActorOut(BaseModel):
    user_id: str
    username: str
    role: str
    unit_code: str | None

    @classmethod
    def of(cls, actor: Actor) -> ActorOut:
        return cls(user_id=actor.user_id, username=actor.username, role=actor.role_name, unit_code=actor.unit_code)


class LineOut(BaseModel):
    line_id: uuid.UUID
    form_type_code: str
    quantity: int
    justification: str | None
    expected_graduates: int | None
    approved_quantity: int | None = Field(description="Set on approval.")
    shortfall: int | None = Field(description="While waiting for stock: blanks inventory cannot supply yet.")
    allocated_quantity: int
    allocated_ranges: list[RangeIO] = Field(description="Serial ranges allocated by inventory.")
    accepted_quantity: int | None = Field(description="Set on receipt.")
    discrepancy_note: str | None
    rejected_ranges: list[RangeIO] | None

    @classmethod
    def of(cls, line: RequestLine) -> LineOut:
        return cls(
            line_id=line.id,
            form_type_code=line.form_type_code,
            quantity=line.quantity,
            justification=line.justification,
            expected_graduates=line.expected_graduates,
            approved_quantity=line.approved_quantity,
            shortfall=line.shortfall,
            allocated_quantity=line.allocated_quantity,
            allocated_ranges=[RangeIO.of(r) for r in line.allocated_ranges],
            accepted_quantity=line.accepted_quantity,
            discrepancy_note=line.discrepancy_note,
            rejected_ranges=None if line.rejected_ranges is None else [RangeIO.of(r) for r in line.rejected_ranges],
        )


class SignatureOut(BaseModel):
    """One digital signature found in the file, as verified on upload."""

    field_name: str = Field(description="The PDF signature field.")
    result: SignatureResult = Field(description="This signature's result (`unsigned` never appears here).")
    signer_name: str | None = Field(description="The certificate's common name.")
    signer_organisation: str | None = Field(description="The certificate's organisation.")
    signer_id: str | None = Field(description="The certificate's UID (e.g. `MST:...`, `CCCD:...`) or serialNumber.")
    certificate_serial: str = Field(description="The signer certificate's serial number, hex.")
    issuer: str | None = Field(description="The CA that issued the signer's certificate.")
    trust_path: list[str] = Field(description="From the trusted root down to the signer; empty when untrusted.")
    signed_at_claimed: datetime | None = Field(description="The signing time the signer claims (not evidence).")
    timestamp_at: datetime | None = Field(description="A trusted time-stamping authority's time, when present.")
    covers_whole_file: bool = Field(description="The signature covers every byte of the file.")
    modified_after_signing: bool = Field(
        description="Something other than signatures or form filling was appended after signing."
    )
    intact: bool = Field(description="The signed bytes are unchanged and the signature value checks out.")
    revocation: Revocation = Field(
        description="`good`, `revoked`, or `not_checked` when no revocation data was available offline."
    )
    digest_algorithm: str | None
    problem: str | None = Field(
        description="Why it is not valid: `no_trust_path`, `expired`, `weak_algorithm`, `content_changed`, "
        "`changed_after_signing`, `revoked`, `certificate_not_for_signing`, ..."
    )


class SignatureCheckOut(BaseModel):
    """The verification of the file's digital signatures (PAdES), done offline on upload."""

    result: SignatureResult = Field(
        description="`valid` (every signature trusted and intact), `untrusted`, `modified`, `revoked`, or "
        "`unsigned` (no signature; every JPEG or PNG)."
    )
    problem: str | None = Field(description="For the whole file: `not_pdf`, `unreadable_pdf`.")
    checked_at: datetime | None
    signatures: list[SignatureOut]

    @classmethod
    def of(cls, check: LetterCheck) -> SignatureCheckOut:
        return cls.model_validate(check.to_dict())


class AttachmentOut(BaseModel):
    attachment_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str | None
    signature: SignatureCheckOut | None = Field(
        description="What the verification of its digital signatures found; null for a file attached before "
        "verification existed."
    )
    download_url: str

    @classmethod
    def of(cls, request_id: uuid.UUID, a: Attachment) -> AttachmentOut:
        return cls(
            attachment_id=a.id,
            filename=a.filename,
            content_type=a.content_type,
            size_bytes=a.size_bytes,
            sha256=a.sha256,
            signature=None if a.signature is None else SignatureCheckOut.of(a.signature),
            download_url=f"/api/v1/requests/{request_id}/attachments/{a.id}",
        )


class AttachmentList(BaseModel):
    items: list[AttachmentOut]


_ALLOCATION_STATUS_TEXT = (
    "Where the inventory is with the serials, derived from `status`: `allocating` (approved; inventory's "
    "answer has not arrived yet, usually within seconds), `waiting_for_stock` (the central stock is short), "
    "`allocated` (serials allocated; also after receipt and closing); null before approval, and for a "
    "rejected or cancelled request."
)


class RequestOut(BaseModel):
    id: uuid.UUID
    unit_code: str
    academic_year: str
    exam_session: str | None
    justification: str | None
    status: Status
    allocation_status: AllocationStatus | None = Field(description=_ALLOCATION_STATUS_TEXT)
    version: int = Field(description='Also sent as ETag: "<version>"; send it back in If-Match.')
    created_at: datetime
    updated_at: datetime
    submission_count: int
    approval_revision: int
    allocation_id: uuid.UUID | None = Field(description="Inventory's allocation holding the ranges.")
    received_on: date | None
    lines: list[LineOut]
    attachments: list[AttachmentOut]
    available_actions: list[Action] = Field(description="What the caller may do now (for the portal's buttons).")

    @classmethod
    def of(cls, request: Request, actor: Actor) -> RequestOut:
        return cls(
            id=request.id,
            unit_code=request.unit_code,
            academic_year=request.academic_year,
            exam_session=request.exam_session,
            justification=request.justification,
            status=request.status,
            allocation_status=allocation_status(request.status),
            version=request.version,
            created_at=request.created_at,
            updated_at=request.updated_at,
            submission_count=request.submission_count,
            approval_revision=request.approval_revision,
            allocation_id=request.allocation_id,
            received_on=request.received_on,
            lines=[LineOut.of(line) for line in request.lines],
            attachments=[AttachmentOut.of(request.id, a) for a in request.attachments],
            available_actions=sorted(request.available_actions(actor) - INVENTORY_ACTIONS),
        )


class LineSummaryOut(BaseModel):
    line_id: uuid.UUID
    form_type_code: str
    quantity: int
    approved_quantity: int | None


class RequestSummaryOut(BaseModel):
    id: uuid.UUID
    unit_code: str
    academic_year: str
    exam_session: str | None
    status: Status
    allocation_status: AllocationStatus | None = Field(description=_ALLOCATION_STATUS_TEXT)
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[LineSummaryOut]
    attachment_count: int

    @classmethod
    def of(cls, s: RequestSummary) -> RequestSummaryOut:
        return cls(
            id=s.id,
            unit_code=s.unit_code,
            academic_year=s.academic_year,
            exam_session=s.exam_session,
            status=s.status,
            allocation_status=allocation_status(s.status),
            version=s.version,
            created_at=s.created_at,
            updated_at=s.updated_at,
            lines=[
                LineSummaryOut(
                    line_id=line.line_id,
                    form_type_code=line.form_type_code,
                    quantity=line.quantity,
                    approved_quantity=line.approved_quantity,
                )
                for line in s.lines
            ],
            attachment_count=s.attachment_count,
        )


class RequestPage(BaseModel):
    items: list[RequestSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class CountsOut(BaseModel):
    counts: dict[Status, int] = Field(description="Requests per status (every status present, 0 included).")
    total: int
    waiting_for_me: int = Field(description="How many of them wait for the caller's next step.")


class AttachmentEditOut(BaseModel):
    change: AttachmentChange
    filename: str = Field(description="The letter's name when it was added or removed.")


class HistoryEntryOut(BaseModel):
    sequence: int
    action: Action
    from_status: Status | None
    to_status: Status
    actor: ActorOut
    at: datetime
    comment: str | None = Field(description="What the person wrote (a reason, a note); null when they wrote nothing.")
    attachment: AttachmentEditOut | None = Field(
        description="An `edit` that added or removed a letter: which, by name; null for every other entry."
    )

    @classmethod
    def of(cls, h: HistoryEntry) -> HistoryEntryOut:
        return cls(
            sequence=h.sequence,
            action=h.action,
            from_status=h.from_status,
            to_status=h.to_status,
            actor=ActorOut.of(h.actor),
            at=h.at,
            comment=h.comment,
            attachment=(
                AttachmentEditOut(change=h.attachment.change, filename=h.attachment.filename) if h.attachment else None
            ),
        )


class HistoryOut(BaseModel):
    items: list[HistoryEntryOut]


class FormTypeOut(BaseModel):
    """A form type as this service knows it: a replica of inventory's, under inventory's field names."""

    id: uuid.UUID = Field(description="Inventory's form type id.")
    code: str
    name_vi: str
    name_en: str | None = Field(description="null while the replica has only events that did not carry it.")
    serial_prefix: str
    digits: int | None = Field(description="Digits of the zero-padded serial number; null as for name_en.")
    template_version: str
    active: bool

    @classmethod
    def of(cls, f: FormType) -> FormTypeOut:
        return cls(
            id=f.form_type_id,
            code=f.code,
            name_vi=f.name_vi,
            name_en=f.name_en,
            serial_prefix=f.serial_prefix,
            digits=f.digits,
            template_version=f.template_version,
            active=f.active,
        )


class FormTypePage(BaseModel):
    items: list[FormTypeOut]
    next_cursor: str | None
