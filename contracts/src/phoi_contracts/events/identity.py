"""Events of the identity service (topic ``phoi.identity``): units, accounts, incidents, logins.

Token revocation: `AccountLocked`, `AccountDisabled`, `AccountHandedOver` and `AccountPasswordReset`
carry ``tokens_not_before``; every service rejects tokens of that ``user_id`` whose ``iat`` is earlier,
and rejects all tokens of a locked or disabled account until `AccountUnlocked`.
"""

import uuid
from enum import StrEnum
from typing import ClassVar, Final, Self

from pydantic import AwareDatetime, Field, NonNegativeInt, PositiveInt, model_validator

from phoi_contracts import topics
from phoi_contracts.envelope import EventData
from phoi_contracts.events.common import Code, LongText, ShortText, SubModel


class UnitKind(StrEnum):
    """What kind of organisation a unit is."""

    QLCL = "qlcl"  # the issuer, the Quality Management Department
    DEPARTMENT = "department"  # a provincial department of education and training (Sở GDĐT)
    INSTITUTION = "institution"  # an education institution


class AccountKind(StrEnum):
    """Unit account (one per receiving unit, handed between holders) or individual account."""

    UNIT = "unit"
    INDIVIDUAL = "individual"


class Role(StrEnum):
    """Realm roles of the ``phoi`` realm."""

    QLCL_ADMIN = "qlcl_admin"
    QLCL_OFFICER = "qlcl_officer"
    UNIT_ACCOUNT = "unit_account"
    AUDITOR = "auditor"


class IncidentKind(StrEnum):
    """What an access incident report is about (Decision 2699, Article 8.5)."""

    SUSPECTED_TAKEOVER = "suspected_takeover"
    UNREACHABLE = "unreachable"
    OTHER = "other"


class IncidentSource(StrEnum):
    """How an access incident report arrived."""

    SIGNED_IN = "signed_in"  # from a signed-in user: the envelope's actor is the reporter
    PUBLIC = "public"  # from the public page, by someone who could not sign in: the reporter is unverified


class _IdentityEvent(EventData):
    TOPIC: ClassVar[str | None] = topics.IDENTITY


# --- units -----------------------------------------------------------------------------------------


class _UnitState(_IdentityEvent):
    SUBJECT_FIELD: ClassVar[str | None] = "unit_id"

    unit_id: uuid.UUID = Field(description="Unit id.")
    code: Code = Field(description="Unit code, unique and never reused.")
    name: ShortText = Field(description="Official name of the unit.")
    kind: UnitKind = Field(description="Kind of organisation.")
    parent_code: Code | None = Field(default=None, description="Code of the supervising unit, if any.")
    province: ShortText | None = Field(default=None, description="Province or city the unit is in.")


class UnitCreated(_UnitState):
    """A unit (QLCL, a department of education or an institution) was registered."""

    TYPE: ClassVar[str] = "unit.created.v1"


class UnitUpdated(_UnitState):
    """A unit's details changed; carries the full state after the change."""

    TYPE: ClassVar[str] = "unit.updated.v1"

    changed_fields: tuple[str, ...] = Field(min_length=1, description="Names of the fields that changed.")


class UnitDeactivated(_IdentityEvent):
    """A unit was deactivated: its accounts can no longer act for it."""

    TYPE: ClassVar[str] = "unit.deactivated.v1"
    SUBJECT_FIELD: ClassVar[str | None] = "unit_id"

    unit_id: uuid.UUID = Field(description="Unit id.")
    code: Code = Field(description="Unit code.")
    reason: LongText = Field(description="Why the unit was deactivated.")


class UnitReactivated(_IdentityEvent):
    """A deactivated unit was made active again."""

    TYPE: ClassVar[str] = "unit.reactivated.v1"
    SUBJECT_FIELD: ClassVar[str | None] = "unit_id"

    unit_id: uuid.UUID = Field(description="Unit id.")
    code: Code = Field(description="Unit code.")
    reason: LongText | None = Field(default=None, description="Why the unit was reactivated.")


# --- accounts --------------------------------------------------------------------------------------


class _AccountEvent(_IdentityEvent):
    SUBJECT_FIELD: ClassVar[str | None] = "account_id"

    account_id: uuid.UUID = Field(description="Account id in the identity service.")
    user_id: ShortText = Field(description="Keycloak user id: the `sub` of the account's tokens.")
    username: ShortText = Field(description="Login name.")
    unit_code: Code | None = Field(default=None, description="Unit the account belongs to, if any.")


