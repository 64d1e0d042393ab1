"""Accounts over Keycloak: issue, adopt, hand over, lock, unlock, disable.

Consistency between the directory and Keycloak (no account in one and not the other):

- **Issue**: a journal entry is committed first; the Keycloak user is created (temporary password,
  ``UPDATE_PASSWORD``, realm role, ``unit_code``); then the account row, its first holder and the
  ``account.created`` event are committed — *here*, not by the request's dependency, so a failed commit
  can be compensated: the Keycloak user is deleted again. If Keycloak fails, no account is written;
  the journal entry stays unless Keycloak plainly refused (a lost answer may hide a created user). If
  the compensation itself fails (or the process dies in between), the journal entry stays too, and
  `reconcile` deletes the orphan (or finds none and drops the entry).
- **Hand over / lock / unlock / disable**: Keycloak is changed first, then the directory (the row is
  locked ``FOR UPDATE`` from the start, so concurrent changes of one account are serialised). If the
  directory's commit fails after Keycloak changed, the account is still in both places, and
  `reconcile` brings the directory's state in line with Keycloak (and emits the missing event).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from phoi_contracts.events.identity import (
    AccountCreated,
    AccountDisabled,
    AccountHandedOver,
    AccountKind,
    AccountLocked,
    AccountPasswordReset,
    AccountUnlocked,
    Role,
    UnitKind,
)
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork
from sqlalchemy.exc import IntegrityError

from phoi_identity.adapters import accounts as repo
from phoi_identity.adapters import incidents as incident_repo
from phoi_identity.adapters import journal
from phoi_identity.adapters import units as unit_repo
from phoi_identity.adapters.keycloak import KeycloakUser
from phoi_identity.domain import accounts as domain
from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.errors import (
    AccountExists,
    AccountNotFound,
    EmailTaken,
    InvalidAccount,
    KeycloakUnavailable,
    KeycloakUserMismatch,
    KeycloakUserNotFound,
    LastAdministrator,
    OpenIncident,
    PasswordRejected,
    UnitAccountExists,
    UnitInactive,
    UsernameTaken,
)
from phoi_identity.models import AccountRow, HolderRow, UnitRow
from phoi_identity.service.common import account_refs, change_status, check_version, now
from phoi_identity.service.context import IdentityContext

log = get_logger(__name__)


@dataclass(frozen=True)
class Holder:
    name: str
    position: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NewAccount:
    kind: AccountKind
    holder: Holder
    role: Role | None = None
    unit_code: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Adoption:
    keycloak_username: str
    holder: Holder | None = None
    kind: AccountKind | None = None
    role: Role | None = None
    unit_code: str | None = None


async def load(uow: UnitOfWork, account_id: uuid.UUID, *, for_update: bool = False) -> AccountRow:
    account = await repo.get(uow.session, account_id, for_update=for_update)
    if account is None:
        raise AccountNotFound("No such account.", account_id=str(account_id))
    return account


async def _active_unit(uow: UnitOfWork, code: str | None) -> UnitRow | None:
    if code is None:
        return None
    unit = await unit_repo.get(uow.session, code.strip().upper())
    if unit is None:
        raise InvalidAccount("The unit does not exist.", fields=["unit_code"], unit_code=code)
    if unit.status != "active":
        raise UnitInactive("The unit is inactive; it cannot be given an account.", unit_code=unit.code)
    return unit


def _unique_violation(exc: IntegrityError, username: str, unit_code: str | None) -> Exception:
    text = str(exc.orig)
    if "ux_accounts_one_unit_account" in text:
        return UnitAccountExists("The unit already has its unit account.", unit_code=unit_code)
    if "uq_accounts_username" in text:
        return UsernameTaken("An account with this username exists already.", fields=["username"], username=username)
    if "uq_accounts_keycloak_user_id" in text:
        return AccountExists("This Keycloak user is already an account of the directory.", username=username)
    return exc


def _new_row(
    *,
    kind: AccountKind,
    role: Role,
    unit_code: str | None,
    username: str,
    user_id: str,
    status: AccountStatus,
    holder: Holder,
    adopted: bool,
    actor: str | None,
) -> AccountRow:
    return AccountRow(
        id=uuid.uuid4(),
        kind=kind.value,
        role=role.value,
        unit_code=unit_code,
        username=username,
        keycloak_user_id=user_id,
        status=status.value,
        holder_name=holder.name,
        holder_position=holder.position,
        holder_email=holder.email,
        holder_phone=holder.phone,
        adopted=adopted,
        version=1,
        created_by=actor,
    )


def _first_holder(account: AccountRow, holder: Holder, reason: str, actor: str | None) -> HolderRow:
    return HolderRow(
        account_id=account.id,
        seq=1,
        name=holder.name,
        position=holder.position,
        email=holder.email,
        phone=holder.phone,
        held_from=now(),
        reason=reason,
        recorded_by=actor,
    )


def _created_event(account: AccountRow, must_change_password: bool) -> AccountCreated:
    return AccountCreated(
        **account_refs(account),
        kind=AccountKind(account.kind),
        role=Role(account.role),
        holder_name=account.holder_name,
        must_change_password=must_change_password,
    )


# --- issue -----------------------------------------------------------------------------------------
async def create(uow: UnitOfWork, ctx: IdentityContext, new: NewAccount) -> tuple[AccountRow, str]:
    """Issue an account. Returns it and the temporary password (to show once; never stored)."""
    role = domain.role_for(new.kind, new.role)
    unit = await _active_unit(uow, new.unit_code)
    unit_code = unit.code if unit else None
    domain.check_unit(new.kind, role, unit_code, UnitKind(unit.kind) if unit else None)
    username = domain.normalise_username(new.username or domain.default_username(new.kind, unit_code) or "")
    if new.kind is AccountKind.UNIT and unit_code and await repo.live_unit_account(uow.session, unit_code):
        raise UnitAccountExists("The unit already has its unit account.", unit_code=unit_code)
    password = domain.temporary_password(username)
    first_name, last_name = domain.split_name(new.holder.name)
    # Individual accounts carry no unit_code in Keycloak (their tokens speak for QLCL, not a unit).
    keycloak_unit = unit_code if new.kind is AccountKind.UNIT else None

    entry = await journal.begin(ctx.database, operation=journal.CREATE_USER, username=username)
    try:
        user_id = await ctx.keycloak.create_user(
            username=username,
            password=password,
            role=role.value,
            unit_code=keycloak_unit,
            email=new.holder.email,
            first_name=first_name,
            last_name=last_name,
        )
    except (UsernameTaken, EmailTaken, PasswordRejected, InvalidAccount):
        await _end_journal(ctx, entry)  # Keycloak refused: nothing was created
        raise
    # Any other failure (Keycloak unreachable after retries, a lost answer) may have left a user behind:
    # the journal entry stays, and reconciliation deletes the user if there is one.
    try:
        account = _new_row(
            kind=new.kind,
            role=role,
            unit_code=unit_code,
            username=username,
            user_id=user_id,
            status=AccountStatus.PENDING_FIRST_LOGIN,
            holder=new.holder,
            adopted=False,
            actor=uow.actor.username,
        )
        uow.session.add(account)
        await uow.session.flush()
        uow.session.add(_first_holder(account, new.holder, "account issued", uow.actor.username))
        uow.publish(_created_event(account, must_change_password=True))
        await uow.commit()  # here, so that a failure can be compensated
    except BaseException as exc:
        await uow.rollback()
        log.warning("account not saved; deleting the Keycloak user again", username=username, error=type(exc).__name__)
        if await asyncio.shield(ctx.keycloak.delete_user_quietly(user_id)):
            await _end_journal(ctx, entry)
        if isinstance(exc, IntegrityError):
            raise _unique_violation(exc, username, unit_code) from exc
        raise
    await _end_journal(ctx, entry)
    return account, password


async def _end_journal(ctx: IdentityContext, entry: uuid.UUID) -> None:
    try:
        await asyncio.shield(journal.end(ctx.database, entry))
    except Exception as exc:  # harmless: reconcile finds the account and drops the entry
        log.warning("journal entry not removed", entry=str(entry), error=repr(exc))


# --- adopt -----------------------------------------------------------------------------------------
async def adopt(uow: UnitOfWork, ctx: IdentityContext, adoption: Adoption) -> AccountRow:
    """Register an existing Keycloak user (the stand-in's demo users, accounts made before this
    service) as an account, without touching its password. Role and unit come from Keycloak; if the
    request names them too, they must agree."""
    user = await ctx.keycloak.find_user(adoption.keycloak_username)
    if user is None:
        raise KeycloakUserNotFound("Keycloak has no user with this username.", username=adoption.keycloak_username)
    if await repo.by_keycloak_id(uow.session, user.id) is not None:
        raise AccountExists("This Keycloak user is already an account of the directory.", username=user.username)
    role = domain.single_phoi_role(await ctx.keycloak.realm_roles(user.id))
    kind = domain.kind_of_role(role)
    unit_code = user.unit_code.upper() if user.unit_code else None
    if kind is AccountKind.INDIVIDUAL and adoption.unit_code:
        unit_code = adoption.unit_code.strip().upper()
    _check_adoption(adoption, user, role, kind, unit_code)
    unit = await _active_unit(uow, unit_code)
    domain.check_unit(kind, role, unit_code, UnitKind(unit.kind) if unit else None)
    if kind is AccountKind.UNIT and unit_code and await repo.live_unit_account(uow.session, unit_code):
        raise UnitAccountExists("The unit already has its unit account.", unit_code=unit_code)
    holder = adoption.holder or Holder(
        name=domain.join_name(user.first_name, user.last_name) or user.username, email=user.email
    )
    status = domain.status_from_keycloak(user.enabled, list(user.required_actions), locked_means=AccountStatus.LOCKED)
    account = _new_row(
        kind=kind,
        role=role,
        unit_code=unit_code,
        username=user.username,
        user_id=user.id,
        status=status,
        holder=holder,
        adopted=True,
        actor=uow.actor.username,
    )
    if status is AccountStatus.LOCKED:
        account.status_reason = "disabled in Keycloak when adopted"
    uow.session.add(account)
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise _unique_violation(exc, user.username, unit_code) from exc
    uow.session.add(_first_holder(account, holder, "existing Keycloak user adopted", uow.actor.username))
    uow.publish(_created_event(account, must_change_password=user.must_change_password))
    return account


def _check_adoption(
    adoption: Adoption, user: KeycloakUser, role: Role, kind: AccountKind, unit_code: str | None
) -> None:
    wrong: dict[str, str | None] = {}
    if adoption.role is not None and adoption.role is not role:
        wrong["role"] = role.value
    if adoption.kind is not None and adoption.kind is not kind:
        wrong["kind"] = kind.value
    if kind is AccountKind.UNIT and adoption.unit_code and adoption.unit_code.strip().upper() != unit_code:
        wrong["unit_code"] = unit_code
    if wrong:
        raise KeycloakUserMismatch(
            "The Keycloak user does not match the request: " + ", ".join(f"{k} is {v}" for k, v in wrong.items()),
            keycloak=wrong,
            username=user.username,
        )


# --- handover (Article 8.4) ------------------------------------------------------------------------
async def hand_over(
    uow: UnitOfWork,
    ctx: IdentityContext,
    account_id: uuid.UUID,
    holder: Holder,
    reason: str | None,
    expected_version: int | None,
) -> tuple[AccountRow, str]:
    """The account passes to `holder`: a new temporary password (``UPDATE_PASSWORD``), every session
    ended, the previous holder's period closed and the new one's opened."""
    account = await load(uow, account_id, for_update=True)
    check_version(account.version, expected_version)
    domain.can_hand_over(AccountStatus(account.status))
    password = domain.temporary_password(account.username)
    first_name, last_name = domain.split_name(holder.name)
    kc = ctx.keycloak
    await kc.update_user(
        account.keycloak_user_id,
        firstName=first_name,
        lastName=last_name,
        email=holder.email or "",
        emailVerified=False,
    )
    await kc.set_temporary_password(account.keycloak_user_id, password)
    await kc.logout(account.keycloak_user_id)
    cutoff = now()
    previous = await repo.current_holder(uow.session, account.id)
    if previous is not None:
        previous.held_to = cutoff
        await uow.session.flush()  # the partial unique index allows one open period
    uow.session.add(
        HolderRow(
            account_id=account.id,
            seq=await repo.next_holder_seq(uow.session, account.id),
            name=holder.name,
            position=holder.position,
            email=holder.email,
            phone=holder.phone,
            held_from=cutoff,
            reason=reason,
            recorded_by=uow.actor.username,
        )
    )
    previous_name = account.holder_name
    account.holder_name = holder.name
    account.holder_position = holder.position
    account.holder_email = holder.email
    account.holder_phone = holder.phone
    change_status(
        account, AccountStatus.PENDING_FIRST_LOGIN, "handed over; the new holder must change the password", at=cutoff
    )
    await uow.session.flush()
    uow.publish(
        AccountHandedOver(
            **account_refs(account),
            previous_holder=previous_name,
            new_holder=holder.name,
            reason=reason,
            tokens_not_before=cutoff,
        )
    )
    return account, password


# --- the last administrator ----------------------------------------------------------------------
async def keep_an_administrator(uow: UnitOfWork, account: AccountRow) -> None:
    """409 ``last_administrator`` instead of taking the last live administrator (`account`, row locked by
    the caller) out of service. Takes the administrators' lock, held until the transaction ends: a
    concurrent change of another administrator counts again after this one committed."""
    if account.role != Role.QLCL_ADMIN.value or AccountStatus(account.status) not in domain.LIVE:
        return  # not an administrator who can sign in: nothing to count, no lock to wait for
    await repo.lock_administrators(uow.session)
    others = await repo.live_administrators_besides(uow.session, account.id)
    domain.keep_an_administrator(Role(account.role), AccountStatus(account.status), others)


async def is_last_administrator(uow: UnitOfWork, account: AccountRow) -> bool:
    """The same check, for the callers that must not fail (an incident report, reconciliation)."""
    try:
        await keep_an_administrator(uow, account)
    except LastAdministrator:
        return True
    return False


async def flush_status(uow: UnitOfWork) -> None:
    """Flush a status change; the database's own guard (``accounts_keep_an_administrator``) answers
    409 too, should a path have missed the check above."""
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        if "accounts_keep_an_administrator" in str(exc.orig):
            raise LastAdministrator("This is the last administrator account that can sign in.") from exc
        raise


# --- lock / unlock / disable -----------------------------------------------------------------------
async def lock(
    uow: UnitOfWork,
    ctx: IdentityContext,
    account_id: uuid.UUID,
    reason: str,
    *,
    incident_id: uuid.UUID | None = None,
    expected_version: int | None = None,
    account: AccountRow | None = None,
) -> tuple[AccountRow, bool]:
    """Disable the Keycloak user, end its sessions, and publish ``account.locked`` so every service
    refuses the account's tokens within seconds.

    A lock is a security measure and must not wait for Keycloak: if Keycloak cannot be reached, the
    account is locked here anyway and ``account.locked`` still makes every service refuse its tokens;
    reconciliation disables the Keycloak user once Keycloak answers (a locked account found enabled
    in Keycloak is disabled again). Returns the account and whether Keycloak was updated."""
    account = account or await load(uow, account_id, for_update=True)
    check_version(account.version, expected_version)
    domain.can_lock(AccountStatus(account.status))
    await keep_an_administrator(uow, account)
    keycloak_done = True
    try:
        await ctx.keycloak.set_enabled(account.keycloak_user_id, False)
        await ctx.keycloak.logout(account.keycloak_user_id)
    except KeycloakUnavailable:
        keycloak_done = False
        log.error("Keycloak unavailable: account locked here, Keycloak to follow", account_id=str(account.id))
    cutoff = change_status(account, AccountStatus.LOCKED, reason)
    await flush_status(uow)
    uow.publish(
        AccountLocked(
            **account_refs(account),
            reason=reason,
            incident_id=incident_id,
            tokens_not_before=cutoff,
        )
    )
    return account, keycloak_done


async def reset_password(uow: UnitOfWork, ctx: IdentityContext, account: AccountRow, reason: str | None) -> str:
    """A new temporary password for a live account (the holder cannot get in): sessions ended, the
    holder must change it at the next login. Returns the password (shown once)."""
    domain.can_hand_over(AccountStatus(account.status))
    password = domain.temporary_password(account.username)
    await ctx.keycloak.set_temporary_password(account.keycloak_user_id, password)
    await ctx.keycloak.logout(account.keycloak_user_id)
    cutoff = change_status(account, AccountStatus.PENDING_FIRST_LOGIN, reason)
    await uow.session.flush()
    uow.publish(
        AccountPasswordReset(
            **account_refs(account),
            temporary=True,
            tokens_not_before=cutoff,
        )
    )
    return password


async def unlock(
    uow: UnitOfWork,
    ctx: IdentityContext,
    account_id: uuid.UUID,
    reason: str | None,
    *,
    reset_password: bool,
    expected_version: int | None = None,
    account: AccountRow | None = None,
    check_incidents: bool = True,
) -> tuple[AccountRow, str | None]:
    """Enable the Keycloak user again, optionally with a new temporary password. Tokens issued before
    the lock stay refused. An account locked by an open incident is unlocked by resolving it."""
    account = account or await load(uow, account_id, for_update=True)
    check_version(account.version, expected_version)
    domain.can_unlock(AccountStatus(account.status))
    if check_incidents:
        open_incidents = await incident_repo.open_for_account(uow.session, account.id)
        locking = [i for i in open_incidents if i.account_locked]
        if locking:
            raise OpenIncident(
                "The account was locked by an incident that is still open: resolve the incident.",
                incident_id=str(locking[0].id),
            )
    password = domain.temporary_password(account.username) if reset_password else None
    if password is not None:
        await ctx.keycloak.set_temporary_password(account.keycloak_user_id, password)
    await ctx.keycloak.set_enabled(account.keycloak_user_id, True)
    user = await ctx.keycloak.get_user(account.keycloak_user_id)
    pending = password is not None or (user is not None and user.must_change_password)
    cutoff = change_status(account, AccountStatus.PENDING_FIRST_LOGIN if pending else AccountStatus.ACTIVE, reason)
    await uow.session.flush()
    if password is not None:
        uow.publish(
            AccountPasswordReset(
                **account_refs(account),
                temporary=True,
                tokens_not_before=cutoff,
            )
        )
    uow.publish(
        AccountUnlocked(
            **account_refs(account),
            reason=reason,
        )
    )
    return account, password


async def disable(
    uow: UnitOfWork, ctx: IdentityContext, account_id: uuid.UUID, reason: str, expected_version: int | None
) -> AccountRow:
    """Disable for good (the holder left QLCL, the account is replaced). The Keycloak user is kept,
    disabled, so the audit trail's user id stays meaningful."""
    account = await load(uow, account_id, for_update=True)
    check_version(account.version, expected_version)
    domain.can_disable(AccountStatus(account.status))
    await keep_an_administrator(uow, account)
    await ctx.keycloak.set_enabled(account.keycloak_user_id, False)
    await ctx.keycloak.logout(account.keycloak_user_id)
    cutoff = change_status(account, AccountStatus.DISABLED, reason)
    current = await repo.current_holder(uow.session, account.id)
    if current is not None:
        current.held_to = cutoff
    await flush_status(uow)
    uow.publish(
        AccountDisabled(
            **account_refs(account),
            reason=reason,
            tokens_not_before=cutoff,
        )
    )
    return account
