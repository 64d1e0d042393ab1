"""Events any service publishes on its own topic: refused requests and data exports.

These classes have ``TOPIC = None``: the topic is the producing service's own, found from the
envelope's ``source`` (``Envelope.wrap(event, source=topics.SOURCES[topics.INVENTORY])`` goes to
``phoi.inventory``).
"""

import uuid
from typing import ClassVar, Final, Literal

from pydantic import Field, NonNegativeInt

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


EVENTS: Final[tuple[type[EventData], ...]] = (AccessDenied, DataExported)
