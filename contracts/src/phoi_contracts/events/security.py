"""Events any service publishes on its own topic: refused requests (one by one, then counted) and data
exports.

These classes have ``TOPIC = None``: the topic is the producing service's own, found from the
envelope's ``source`` (``Envelope.wrap(event, source=topics.SOURCES[topics.INVENTORY])`` goes to
``phoi.inventory``).
"""

import uuid
from typing import ClassVar, Final, Literal, Self

from pydantic import AwareDatetime, Field, NonNegativeInt, PositiveInt, model_validator

from phoi_contracts.envelope import EventData
from phoi_contracts.events.common import Code, LongText, ShortText


class AccessDenied(EventData):
    """A service refused a request for lack of rights (HTTP 403)."""

    TYPE: ClassVar[str] = "security.access_denied.v1"
    TOPIC: ClassVar[str | None] = None

    service: ShortText = Field(description="Service that refused, e.g. inventory.")
    method: str = Field(pattern=r"^[A-Z]{3,10}$", description="HTTP method.")
    path: LongText = Field(description="Request path, without the query string.")
    reason: ShortText = Field(description="Stable reason code, e.g. missing_role or other_unit.")
    user_id: ShortText | None = Field(default=None, description="Keycloak user id, if authenticated.")
    username: ShortText | None = Field(default=None, description="Login name, if authenticated.")
    unit_code: Code | None = Field(default=None, description="Caller's unit, if any.")
    ip_address: ShortText | None = Field(default=None, description="Client IP address.")

    def default_subject(self) -> str:
        """The user id, else the login name, else ``anonymous``."""
        return self.user_id or self.username or "anonymous"


class AccessDeniedSummary(EventData):
    """Refusals of one caller in one window beyond the burst recorded one by one: counted, not listed.

    A caller's first ``individually_recorded`` refusals in the window were published as
    ``security.access_denied.v1``; the ``count`` after them are this event. The two add up to every
    refusal of that caller in the window, so a flood stays on record without a write per refused call.
    """

    TYPE: ClassVar[str] = "security.access_denied_summary.v1"
    TOPIC: ClassVar[str | None] = None

    service: ShortText = Field(description="Service that refused, e.g. inventory.")
    window_start: AwareDatetime = Field(description="Start of the window counted (inclusive).")
    window_end: AwareDatetime = Field(description="End of the window counted (exclusive).")
    count: PositiveInt = Field(description="Refusals in the window not recorded one by one.")
    individually_recorded: NonNegativeInt = Field(
        description="Refusals of the caller in the window recorded one by one before these."
    )
    reasons: dict[ShortText, PositiveInt] = Field(description="The counted refusals by reason code; they sum to count.")
    last_method: str = Field(pattern=r"^[A-Z]{3,10}$", description="HTTP method of the last counted refusal.")
    last_path: LongText = Field(description="Request path of the last counted refusal, without the query string.")
    last_refused_at: AwareDatetime = Field(description="When the last counted refusal happened.")
    user_id: ShortText | None = Field(default=None, description="Keycloak user id, if authenticated.")
    username: ShortText | None = Field(default=None, description="Login name, if authenticated.")
    unit_code: Code | None = Field(default=None, description="Caller's unit, if any.")
    ip_address: ShortText | None = Field(default=None, description="Client IP address (of the last refusal).")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if sum(self.reasons.values()) != self.count:
            raise ValueError("the reasons must add up to count")
        return self

    def default_subject(self) -> str:
        """Like the refusals it counts: the user id, else the login name, else the address."""
        return self.user_id or self.username or self.ip_address or "anonymous"


class DataExported(EventData):
    """Someone downloaded data (a report, an audit export): who, what and how much."""

    TYPE: ClassVar[str] = "data.exported.v1"
    TOPIC: ClassVar[str | None] = None
    SUBJECT_FIELD: ClassVar[str | None] = "export_id"

    export_id: uuid.UUID = Field(description="Export id.")
    service: ShortText = Field(description="Service that produced the export, e.g. audit.")
    report_kind: ShortText = Field(description="What was exported, e.g. usage_report or audit_entries.")
    format: Literal["csv", "xlsx", "json", "pdf"] = Field(description="File format.")
    filters: dict[str, str] = Field(description="Filters applied, as given in the query string.")
    row_count: NonNegativeInt = Field(description="Number of rows exported.")


EVENTS: Final[tuple[type[EventData], ...]] = (AccessDenied, AccessDeniedSummary, DataExported)
