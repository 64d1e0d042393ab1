"""Movements recorded by a unit (use, spoil, lose, destroy, return) or by QLCL (spoil, lose, destroy in
its custody; receive returned blanks back; destroy returned blanks).

A request names ranges and single serials (thousands are fine: everything is per range). They are
normalised — sorted, adjacent ones merged — and a serial named twice is refused. Then every serial must
be held by the acting custodian in a state the transition table allows for this kind; otherwise the
error names the lowest offending range and nothing is applied.

Register entry numbers (``use``): each item carries the entry number of its first serial and serials map
to consecutive entries: serial ``first + i`` was written for entry ``register_entry_first + i``. A batch
of single serials with arbitrary entries is therefore just many one-serial items; a run of consecutive
serials written for consecutive entries is one item. Entries must not repeat within a request. (Whether
an entry number was already used in an earlier request is the register's business, stored by the
persistence layer from the ``use`` ledger lines' entry ranges.)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from phoi_inventory.domain.blocks import Block, BlockAttrs
from phoi_inventory.domain.change import Change
from phoi_inventory.domain.context import OperationContext
from phoi_inventory.domain.errors import (
    DocumentRequiredError,
    DuplicateRegisterEntriesError,
    DuplicateSerialsError,
    EmptyRequestError,
    ForbiddenMovementError,
    InvalidRegisterEntriesError,
    InvariantViolationError,
    ReasonNotAllowedError,
    SerialsNotHeldError,
    UnsupportedMovementKindError,
    WrongStateError,
)
from phoi_inventory.domain.events import BlanksMoved
from phoi_inventory.domain.form_types import FormType
from phoi_inventory.domain.ranges import SerialRange, merge_ranges
from phoi_inventory.domain.states import (
    MANUAL_KINDS,
    ActorRole,
    BlankState,
    Custody,
    LedgerReason,
    MovementKind,
    Transition,
    transitions_for,
)
from phoi_inventory.domain.workspace import Piece, Workspace, movements_from_pieces

__all__ = [
    "MovementItem",
    "MovementRequest",
    "normalise_items",
    "ranges_to_load_for_movement",
    "record_movement",
]


@dataclass(frozen=True, slots=True)
class MovementItem:
    """A range (or single serial) in a movement request; ``register_entry_first`` only on ``use``."""

    serials: SerialRange
    register_entry_first: int | None = None

    @property
    def register_entries(self) -> SerialRange | None:
        if self.register_entry_first is None:
            return None
        return SerialRange.of_count(self.register_entry_first, self.serials.count)


@dataclass(frozen=True, slots=True)
class MovementRequest:
    """``holder_unit``: whose blanks. A unit actor may leave it out (it is always its own unit); a QLCL
    actor leaves it ``None`` for blanks in QLCL's custody (central stock) and names the unit for
    returned blanks (receive back / destroy)."""

    kind: MovementKind
    form_type: str
    items: tuple[MovementItem, ...]
    document_ref: str | None = None
    reason: LedgerReason | None = None
    holder_unit: str | None = None
    note: str | None = None

    @classmethod
    def of_serials(
        cls,
        kind: MovementKind,
        form_type: str,
        serials: Iterable[int | SerialRange],
        *,
        document_ref: str | None = None,
        reason: LedgerReason | None = None,
        holder_unit: str | None = None,
        note: str | None = None,
    ) -> MovementRequest:
        """Build from single serials and ranges (no register entries)."""
        items = tuple(MovementItem(s if isinstance(s, SerialRange) else SerialRange.single(s)) for s in serials)
        return cls(kind, form_type, items, document_ref, reason, holder_unit, note)


def normalise_items(items: Iterable[MovementItem], *, form_type: str | None = None) -> tuple[MovementItem, ...]:
    """Sort by serial, refuse serials named twice (``DuplicateSerialsError``) and register entries named
    twice (``DuplicateRegisterEntriesError``), merge adjacent items (when their entries continue too)."""
    ordered = sorted(items, key=lambda it: it.serials)
    out: list[MovementItem] = []
    for it in ordered:
        if out and out[-1].serials.last >= it.serials.first:
            overlap = SerialRange(it.serials.first, min(it.serials.last, out[-1].serials.last))
            raise DuplicateSerialsError(overlap, form_type)
        if out and _continues(out[-1], it):
            prev = out[-1]
            out[-1] = MovementItem(SerialRange(prev.serials.first, it.serials.last), prev.register_entry_first)
        else:
            out.append(it)
    entries = sorted(e for it in out if (e := it.register_entries) is not None)
    for prev_e, e in pairwise(entries):
        if prev_e.last >= e.first:
            raise DuplicateRegisterEntriesError(SerialRange(e.first, min(e.last, prev_e.last)))
    return tuple(out)


def _continues(prev: MovementItem, it: MovementItem) -> bool:
    if prev.serials.last + 1 != it.serials.first:
        return False
    if prev.register_entry_first is None and it.register_entry_first is None:
        return True
    return (
        prev.register_entry_first is not None
        and it.register_entry_first is not None
        and prev.register_entry_first + prev.serials.count == it.register_entry_first
    )


def ranges_to_load_for_movement(request: MovementRequest) -> tuple[str, tuple[SerialRange, ...]]:
    """Load every block of this form type overlapping any of these ranges (each item widened by one
    serial, merged): the touched blocks plus their neighbours for merging."""
    return request.form_type, merge_ranges(it.serials.widened(1) for it in request.items)


def _resolve_holder(request: MovementRequest, ctx: OperationContext) -> str | None:
    actor = ctx.actor
    if actor.role is ActorRole.UNIT:
        if request.holder_unit is not None and request.holder_unit != actor.unit_code:
            raise ForbiddenMovementError(request.kind, actor.role, "a unit records movements of its own blanks only")
        return actor.unit_code
    return request.holder_unit


def record_movement(
    request: MovementRequest, blocks: Iterable[Block], form_type: FormType, ctx: OperationContext
) -> Change:
    """Apply a use/spoil/lose/destroy/return/receive_return request, all or nothing.

    ``blocks``: see ``ranges_to_load_for_movement``. ``form_type``: the request's form type (its
    ``active`` flag decides whether blanks count as obsolete for destruction).

    Checks, in order: kind supported, role allowed for this kind on this custody, document reference
    present when required, register entries present exactly on ``use``, request not empty, serials
    within the form type's format, no serial or register entry named twice; then, in ascending serial
    order, each part held by the custodian (``SerialsNotHeldError``) and in an allowed state
    (``WrongStateError``) and the reason allowed for that state (``ReasonNotAllowedError``).
    """
    if request.kind not in MANUAL_KINDS:
        raise UnsupportedMovementKindError(request.kind)
    if form_type.code != request.form_type:
        raise InvariantViolationError(f"form type {form_type.code} given for a {request.form_type} request")
    holder = _resolve_holder(request, ctx)
    rules = _rules_for(request.kind, ctx.actor.role, holder)
    _check_document(request, rules)
    _check_register_entries(request, rules)
    items = _checked_items(request, form_type)
    _check_reason(request, rules, items)
    movement = _Movement(request, form_type, holder, rules)
    ws = Workspace(blocks)
    pieces = ws.transform(form_type.code, [it.serials for it in items], movement.decide, movement.not_held)
    ws.record(
        movements_from_pieces(
            pieces,
            ctx=ctx,
            kind=request.kind,
            reason_of=movement.reason_of,
            document_ref=request.document_ref,
            entry_of=_EntryNumbers(items).entry_of,
            note=request.note,
        )
    )
    ws.emit(_blanks_moved(request, ctx, holder, items, pieces))
    return ws.change()


def _rules_for(kind: MovementKind, role: ActorRole, holder: str | None) -> tuple[Transition, ...]:
    """The transitions open to ``role`` for ``kind`` on the custody ``holder`` implies (``None``: QLCL's);
    ``ForbiddenMovementError`` saying what to do instead when there are none."""
    custody = Custody.CENTRAL if holder is None else Custody.UNIT
    rules = transitions_for(kind, role=role, custody=custody)
    if rules:
        return rules
    if not transitions_for(kind, role=role):
        reason = "not allowed for this role"
    elif custody is Custody.CENTRAL:
        reason = "only on blanks held by a unit: name holder_unit"
    else:
        reason = "only on blanks in QLCL custody: leave holder_unit empty"
    raise ForbiddenMovementError(kind, role, reason)


def _check_document(request: MovementRequest, rules: tuple[Transition, ...]) -> None:
    document = next((r.document for r in rules if r.document is not None), None)
    if document is not None and not (request.document_ref and request.document_ref.strip()):
        raise DocumentRequiredError(request.kind, document)


def _check_register_entries(request: MovementRequest, rules: tuple[Transition, ...]) -> None:
    """Register entry numbers on every item of a ``use``, on none of any other kind, counted from 1."""
    needs_entries = any(r.register_entries for r in rules)
    for it in request.items:
        if needs_entries and it.register_entry_first is None:
            raise InvalidRegisterEntriesError("every used serial names its register entry number", it.serials)
        if not needs_entries and it.register_entry_first is not None:
            raise InvalidRegisterEntriesError(f"only 'use' takes register entry numbers, not {request.kind.value!r}")
        if it.register_entry_first is not None and it.register_entry_first < 1:
            raise InvalidRegisterEntriesError("register entry numbers start at 1", it.serials)


def _checked_items(request: MovementRequest, form_type: FormType) -> tuple[MovementItem, ...]:
    """The request's items, not empty, within the form type's format, normalised."""
    if not request.items:
        raise EmptyRequestError()
    for it in request.items:
        form_type.check_range(it.serials)
    return normalise_items(request.items, form_type=form_type.code)


def _check_reason(request: MovementRequest, rules: tuple[Transition, ...], items: tuple[MovementItem, ...]) -> None:
    """A reason the request names must be allowed for this kind in some state (each state is checked
    again per part)."""
    allowed_reasons = {reason for r in rules for reason in r.reasons}
    if request.reason is not None and request.reason not in allowed_reasons:
        raise ReasonNotAllowedError(request.kind, request.reason.value, allowed_reasons, items[0].serials)


class _Movement:
    """Decides, part by part, where the blanks of a checked request go: the rule for each block's state."""

    def __init__(
        self, request: MovementRequest, form_type: FormType, holder: str | None, rules: tuple[Transition, ...]
    ) -> None:
        self.request = request
        self.form_type = form_type
        self.holder = holder
        # destroying blanks as obsolete is open only once their form type is no longer active
        self.by_state: dict[BlankState | None, Transition] = {
            r.from_state: r for r in rules if not (r.obsolete_only and form_type.active)
        }

    def decide(self, b: Block, part: SerialRange) -> BlockAttrs:
        if b.holder_unit != self.holder:
            raise self.not_held(part)
        rule = self._rule_for(b.state, part)
        reason = self.request.reason
        if reason is not None and reason not in rule.reasons:
            raise ReasonNotAllowedError(self.request.kind, reason.value, (x.value for x in rule.reasons), part)
        to_holder = None if rule.to_state is BlankState.CENTRAL else self.holder
        return BlockAttrs(self.form_type.code, rule.to_state, to_holder, None)

    def not_held(self, part: SerialRange) -> SerialsNotHeldError:
        ft = self.form_type
        return SerialsNotHeldError(ft.code, part, self.holder, prefix=ft.serial_prefix, digits=ft.digits)

    def reason_of(self, p: Piece) -> LedgerReason:
        if self.request.reason is not None:
            return self.request.reason
        return self.by_state[p.before.state].default_reason

    def _rule_for(self, state: BlankState, part: SerialRange) -> Transition:
        rule = self.by_state.get(state)
        if rule is not None:
            return rule
        ft = self.form_type
        allowed_states = tuple(s for s in self.by_state if s is not None)
        raise WrongStateError(
            ft.code,
            part,
            state,
            allowed_states,
            self.request.kind,
            prefix=ft.serial_prefix,
            digits=ft.digits,
        )


class _EntryNumbers:
    """The register entry of each piece: serial ``first + i`` of an item was written for entry
    ``register_entry_first + i``."""

    def __init__(self, items: tuple[MovementItem, ...]) -> None:
        self.items = items
        self.firsts = [it.serials.first for it in items]

    def entry_of(self, p: Piece) -> int | None:
        it = self.items[bisect_right(self.firsts, p.serials.first) - 1]
        if it.register_entry_first is None:
            return None
        return it.register_entry_first + (p.serials.first - it.serials.first)


def _blanks_moved(
    request: MovementRequest,
    ctx: OperationContext,
    holder: str | None,
    items: tuple[MovementItem, ...],
    pieces: list[Piece],
) -> BlanksMoved:
    """The domain event: every piece of one movement lands in the same state."""
    to_states = {p.after.state for p in pieces}
    if len(to_states) != 1:
        raise InvariantViolationError(f"{request.kind.value} leads to several states")
    return BlanksMoved(
        operation_id=ctx.operation_id,
        kind=request.kind,
        form_type=request.form_type,
        holder_unit=holder,
        to_state=to_states.pop(),
        ranges=merge_ranges(it.serials for it in items),
        quantity=sum(it.serials.count for it in items),
        document_ref=request.document_ref,
    )
