"""Access incidents (Article 8.5): report (a suspected takeover locks the account at once), report from
the public page (changes nothing but the incident list), resolve."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from phoi_contracts.events.identity import (
    IncidentKind,
    IncidentReported,
    IncidentResolved,
    IncidentSource,
    PublicReporter,
)
from phoi_kit.auth import QLCL_ROLES, CurrentUser
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.adapters import incidents as repo
from phoi_identity.adapters import units as unit_repo
from phoi_identity.domain import incidents as domain
from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.errors import AccountNotFound, IncidentNotFound, RateLimited, UnitNotFound
from phoi_identity.domain.incidents import IncidentStatus, ResolutionAction
from phoi_identity.models import AccountRow, IncidentRow
from phoi_identity.service import accounts
from phoi_identity.service.common import check_version, now
from phoi_identity.service.context import IdentityContext
from phoi_identity.settings import Settings

log = get_logger(__name__)

ANONYMOUS = "anonymous"  # who reported a public report, as far as the directory knows


@dataclass(frozen=True)
class Report:
    kind: IncidentKind
    description: str
    account_id: uuid.UUID | None = None
    unit_code: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Reported:
    incident: IncidentRow
    account: AccountRow | None
    keycloak_synced: bool


async def _account_in_scope(uow: UnitOfWork, user: CurrentUser, account_id: uuid.UUID) -> AccountRow:
    """The account a reporter may name: QLCL any; a unit its own unit's; anyone else their own."""
    account = await account_repo.get(uow.session, account_id, for_update=True)
    if account is None:
        raise AccountNotFound("No such account.", account_id=str(account_id))
    if user.has_any(QLCL_ROLES):
        return account
    if user.is_unit and account.unit_code is not None and account.unit_code == user.unit_code:
        return account
    if account.keycloak_user_id == user.user_id:
        return account
    raise AccountNotFound("No such account.", account_id=str(account_id))


async def record(
    uow: UnitOfWork, new: Report, *, reporter: str, reporter_id: str | None = None, reporter_unit: str | None = None
) -> IncidentRow:
    """Write an open incident about `new.account_id` (already checked by the caller) and publish it."""
    incident = IncidentRow(
        id=uuid.uuid4(),
        kind=new.kind.value,
        status=IncidentStatus.OPEN.value,
        account_id=new.account_id,
        unit_code=new.unit_code,
        description=new.description,
        occurred_at=new.occurred_at,
        reported_at=now(),
        reported_by_user_id=reporter_id or reporter,
        reported_by_username=reporter,
        reported_by_unit=reporter_unit,
        account_locked=False,
        version=1,
        source=IncidentSource.SIGNED_IN.value,
    )
    uow.session.add(incident)
    await uow.session.flush()
    uow.publish(
        IncidentReported(
            incident_id=incident.id,
            kind=new.kind,
            account_id=incident.account_id,
            unit_code=new.unit_code,
            description=new.description,
            occurred_at=new.occurred_at,
        )
    )
    return incident


async def report(uow: UnitOfWork, ctx: IdentityContext, user: CurrentUser, new: Report) -> Reported:
    account: AccountRow | None = None
    if new.account_id is not None:
        account = await _account_in_scope(uow, user, new.account_id)
    elif not user.has_any(QLCL_ROLES):
        # A holder reporting without naming an account reports about their own.
        own = await account_repo.by_keycloak_id(uow.session, user.user_id)
        if own is not None:
            account = await account_repo.get(uow.session, own.id, for_update=True)
    unit_code = new.unit_code.strip().upper() if new.unit_code else None
    if user.is_unit and unit_code not in (None, user.unit_code):
        raise UnitNotFound("No such unit.", unit_code=unit_code)
    unit_code = unit_code or (account.unit_code if account else None) or (user.unit_code if user.is_unit else None)

    incident = await record(
        uow,
        Report(new.kind, new.description, account.id if account else None, unit_code, new.occurred_at),
        reporter=user.username,
        reporter_id=user.user_id,
        reporter_unit=user.unit_code,
    )
    synced = True
    if account is not None and domain.locks_account(new.kind, True, AccountStatus(account.status)):
        account, synced = await _lock_for_takeover(uow, ctx, user, incident, account)
    return Reported(incident, account, synced)


async def _lock_for_takeover(
    uow: UnitOfWork, ctx: IdentityContext, user: CurrentUser, incident: IncidentRow, account: AccountRow
) -> tuple[AccountRow, bool]:
    """Lock the account a takeover is suspected of — unless it is the last live administrator: locking
    it would leave nobody to resolve the incident (or unlock anything). The report stays open, the
    account live; the operator breaks the glass if it really is in the wrong hands (docs/DEPLOYMENT.md)."""
    if await accounts.is_last_administrator(uow, account):
        log.error(
            "suspected takeover of the last administrator: reported, not locked",
            incident_id=str(incident.id),
            account_id=str(account.id),
        )
        return account, True
    account, synced = await accounts.lock(
        uow,
        ctx,
        account.id,
        f"Suspected account takeover reported by {user.username}",
        incident_id=incident.id,
        account=account,
    )
    incident.account_locked = True
    await uow.session.flush()
    return account, synced


