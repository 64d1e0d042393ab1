"""Request and response bodies of the identity API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from phoi_contracts.events.common import Code, LongText, ShortText
from phoi_contracts.events.identity import AccountKind, IncidentKind, IncidentSource, Role, UnitKind
from phoi_kit.inputs import MultiLine, RequestBody
from phoi_kit.params import IsoDateTime
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from phoi_identity.domain import incidents as incident_domain
from phoi_identity.domain import units as unit_domain
from phoi_identity.domain.incidents import ResolutionAction
from phoi_identity.models import AccountRow, HolderRow, IncidentRow, UnitRow

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PATTERN = re.compile(r"^[0-9+()\-. ]{6,32}$")
Email = Annotated[str, StringConstraints(max_length=255, pattern=EMAIL_PATTERN.pattern)]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=PHONE_PATTERN.pattern)]
Username = Annotated[str, StringConstraints(min_length=3, max_length=63)]


# Reasons, descriptions, resolutions: typed in a text area, so line breaks and tabs belong.
FreeText = Annotated[LongText, MultiLine()]


class Input(RequestBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- units -----------------------------------------------------------------------------------------
class HeadOfUnit(Input):
    name: ShortText | None = Field(default=None, description="Head of the unit (not a system user).")
    position: ShortText | None = None
    contact: ShortText | None = Field(default=None, description="Phone or email of the head.")


class UnitIn(Input):
    code: Code
    name: ShortText
    name_en: ShortText | None = None
    kind: UnitKind = Field(
        description="qlcl | department | institution (also accepted: issuer, provincial_department, "
        "education_institution)."
    )
    province: ShortText | None = None
    parent_code: Code | None = None
    head: HeadOfUnit | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return unit_domain.parse_kind(value) if isinstance(value, str) else value


class UnitPatch(Input):
    """Only the fields sent are changed; send null to clear an optional field."""

    name: ShortText | None = None
    name_en: ShortText | None = None
    province: ShortText | None = None
    parent_code: Code | None = None
    head: HeadOfUnit | None = None

    def requested(self) -> dict[str, Any]:
        sent = self.model_dump(exclude_unset=True)
        out = {k: v for k, v in sent.items() if k != "head"}
        if "head" in sent:
            head = sent["head"]
            if head is None:  # null clears the head's details
                out.update(head_name=None, head_position=None, head_contact=None)
            else:
                out.update({f"head_{key}": value for key, value in head.items()})
        return out


class ReasonIn(Input):
    reason: FreeText


class OptionalReasonIn(Input):
    reason: FreeText | None = None


class UnitOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    name_en: str | None
    kind: UnitKind
    province: str | None
    parent_code: str | None
    head: HeadOfUnit
    status: str
    status_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: UnitRow) -> UnitOut:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            name_en=row.name_en,
            kind=UnitKind(row.kind),
            province=row.province,
            parent_code=row.parent_code,
            head=HeadOfUnit(name=row.head_name, position=row.head_position, contact=row.head_contact),
            status=row.status,
            status_reason=row.status_reason,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


# --- accounts --------------------------------------------------------------------------------------
class HolderIn(Input):
    name: ShortText = Field(description="Full name, family name first (Nguyễn Văn An).")
    position: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None


class AccountIn(Input):
    """Issue a new account, or adopt an existing Keycloak user (`keycloak_username`)."""

    kind: AccountKind | None = Field(default=None, description="unit | individual (required unless adopting).")
    role: Role | None = Field(default=None, description="Individual accounts: qlcl_admin, qlcl_officer, auditor.")
    unit_code: Code | None = Field(default=None, description="The unit (required for a unit account).")
    username: Username | None = Field(default=None, description="Default for a unit account: the unit code.")
    holder: HolderIn | None = Field(default=None, description="Who receives the account (required unless adopting).")
    keycloak_username: Username | None = Field(
        default=None,
        description="Adopt this existing Keycloak user as an account: its password, role and unit are kept.",
    )

    @model_validator(mode="after")
    def _shape(self) -> AccountIn:
        if self.keycloak_username is not None:
            if self.username is not None:
                raise ValueError("send either username (a new account) or keycloak_username (adopt), not both")
            return self
        if self.kind is None:
            raise ValueError("kind is required")
        if self.holder is None:
            raise ValueError("holder is required")
        return self


class HandoverIn(Input):
    holder: HolderIn
    reason: FreeText | None = Field(default=None, description="Why, e.g. the previous holder changed job.")


class UnlockIn(Input):
    reason: FreeText | None = None
    reset_password: StrictBool = Field(default=False, description="Issue a new temporary password as well.")


class HolderOut(BaseModel):
    seq: int
    name: str
    position: str | None
    email: str | None
    phone: str | None
    held_from: datetime
    held_to: datetime | None
    reason: str | None
    recorded_by: str | None

    @classmethod
    def of(cls, row: HolderRow) -> HolderOut:
        return cls(
            seq=row.seq,
            name=row.name,
            position=row.position,
            email=row.email,
            phone=row.phone,
            held_from=row.held_from,
            held_to=row.held_to,
            reason=row.reason,
            recorded_by=row.recorded_by,
        )


class CurrentHolder(BaseModel):
    name: str
    position: str | None
    email: str | None
    phone: str | None


class AccountOut(BaseModel):
    id: uuid.UUID
    kind: AccountKind
    role: Role
    unit_code: str | None
    username: str
    keycloak_user_id: str
    status: str
    status_reason: str | None
    holder: CurrentHolder
    adopted: bool
    last_login_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, row: AccountRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "kind": AccountKind(row.kind),
            "role": Role(row.role),
            "unit_code": row.unit_code,
            "username": row.username,
            "keycloak_user_id": row.keycloak_user_id,
            "status": row.status,
            "status_reason": row.status_reason,
            "holder": CurrentHolder(
                name=row.holder_name, position=row.holder_position, email=row.holder_email, phone=row.holder_phone
            ),
            "adopted": row.adopted,
            "last_login_at": row.last_login_at,
            "version": row.version,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }

    @classmethod
    def of(cls, row: AccountRow) -> AccountOut:
        return cls(**cls.fields_of(row))


class AccountWithPassword(AccountOut):
    temporary_password: str | None = Field(
        description="Shown once, to you only: give it to the holder, who must change it at the first login. "
        "It is not stored anywhere."
    )

    @classmethod
    def with_password(cls, row: AccountRow, password: str | None) -> AccountWithPassword:
        return cls(**cls.fields_of(row), temporary_password=password)


class LockedAccountOut(AccountOut):
    keycloak_synced: bool = Field(
        description="False when Keycloak could not be reached: the account is locked everywhere else and "
        "reconciliation disables it in Keycloak when Keycloak answers."
    )


# --- incidents -------------------------------------------------------------------------------------
class IncidentIn(Input):
    kind: IncidentKind = Field(
        description="suspected_takeover | unreachable | other (also accepted: suspected_compromise, cannot_access)."
    )
    description: FreeText
    account_id: uuid.UUID | None = Field(
        default=None, description="The account concerned. Default for a holder reporting: their own account."
    )
    unit_code: Code | None = None
    occurred_at: IsoDateTime | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return incident_domain.parse_kind(value) if isinstance(value, str) else value


def _single_line(value: str) -> str:
    if (char := incident_domain.control_character(value)) is not None:
        raise ValueError(f"must not contain control characters ({char})")
    return value


def _multi_line(value: str) -> str:
    if (char := incident_domain.control_character(value, multiline=True)) is not None:
        raise ValueError(f"must not contain control characters other than line breaks and tabs ({char})")
    return value


# Whitespace is stripped before the length counts, so the patterns say "non-blank" in the schema too.
ReporterName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"\S"), AfterValidator(_single_line)
]
# A phone number or an email address, said in the schema so clients can check it too.
CONTACT_PATTERN = rf"^(?:{EMAIL_PATTERN.pattern[1:-1]}|{PHONE_PATTERN.pattern[1:-1]})$"
Contact = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=CONTACT_PATTERN), AfterValidator(_single_line)
]
Description = Annotated[
    str,
    StringConstraints(min_length=10, max_length=4000, pattern=r"\S[\s\S]{8,}\S"),
    AfterValidator(_multi_line),
    MultiLine(),
]
PublicKind = Literal["cannot_access", "unreachable", "suspected_takeover", "suspected_compromise"]


class AccessReportIn(Input):
    """A report from someone who cannot sign in (Article 8.5). Nothing in it is verified."""

    reporter: ReporterName = Field(description="Your username or your unit's code.")
    contact: Contact = Field(description="A phone number or an email address where QLCL can reach you.")
    description: Description = Field(
        description="What happens when you try to sign in, or what makes you think someone else uses the account."
    )
    kind: PublicKind = Field(
        default="cannot_access",
        description="cannot_access (also: unreachable) or suspected_takeover (also: suspected_compromise). "
        "A report here never locks an account: QLCL decides.",
    )

    @property
    def incident_kind(self) -> IncidentKind:
        return incident_domain.parse_public_kind(self.kind)


class AccessReportAccepted(BaseModel):
    reference: str = Field(description="Quote it when you call QLCL, or when QLCL calls you back.")


class ResolveIn(Input):
    action: ResolutionAction = Field(
        description="reset_password: new temporary password and unlock; keep_locked; none (no account change)."
    )
    resolution: FreeText = Field(description="What was found and done.")


class PublicReporterOut(BaseModel):
    """What a public reporter said about themselves: not verified (they could not sign in)."""

    name: str = Field(description="The username or unit code they gave.")
    contact: str
    address: str = Field(description="The network address the report came from.")

    @classmethod
    def of(cls, row: IncidentRow) -> PublicReporterOut | None:
        if row.reporter_name is None or row.reporter_contact is None or row.reporter_address is None:
            return None
        return cls(name=row.reporter_name, contact=row.reporter_contact, address=row.reporter_address)


class IncidentOut(BaseModel):
    id: uuid.UUID
    kind: IncidentKind
    status: str
    account_id: uuid.UUID | None
    unit_code: str | None
    description: str
    occurred_at: datetime | None
    reported_at: datetime
    reported_by: str
    reported_by_unit: str | None
    account_locked: bool
    resolution: str | None
    resolution_action: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    version: int
    source: IncidentSource = Field(description="signed_in, or public: reported by someone who could not sign in.")
    reference: str | None = Field(description="Public reports: the reference number the reporter was given.")
    reporter: PublicReporterOut | None = Field(description="Public reports: who reported, as they said.")

    @classmethod
    def fields_of(cls, row: IncidentRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "kind": IncidentKind(row.kind),
            "status": row.status,
            "account_id": row.account_id,
            "unit_code": row.unit_code,
            "description": row.description,
            "occurred_at": row.occurred_at,
            "reported_at": row.reported_at,
            "reported_by": row.reported_by_username,
            "reported_by_unit": row.reported_by_unit,
            "account_locked": row.account_locked,
            "resolution": row.resolution,
            "resolution_action": row.resolution_action,
            "resolved_at": row.resolved_at,
            "resolved_by": row.resolved_by,
            "version": row.version,
            "source": IncidentSource(row.source),
            "reference": row.reference,
            "reporter": PublicReporterOut.of(row),
        }

    @classmethod
    def of(cls, row: IncidentRow) -> IncidentOut:
        return cls(**cls.fields_of(row))


class IncidentReportedOut(IncidentOut):
    keycloak_synced: bool


class IncidentResolvedOut(IncidentOut):
    account: AccountOut | None
    temporary_password: str | None = Field(description="Set when the action was reset_password; shown once.")


# --- sign-in activity ------------------------------------------------------------------------------
class ActivityOut(BaseModel):
    account_id: uuid.UUID
    username: str | None
    unit_code: str | None
    status: str | None
    failures: int
    successes: int
    repeated_failures: bool
    last_failure_at: datetime | None
    last_failure_ip: str | None
    last_failure_error: str | None
    last_success_at: datetime | None


class ActivityReport(BaseModel):
    since: datetime
    min_failures: int
    accounts: list[ActivityOut]


class SignInEventOut(BaseModel):
    key: str
    occurred_at: datetime
    type: str
    keycloak_type: str
    account_id: uuid.UUID | None
    user_id: str | None
    username: str | None
    client_id: str | None
    ip_address: str | None
    error: str | None
