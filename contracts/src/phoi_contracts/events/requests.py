"""Events of the requests service (topic ``phoi.requests``): blank-form requests and their workflow.

Every event's subject is the request id, so one request's events stay in order.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from phoi_contracts import topics
from phoi_contracts.envelope import EventData
from phoi_contracts.events.common import (
    AcademicYear,
    Code,
    LongText,
    SerialRanges,
    ShortText,
    SubModel,
    require_unique_line_ids,
    total_size,
)

#: A SHA-256 digest, 64 lowercase hex digits.
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class RequestLine(SubModel):
    """One line of a request: a form type and the quantity asked for."""

    line_id: uuid.UUID = Field(description="Line id, stable for the life of the request.")
    form_type_code: Code = Field(description="Form type requested.")
    quantity: int = Field(ge=1, description="Number of blanks requested.")
    justification: LongText | None = Field(default=None, description="Why this many, e.g. graduates.")
    expected_graduates: int | None = Field(default=None, ge=0, description="Expected number of graduates.")


class ApprovedLine(SubModel):
    """A request line as approved: the approved quantity may be smaller than requested."""

    line_id: uuid.UUID = Field(description="Request line id.")
    form_type_code: Code = Field(description="Form type.")
    requested_quantity: int = Field(ge=1, description="Quantity the unit asked for.")
    approved_quantity: int = Field(ge=0, description="Quantity approved, at most the requested one.")

    @model_validator(mode="after")
    def _not_more_than_requested(self) -> Self:
        if self.approved_quantity > self.requested_quantity:
            raise ValueError("approved_quantity must not exceed requested_quantity")
        return self


class ReceiptLine(SubModel):
    """Proof of delivery for one line: what was handed over and what the unit accepted."""

    line_id: uuid.UUID = Field(description="Request line id.")
    form_type_code: Code = Field(description="Form type.")
    allocated_quantity: int = Field(ge=0, description="Quantity on the handover record.")
    accepted_quantity: int = Field(ge=0, description="Quantity the unit accepts, at most allocated.")
    discrepancy_note: LongText | None = Field(
        default=None, description="What was wrong; required when accepted differs from allocated."
    )
    rejected_ranges: SerialRanges | None = Field(
        default=None, description="Serials not accepted (missing, damaged), if identified."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.accepted_quantity > self.allocated_quantity:
            raise ValueError("accepted_quantity must not exceed allocated_quantity")
        missing = self.allocated_quantity - self.accepted_quantity
        if missing and self.discrepancy_note is None:
            raise ValueError("discrepancy_note is required when accepted_quantity differs from allocated")
        if self.rejected_ranges is not None and total_size(self.rejected_ranges) != missing:
            raise ValueError("rejected_ranges must hold exactly allocated_quantity - accepted_quantity serials")
        return self


SignatureResult = Literal["valid", "untrusted", "modified", "revoked", "unsigned"]


class LetterSignature(SubModel):
    """One digital signature of an attached file, as the requests service verified it on upload."""

    result: Literal["valid", "untrusted", "modified", "revoked"] = Field(description="This signature's result.")
    signer_name: ShortText | None = Field(default=None, description="The certificate's common name.")
    signer_organisation: ShortText | None = Field(default=None, description="The certificate's organisation.")
    signer_id: ShortText | None = Field(default=None, description="The certificate's UID or serialNumber.")
    issuer: ShortText | None = Field(default=None, description="The CA that issued the signer's certificate.")
    signed_at_claimed: datetime | None = Field(default=None, description="The signing time the signer claims.")
    timestamp_at: datetime | None = Field(default=None, description="A trusted time-stamping authority's time.")
    revocation: Literal["good", "revoked", "not_checked"] = Field(
        description="`not_checked` when no revocation data was available offline."
    )
    problem: ShortText | None = Field(default=None, description="Why it is not valid (e.g. `no_trust_path`).")


class AttachmentRecord(SubModel):
    """An attached file: what it is, its hash, and the verification of its digital signatures."""

    attachment_id: uuid.UUID = Field(description="Attachment id.")
    filename: ShortText = Field(description="The file's name as uploaded.")
    sha256: Sha256 | None = Field(default=None, description="SHA-256 of the file's bytes.")
    signature_result: SignatureResult | None = Field(
        default=None, description="Overall result of the signature verification; null if it was not verified."
    )
    signatures: tuple[LetterSignature, ...] = Field(default=(), description="Each signature found.")


class _RequestEvent(EventData):
    TOPIC: ClassVar[str | None] = topics.REQUESTS
    SUBJECT_FIELD: ClassVar[str | None] = "request_id"

    request_id: uuid.UUID = Field(description="Request id.")
    unit_code: Code = Field(description="Requesting unit.")


class _RequestState(_RequestEvent):
    academic_year: AcademicYear = Field(description="School year, e.g. 2024-2025.")
    exam_session: ShortText | None = Field(default=None, description="Exam session, if any.")
    lines: tuple[RequestLine, ...] = Field(min_length=1, description="One line per form type.")
    note: LongText | None = Field(default=None, description="Free note from the unit.")

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        require_unique_line_ids([line.line_id for line in self.lines])
        return self


class RequestCreated(_RequestState):
    """A unit drafted a request for blanks."""

    TYPE: ClassVar[str] = "request.created.v1"


class RequestUpdated(_RequestState):
    """A draft (or returned) request was edited; carries the full state after the change."""

    TYPE: ClassVar[str] = "request.updated.v1"

    changed_fields: tuple[str, ...] = Field(min_length=1, description="Names of the fields that changed.")
    attachment: AttachmentRecord | None = Field(
        default=None, description="The file this change attached, with its signature verification."
    )


class RequestSubmitted(_RequestState):
    """The unit submitted the request for review; carries the state as submitted."""

    TYPE: ClassVar[str] = "request.submitted.v1"

    submission_no: int = Field(ge=1, description="1 for the first submission, +1 after each return.")
    attachment_ids: tuple[uuid.UUID, ...] = Field(description="Attachments, e.g. the signed request letter.")
    attachments: tuple[AttachmentRecord, ...] | None = Field(
        default=None, description="The attachments as submitted, with their signature verification."
    )


class RequestApproved(_RequestEvent):
    """QLCL approved the request, possibly with smaller quantities; inventory allocates serials."""

    TYPE: ClassVar[str] = "request.approved.v1"

    approval_revision: int = Field(
        ge=1, description="1 for the first approval; a higher revision supersedes earlier ones."
    )
    lines: tuple[ApprovedLine, ...] = Field(min_length=1, description="Approved lines.")
    note: LongText | None = Field(default=None, description="Reviewer's note.")

    @model_validator(mode="after")
    def _approves_something(self) -> Self:
        require_unique_line_ids([line.line_id for line in self.lines])
        if not any(line.approved_quantity for line in self.lines):
            raise ValueError("an approval must approve at least one blank; reject the request instead")
        return self


class RequestRejected(_RequestEvent):
    """QLCL rejected the request."""

    TYPE: ClassVar[str] = "request.rejected.v1"

    reason: LongText = Field(description="Why it was rejected.")


class RequestReturned(_RequestEvent):
    """QLCL returned the request to the unit for revision."""

    TYPE: ClassVar[str] = "request.returned.v1"

    reason: LongText = Field(description="What to revise.")


class RequestCancelled(_RequestEvent):
    """The request was cancelled; any allocation for it is released."""

    TYPE: ClassVar[str] = "request.cancelled.v1"

    reason: LongText | None = Field(default=None, description="Why it was cancelled.")


class RequestReceiptConfirmed(_RequestEvent):
    """The unit confirmed receipt of the blanks (proof of delivery); inventory moves them to its stock."""

    TYPE: ClassVar[str] = "request.receipt_confirmed.v1"

    allocation_ids: tuple[uuid.UUID, ...] = Field(min_length=1, description="Allocations received.")
    received_on: date = Field(description="Date the blanks arrived at the unit.")
    lines: tuple[ReceiptLine, ...] = Field(min_length=1, description="Per line: allocated and accepted.")
    note: LongText | None = Field(default=None, description="Free note from the unit.")

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        require_unique_line_ids([line.line_id for line in self.lines])
        return self


class RequestClosed(_RequestEvent):
    """The request is finished; no further changes."""

    TYPE: ClassVar[str] = "request.closed.v1"

    note: LongText | None = Field(default=None, description="Closing note.")


EVENTS: Final[tuple[type[EventData], ...]] = (
    RequestCreated,
    RequestUpdated,
    RequestSubmitted,
    RequestApproved,
    RequestRejected,
    RequestReturned,
    RequestCancelled,
    RequestReceiptConfirmed,
    RequestClosed,
)