@dataclass(frozen=True)
class PublicReport:
    kind: IncidentKind
    reporter: str  # a username or a unit code, as typed: not verified
    contact: str
    description: str
    address: str  # where the report came from (see api.deps.client_address)


async def _check_rate(uow: UnitOfWork, settings: Settings, address: str) -> None:
    at = now()
    since = at - domain.PUBLIC_REPORT_WINDOW
    limits = (
        (settings.public_reports_per_hour, address, "Too many reports from your address."),
        (settings.public_reports_global_per_hour, None, "Too many reports are arriving right now."),
    )
    for limit, scope, message in limits:
        newest = await repo.public_reported_since(uow.session, since, limit=limit, address=scope)
        wait = domain.retry_after(newest, limit, at)
        if wait is not None:
            raise RateLimited(f"{message} Try again later, or call QLCL.", retry_after=wait)


async def _match(uow: UnitOfWork, reporter: str) -> tuple[AccountRow | None, str | None]:
    """The account (and its unit) the reporter's words name: a username, else a unit code (its live unit
    account). Only recorded for QLCL's convenience; nothing about it reaches the caller."""
    account = await account_repo.by_username(uow.session, reporter.lower())
    if account is not None:
        return account, account.unit_code
    unit = await unit_repo.get(uow.session, reporter.upper())
    if unit is None:
        return None, None
    return await account_repo.live_unit_account(uow.session, unit.code), unit.code


async def report_public(uow: UnitOfWork, settings: Settings, new: PublicReport) -> IncidentRow:
    """Record a report from the public page: rate-limited (per address and in all, under one lock so the
    counts hold across replicas); no account is locked or changed, whatever it names."""
    await repo.lock_public_intake(uow.session)
    await _check_rate(uow, settings, new.address)
    account, unit_code = await _match(uow, new.reporter)
    incident = IncidentRow(
        id=uuid.uuid4(),
        kind=new.kind.value,
        status=IncidentStatus.OPEN.value,
        account_id=account.id if account else None,
        unit_code=unit_code,
        description=new.description,
        reported_at=now(),
        reported_by_user_id=ANONYMOUS,
        reported_by_username=ANONYMOUS,
        account_locked=False,
        version=1,
        source=IncidentSource.PUBLIC.value,
        reference=domain.new_reference(),
        reporter_name=new.reporter,
        reporter_contact=new.contact,
        reporter_address=new.address,
    )
    uow.session.add(incident)
    await uow.session.flush()
    uow.publish(
        IncidentReported(
            incident_id=incident.id,
            kind=new.kind,
            account_id=incident.account_id,
            description=new.description,
            source=IncidentSource.PUBLIC,
            reporter=PublicReporter(name=new.reporter, contact=new.contact, address=new.address),
            reference=incident.reference,
        )
    )
    return incident


async def load(uow: UnitOfWork, incident_id: uuid.UUID, *, for_update: bool = False) -> IncidentRow:
    incident = await repo.get(uow.session, incident_id, for_update=for_update)
    if incident is None:
        raise IncidentNotFound("No such incident.", incident_id=str(incident_id))
    return incident


async def resolve(
    uow: UnitOfWork,
    ctx: IdentityContext,
    incident_id: uuid.UUID,
    action: ResolutionAction,
    note: str,
    expected_version: int | None,
) -> tuple[IncidentRow, AccountRow | None, str | None]:
    """Close the incident with a note. ``reset_password`` issues a new temporary password (and unlocks
    a locked account); ``keep_locked`` leaves a locked account locked; ``none`` touches nothing."""
    incident = await load(uow, incident_id, for_update=True)
    check_version(incident.version, expected_version)
    account = await account_repo.get(uow.session, incident.account_id, for_update=True) if incident.account_id else None
    status = AccountStatus(account.status) if account else None
    domain.check_resolution(IncidentStatus(incident.status), action, account is not None, status)
    password: str | None = None
    if action is ResolutionAction.RESET_PASSWORD and account is not None:
        if status is AccountStatus.LOCKED:
            account, password = await accounts.unlock(
                uow,
                ctx,
                account.id,
                f"Incident resolved: {note}",
                reset_password=True,
                account=account,
                check_incidents=False,
            )
        else:
            password = await accounts.reset_password(uow, ctx, account, f"Incident resolved: {note}")
    incident.status = IncidentStatus.RESOLVED.value
    incident.resolution = note
    incident.resolution_action = action.value
    incident.resolved_at = now()
    incident.resolved_by = uow.actor.username
    incident.version += 1
    await uow.session.flush()
    uow.publish(IncidentResolved(incident_id=incident.id, resolution=f"[{action.value}] {note}"[:4000]))
    return incident, account, password