class AccountCreated(_AccountEvent):
    """An account was issued (one per unit or individual, Decision 2699 Article 8.1)."""

    TYPE: ClassVar[str] = "account.created.v1"

    kind: AccountKind = Field(description="Unit account or individual account.")
    role: Role = Field(description="Realm role granted.")
    holder_name: ShortText | None = Field(default=None, description="Person the account is issued to.")
    must_change_password: bool = Field(description="Whether the initial password must be changed.")

    @model_validator(mode="after")
    def _unit_account_has_unit(self) -> Self:
        if self.kind is AccountKind.UNIT and self.unit_code is None:
            raise ValueError("a unit account needs a unit_code")
        return self


class AccountHandedOver(_AccountEvent):
    """The account passed to a new holder, who must change the password (Article 8.4)."""

    TYPE: ClassVar[str] = "account.handed_over.v1"

    previous_holder: ShortText | None = Field(default=None, description="Who held the account before.")
    new_holder: ShortText = Field(description="Who holds the account now.")
    reason: LongText | None = Field(default=None, description="Why, e.g. the holder changed job.")
    tokens_not_before: AwareDatetime = Field(description="Reject this user's tokens issued before this.")


class AccountLocked(_AccountEvent):
    """The account was locked; every service rejects its tokens at once."""

    TYPE: ClassVar[str] = "account.locked.v1"

    reason: LongText = Field(description="Why the account was locked.")
    incident_id: uuid.UUID | None = Field(default=None, description="Incident that led to the lock.")
    tokens_not_before: AwareDatetime = Field(description="Reject this user's tokens issued before this.")


class AccountUnlocked(_AccountEvent):
    """The account was unlocked; tokens issued before the lock stay rejected."""

    TYPE: ClassVar[str] = "account.unlocked.v1"

    reason: LongText | None = Field(default=None, description="Why the account was unlocked.")


class AccountDisabled(_AccountEvent):
    """The account was disabled for good."""

    TYPE: ClassVar[str] = "account.disabled.v1"

    reason: LongText = Field(description="Why the account was disabled.")
    tokens_not_before: AwareDatetime = Field(description="Reject this user's tokens issued before this.")


class AccountPasswordReset(_AccountEvent):
    """An administrator reset the account's password."""

    TYPE: ClassVar[str] = "account.password_reset.v1"

    temporary: bool = Field(description="Whether the new password must be changed at the next login.")
    tokens_not_before: AwareDatetime = Field(description="Reject this user's tokens issued before this.")


# --- incidents -------------------------------------------------------------------------------------


class PublicReporter(SubModel):
    """Who reported through the public page, as they said: nobody verified it (they could not sign in)."""

    name: ShortText = Field(description="The username or unit code the reporter gave.")
    contact: ShortText = Field(description="Phone number or email address to reach the reporter.")
    address: ShortText = Field(description="The network address the report came from.")


class IncidentReported(_IdentityEvent):
    """An access incident was reported (Article 8.5): suspected takeover, unreachable system."""

    TYPE: ClassVar[str] = "incident.reported.v1"
    SUBJECT_FIELD: ClassVar[str | None] = "incident_id"

    incident_id: uuid.UUID = Field(description="Incident id.")
    kind: IncidentKind = Field(description="What the incident is about.")
    account_id: uuid.UUID | None = Field(default=None, description="Account concerned, if any.")
    unit_code: Code | None = Field(default=None, description="Unit concerned, if any.")
    description: LongText = Field(description="What the reporter observed.")
    occurred_at: AwareDatetime | None = Field(default=None, description="When it happened, if known.")
    source: IncidentSource = Field(
        default=IncidentSource.SIGNED_IN,
        description="How the report arrived. A public report changes no account; account_id is the account "
        "whose username or unit code the reporter gave, if any; unit_code is null (the report is not filed under "
        "the unit: its own account may be the one suspected); reporter holds what the reporter said.",
    )
    reporter: PublicReporter | None = Field(
        default=None, description="Public reports: who reported, unverified; null for signed-in reports."
    )
    reference: ShortText | None = Field(
        default=None, description="Public reports: the reference number the reporter was given."
    )


class IncidentResolved(_IdentityEvent):
    """An access incident was handled and closed."""

    TYPE: ClassVar[str] = "incident.resolved.v1"
    SUBJECT_FIELD: ClassVar[str | None] = "incident_id"

    incident_id: uuid.UUID = Field(description="Incident id.")
    resolution: LongText = Field(description="What was done.")


# --- logins (from Keycloak events) -----------------------------------------------------------------


