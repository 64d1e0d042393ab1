"""Units: register, change, deactivate (which disables the unit's accounts), reactivate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from phoi_contracts.events.identity import (
    AccountDisabled,
    UnitCreated,
    UnitDeactivated,
    UnitKind,
    UnitReactivated,
    UnitUpdated,
)
from phoi_kit.uow import UnitOfWork
from sqlalchemy.exc import IntegrityError

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.adapters import units as repo
from phoi_identity.domain import units as domain
from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.errors import InvalidUnit, UnitExists, UnitNotFound, VersionRequired
from phoi_identity.models import UnitRow
from phoi_identity.service.common import account_refs, change_status, check_version, now
from phoi_identity.service.context import IdentityContext


@dataclass(frozen=True)
class NewUnit:
    code: str
    name: str
    kind: UnitKind
    name_en: str | None = None
    province: str | None = None
    parent_code: str | None = None
    head_name: str | None = None
    head_position: str | None = None
    head_contact: str | None = None


def _state_event_fields(unit: UnitRow) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "kind": UnitKind(unit.kind),
        "parent_code": unit.parent_code,
        "province": unit.province,
    }


async def load(uow: UnitOfWork, code: str, *, for_update: bool = False) -> UnitRow:
    unit = await repo.get(uow.session, domain.normalise_code(code), for_update=for_update)
    if unit is None:
        raise UnitNotFound("No such unit.", unit_code=code)
    return unit


async def _check_parent(uow: UnitOfWork, code: str, parent_code: str | None) -> None:
    if parent_code is None:
        return
    if not await repo.exists(uow.session, parent_code):
        raise InvalidUnit("The parent unit does not exist.", fields=["parent_code"], parent_code=parent_code)
    domain.check_parent(code, parent_code, await repo.ancestors(uow.session, parent_code))


async def create(uow: UnitOfWork, new: NewUnit) -> UnitRow:
    code = domain.normalise_code(new.code)
    if await repo.exists(uow.session, code):
        raise UnitExists("A unit with this code exists already.", unit_code=code)
    parent = domain.normalise_code(new.parent_code) if new.parent_code else None
    await _check_parent(uow, code, parent)
    unit = UnitRow(
        id=uuid.uuid4(),
        code=code,
        name=new.name,
        name_en=new.name_en,
        kind=new.kind.value,
        province=new.province,
        parent_code=parent,
        head_name=new.head_name,
        head_position=new.head_position,
        head_contact=new.head_contact,
        status=domain.UnitStatus.ACTIVE.value,
        version=1,
        created_by=uow.actor.username,
    )
    uow.session.add(unit)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same code
        raise UnitExists("A unit with this code exists already.", unit_code=code) from exc
    uow.publish(UnitCreated(**_state_event_fields(unit)))
    return unit


async def update(uow: UnitOfWork, code: str, requested: dict[str, Any], expected_version: int | None) -> UnitRow:
    unit = await load(uow, code, for_update=True)
    check_version(unit.version, expected_version)
    if requested.get("parent_code"):
        requested = {**requested, "parent_code": domain.normalise_code(requested["parent_code"])}
    current = {f: getattr(unit, f) for f in domain.MUTABLE_FIELDS}
    change = domain.diff(current, requested)
    if not change:
        return unit
    if "parent_code" in change.values:
        await _check_parent(uow, unit.code, change.values["parent_code"])
    for field, value in change.values.items():
        setattr(unit, field, value)
    unit.version += 1
    unit.updated_at = now()
    await uow.session.flush()
    uow.publish(UnitUpdated(**_state_event_fields(unit), changed_fields=change.changed_fields))
    return unit


async def deactivate(
    uow: UnitOfWork, ctx: IdentityContext, code: str, reason: str, expected_version: int | None
) -> UnitRow:
    """The unit stops acting: its accounts are disabled in Keycloak (sessions ended) first, then here,
    each with ``account.disabled`` so every service refuses their tokens. It disables every account of
    the unit at once, so it names the version it was based on (``If-Match``, 428 without it) — after
    the unit is found (404), so that the 428 can name the current version. The issuer is refused (409)
    whatever version is named: no version makes it right."""
    unit = await load(uow, code, for_update=True)
    if expected_version is None:
        raise VersionRequired("Send If-Match with the version (ETag) you read.", current_version=unit.version)
    if UnitKind(unit.kind) is UnitKind.QLCL:
        domain.deactivate(domain.UnitStatus(unit.status), UnitKind(unit.kind))  # refused: the issuer
    check_version(unit.version, expected_version)
    new_status = domain.deactivate(domain.UnitStatus(unit.status), UnitKind(unit.kind))
    accounts = [
        a for a in await account_repo.of_unit(uow.session, unit.code, for_update=True) if a.status != "disabled"
    ]
    for account in accounts:  # Keycloak first: if it fails, nothing here has changed
        await ctx.keycloak.set_enabled(account.keycloak_user_id, False)
        await ctx.keycloak.logout(account.keycloak_user_id)
    cutoff = now()
    for account in accounts:
        change_status(account, AccountStatus.DISABLED, f"unit deactivated: {reason}", at=cutoff)
        uow.publish(
            AccountDisabled(
                **account_refs(account),
                reason=f"Unit {unit.code} deactivated: {reason}",
                tokens_not_before=cutoff,
            )
        )
    unit.status = new_status.value
    unit.status_reason = reason
    unit.version += 1
    unit.updated_at = cutoff
    await uow.session.flush()
    uow.publish(UnitDeactivated(unit_id=unit.id, code=unit.code, reason=reason))
    return unit


async def reactivate(uow: UnitOfWork, code: str, reason: str | None, expected_version: int | None) -> UnitRow:
    """The unit is active again. Its accounts stay disabled (``account.disabled`` is for good): the
    administrator issues a new unit account."""
    unit = await load(uow, code, for_update=True)
    check_version(unit.version, expected_version)
    unit.status = domain.reactivate(domain.UnitStatus(unit.status)).value
    unit.status_reason = reason
    unit.version += 1
    unit.updated_at = now()
    await uow.session.flush()
    uow.publish(UnitReactivated(unit_id=unit.id, code=unit.code, reason=reason))
    return unit
