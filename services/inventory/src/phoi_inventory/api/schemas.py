"""Request and response bodies of the inventory API.

Values are checked by the domain (so a bad form type field answers ``form_type_invalid`` with the field,
a reversed range ``range_reversed``...); the models here only fix the shape and the sizes. The OpenAPI
states the domain's limits as well (``json_schema_extra``), so that it tells the truth while a breach still
answers the domain's stable code.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from phoi_contracts.events.common import MAX_SERIAL
from phoi_kit.inputs import MultiLine, RequestBody
from phoi_kit.params import IsoDate
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool
from pydantic.config import JsonDict

from phoi_inventory.domain import BlankState, FormType, LedgerReason, MovementKind, SerialRange
from phoi_inventory.models import FormTypeRow
from phoi_inventory.service.catalogue import MAX_DIGITS as NEW_FORM_TYPE_MAX_DIGITS

Text255 = Annotated[str, Field(min_length=1, max_length=255)]
Text4000 = Annotated[str, Field(min_length=1, max_length=4000), MultiLine()]  # notes: line breaks belong
Code = Annotated[str, Field(min_length=1, max_length=64)]
_SERIAL: JsonDict = {"minimum": 1, "maximum": MAX_SERIAL}
#: A serial: its number, or its printed label (prefix + digits, e.g. "PT0000042").
SerialIn = Annotated[
    int | str,
    Field(
        description="Serial number (>= 1), or its printed label such as PT0000042.",
        json_schema_extra={"anyOf": [{"type": "integer", **_SERIAL}, {"type": "string", "pattern": r"^[A-Z0-9]+$"}]},
    ),
]

MAX_MOVEMENT_ITEMS = 20_000


class _In(RequestBody):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- form types ------------------------------------------------------------------------------------------


# The domain's rules for a form type (phoi_inventory.domain.form_types, service.catalogue), for the OpenAPI.
_FORM_TYPE_CODE: JsonDict = {"pattern": r"^[A-Z0-9][A-Z0-9_-]{0,31}$"}
_NAME: JsonDict = {"pattern": r"^\S(?:[\s\S]*\S)?$"}  # no leading or trailing spaces
_PREFIX: JsonDict = {"pattern": r"^[A-Z0-9]{1,10}$"}
_DIGITS: JsonDict = {"minimum": 1, "maximum": NEW_FORM_TYPE_MAX_DIGITS}
_TEMPLATE_VERSION: JsonDict = {"pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"}


class FormTypeIn(_In):
    code: Code = Field(description="Unique code, e.g. THPT (A-Z, 0-9, '_', '-').", json_schema_extra=_FORM_TYPE_CODE)
    name_vi: Text255 = Field(
        validation_alias=AliasChoices("name_vi", "name"),
        description="Vietnamese name (also accepted as `name`).",
        json_schema_extra=_NAME,
    )
    name_en: Text255 = Field(description="English name.", json_schema_extra=_NAME)
    serial_prefix: Annotated[str, Field(max_length=10)] = Field(
        description="Printed before the number, e.g. PT.", json_schema_extra=_PREFIX
    )
    digits: int = Field(
        validation_alias=AliasChoices("digits", "serial_digits"),
        description="Digits of the zero-padded number (also accepted as `serial_digits`).",
        json_schema_extra=_DIGITS,
    )
    template_version: Annotated[str, Field(max_length=32)] = Field(
        description="Template version, e.g. 2024.1.", json_schema_extra=_TEMPLATE_VERSION
    )
    active: StrictBool = True


class FormTypePatch(_In):
    name_vi: Text255 | None = Field(
        default=None, validation_alias=AliasChoices("name_vi", "name"), json_schema_extra=_NAME
    )
    name_en: Text255 | None = Field(default=None, json_schema_extra=_NAME)
    template_version: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, json_schema_extra=_TEMPLATE_VERSION
    )
    active: StrictBool | None = None


class FormTypeOut(BaseModel):
    id: uuid.UUID
    code: str
    name_vi: str
    name_en: str
    serial_prefix: str
    digits: int
    template_version: str
    active: bool
    version: int
    example_serial: str = Field(description="How serial 1 is printed.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: FormTypeRow) -> FormTypeOut:
        return cls(
            id=row.id,
            code=row.code,
            name_vi=row.name_vi,
            name_en=row.name_en,
            serial_prefix=row.serial_prefix,
            digits=row.digits,
            template_version=row.template_version,
            active=row.active,
            version=row.version,
            example_serial=f"{row.serial_prefix}{1:0{row.digits}d}",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class FormTypePage(BaseModel):
    items: list[FormTypeOut]
    next_cursor: str | None


# --- ranges --------------------------------------------------------------------------------------------


class RangeOut(BaseModel):
    first: int
    last: int
    count: int
    first_label: str | None = None
    last_label: str | None = None

    @classmethod
    def of(cls, r: SerialRange, form_type: FormType | None = None) -> RangeOut:
        labels: dict[str, str] = {}
        if form_type is not None and r.first >= 1 and r.last <= form_type.max_serial:
            labels = {"first_label": form_type.format_serial(r.first), "last_label": form_type.format_serial(r.last)}
        return cls(first=r.first, last=r.last, count=r.count, **labels)


# --- print batches -------------------------------------------------------------------------------------


class PrintBatchIn(_In):
    form_type: Code = Field(validation_alias=AliasChoices("form_type", "form_type_code"))
    first_serial: int = Field(description="First serial number of the batch (inclusive).", json_schema_extra=_SERIAL)
    last_serial: int = Field(description="Last serial number of the batch (inclusive).", json_schema_extra=_SERIAL)
    printer: Text255
    contract_ref: Text255
    received_on: IsoDate
    note: Text4000 | None = None


class PrintBatchOut(BaseModel):
    id: uuid.UUID
    form_type: str
    first_serial: int
    last_serial: int
    quantity: int
    first_label: str | None = None
    last_label: str | None = None
    printer: str
    contract_ref: str
    received_on: date
    note: str | None
    created_by: str
    created_at: datetime


class PrintBatchPage(BaseModel):
    items: list[PrintBatchOut]
    next_cursor: str | None


# --- movements -----------------------------------------------------------------------------------------

AllocationStatusIn = Literal["waiting_for_stock", "completed", "received", "released", "superseded", "cancelled"]
MovementKindIn = Literal["use", "spoil", "lose", "destroy", "return", "receive_return"]


class MovementItemIn(_In):
    first: SerialIn
    last: SerialIn | None = Field(default=None, description="Inclusive; omit for a single serial.")
    register_entry_first: int | None = Field(
        default=None,
        description="`use`: required, the register entry number (số vào sổ gốc) of `first`, +1 per serial; "
        "any other kind: absent.",
        json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_SERIAL}, {"type": "null"}]},
    )


def _movement_rules(schema: dict[str, Any]) -> None:
    """The rules of every movement, in the OpenAPI (the service checks them and answers its own codes):
    `document_ref` is required and not blank (`document_required`); at least one serial (`request_empty`);
    `use` names each range's register entry and takes no bare `serials`, other kinds take no register
    entries (`register_entries_invalid`)."""
    properties = schema["properties"]
    properties["document_ref"] = {
        "type": "string",
        "maxLength": 255,
        "pattern": r"\S",
        "description": properties["document_ref"].get("description", ""),
    }
    schema["required"] = sorted({*schema.get("required", ()), "document_ref"})
    some_serial = [{"required": [name], "properties": {name: {"minItems": 1}}} for name in ("items", "serials")]
    entry = {"properties": {"register_entry_first": {"type": "integer", "minimum": 1}}}
    use = {
        "if": {"properties": {"kind": {"const": "use"}}},
        "then": {
            "properties": {
                "serials": {"maxItems": 0},
                "items": {"items": {**entry, "required": ["register_entry_first"]}},
            }
        },
        "else": {"properties": {"items": {"items": {"properties": {"register_entry_first": {"type": "null"}}}}}},
    }
    schema["allOf"] = [{"anyOf": some_serial}, use]


class MovementIn(_In):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra=_movement_rules)

    kind: MovementKindIn
    form_type: Code
    items: Annotated[list[MovementItemIn], Field(max_length=MAX_MOVEMENT_ITEMS)] = Field(
        default_factory=list, description="Ranges (first..last) and single serials (first only)."
    )
    serials: Annotated[list[SerialIn], Field(max_length=MAX_MOVEMENT_ITEMS)] = Field(
        default_factory=list, description="Single serials (no register entries), in addition to `items`."
    )
    document_ref: Annotated[str, Field(max_length=255)] | None = Field(
        default=None,
        description="Required, not blank: the supporting record — police report (lose), destruction record "
        "(destroy), register book or decision (use), spoilage record (spoil), handover note (return, "
        "receive_return).",
    )
    reason: LedgerReason | None = Field(default=None, description="Typed ledger reason, e.g. spoiled_misprinted.")
    holder_unit: Code | None = Field(
        default=None, description="QLCL only: the unit whose returned blanks are received back or destroyed."
    )
    note: Text4000 | None = None
    occurred_on: IsoDate | None = Field(default=None, description="When it happened (default: today in Vietnam).")


class LedgerLineOut(BaseModel):
    id: int | None = None
    operation_id: uuid.UUID
    kind: MovementKind
    reason: str
    form_type: str
    range: RangeOut
    from_state: BlankState | None = Field(description="null for a print batch (the blanks were not there).")
    to_state: BlankState
    from_holder: str | None
    to_holder: str | None
    allocation_id: uuid.UUID | None
    document_ref: str | None
    actor_id: str
    actor_role: str
    at: datetime
    occurred_on: date | None = None
    register_entry_first: int | None
    note: str | None
    balance_after: int | None


class MovementOut(BaseModel):
    movement_id: uuid.UUID
    kind: MovementKindIn
    form_type: str
    holder_unit: str | None
    to_state: BlankState
    quantity: int
    ranges: list[RangeOut]
    lines: list[LedgerLineOut]


# --- stock, allocations, serials ---------------------------------------------------------------------------


class StockLineOut(BaseModel):
    form_type: str
    state: BlankState
    holder_unit: str | None = Field(description="null: QLCL's custody (central stock).")
    count: int
    block_count: int
    ranges: list[RangeOut]
    ranges_truncated: bool


class StockOut(BaseModel):
    items: list[StockLineOut]


class AllocationLineOut(BaseModel):
    line_id: uuid.UUID
    line_no: int
    form_type: str
    requested_quantity: int
    quantity: int
    ranges: list[RangeOut]
    available_quantity: int | None
    accepted_quantity: int | None
    rejected_ranges: list[RangeOut] | None
    discrepancy_note: str | None


class AllocationOut(BaseModel):
    allocation_id: uuid.UUID
    request_id: uuid.UUID
    approval_revision: int
    unit_code: str
    status: str
    approved_at: datetime
    completed_at: datetime | None
    received_at: datetime | None
    received_on: date | None
    closed_reason: str | None
    lines: list[AllocationLineOut]


class AllocationPage(BaseModel):
    items: list[AllocationOut]
    next_cursor: str | None


class SerialOut(BaseModel):
    form_type: str
    serial: int
    label: str
    state: BlankState
    holder_unit: str | None
    allocation_id: uuid.UUID | None
    request_id: uuid.UUID | None
    history: list[LedgerLineOut]


class PeriodOut(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date


class UsageReportOut(BaseModel):
    unit_code: str
    period: PeriodOut
    generated_at: datetime
    form_types: list[dict[str, object]]
    export_id: uuid.UUID | None = Field(
        default=None, description="With `record_as`: the export recorded (`data.exported.v1`, its subject)."
    )