class _KeycloakEvent(_IdentityEvent):
    SUBJECT_FIELD: ClassVar[str | None] = "user_id"

    keycloak_event_id: ShortText | None = Field(default=None, description="Id of the Keycloak event.")
    occurred_at: AwareDatetime = Field(description="When Keycloak recorded the event.")
    client_id: ShortText | None = Field(default=None, description="OIDC client, e.g. portal.")
    ip_address: ShortText | None = Field(default=None, description="Client IP address.")
    session_id: ShortText | None = Field(default=None, description="Keycloak session id.")


class AuthLoginSucceeded(_KeycloakEvent):
    """A user logged in (Keycloak ``LOGIN``)."""

    TYPE: ClassVar[str] = "auth.login_succeeded.v1"

    user_id: ShortText = Field(description="Keycloak user id.")
    username: ShortText = Field(description="Login name.")


class AuthLoginFailed(_KeycloakEvent):
    """A login attempt failed (Keycloak ``LOGIN_ERROR``)."""

    TYPE: ClassVar[str] = "auth.login_failed.v1"

    user_id: ShortText | None = Field(default=None, description="Keycloak user id, if the user exists.")
    username: ShortText | None = Field(default=None, description="Login name that was tried.")
    error: ShortText = Field(description="Keycloak error code, e.g. invalid_user_credentials.")

    def default_subject(self) -> str:
        """The user id, else the login name tried, else the IP address."""
        return self.user_id or self.username or self.ip_address or "unknown"


class AuthLoginFailedSummary(_IdentityEvent):
    """Failed logins of one account (or, for names that exist nowhere, one address) in one window beyond
    the burst published one by one: counted, not listed.

    The first ``individually_published`` failures in the window were ``auth.login_failed.v1``; the
    ``count`` after them are this event. Identity still keeps every one in its sign-in activity.
    """

    TYPE: ClassVar[str] = "auth.login_failed_summary.v1"

    window_start: AwareDatetime = Field(description="Start of the window counted (inclusive).")
    window_end: AwareDatetime = Field(description="End of the window counted (exclusive).")
    count: PositiveInt = Field(description="Failed logins in the window not published one by one.")
    individually_published: NonNegativeInt = Field(
        description="Failed logins of the same account or address in the window published one by one before these."
    )
    errors: dict[ShortText, PositiveInt] = Field(
        description="The counted failures by Keycloak error code; they sum to count."
    )
    first_failed_at: AwareDatetime = Field(description="When Keycloak recorded the first counted failure.")
    last_failed_at: AwareDatetime = Field(description="When Keycloak recorded the last counted failure.")
    user_id: ShortText | None = Field(default=None, description="Keycloak user id, if the user exists.")
    username: ShortText | None = Field(default=None, description="Login name last tried.")
    ip_address: ShortText | None = Field(default=None, description="Client IP address of the last counted failure.")
    client_id: ShortText | None = Field(default=None, description="OIDC client of the last counted failure.")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.last_failed_at < self.first_failed_at:
            raise ValueError("last_failed_at must not be before first_failed_at")
        if sum(self.errors.values()) != self.count:
            raise ValueError("the errors must add up to count")
        return self

    def default_subject(self) -> str:
        """Like the failures it counts: the user id, else the login name tried, else the IP address."""
        return self.user_id or self.username or self.ip_address or "unknown"


class AuthPasswordUpdated(_KeycloakEvent):
    """A user changed their password (Keycloak ``UPDATE_PASSWORD``)."""

    TYPE: ClassVar[str] = "auth.password_updated.v1"

    user_id: ShortText = Field(description="Keycloak user id.")
    username: ShortText | None = Field(default=None, description="Login name.")


class AuthLogout(_KeycloakEvent):
    """A user logged out (Keycloak ``LOGOUT``)."""

    TYPE: ClassVar[str] = "auth.logout.v1"

    user_id: ShortText = Field(description="Keycloak user id.")
    username: ShortText | None = Field(default=None, description="Login name.")


EVENTS: Final[tuple[type[EventData], ...]] = (
    UnitCreated,
    UnitUpdated,
    UnitDeactivated,
    UnitReactivated,
    AccountCreated,
    AccountHandedOver,
    AccountLocked,
    AccountUnlocked,
    AccountDisabled,
    AccountPasswordReset,
    IncidentReported,
    IncidentResolved,
    AuthLoginSucceeded,
    AuthLoginFailed,
    AuthLoginFailedSummary,
    AuthPasswordUpdated,
    AuthLogout,
)
