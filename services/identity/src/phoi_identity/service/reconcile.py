"""Reconciliation: find and repair what differs between the directory and Keycloak.

1. **Orphan Keycloak users**: a journal entry older than the grace period is a user creation that
   neither finished nor was compensated. If Keycloak has a user of that name, created after the entry
   was opened, that no account refers to, it is deleted. The entry is then dropped.
2. **Account states**: every account is compared with its Keycloak user (`domain.accounts.reconcile`):
   a user gone from Keycloak disables the account; a user disabled behind our back locks it (with
   ``account.locked``, so tokens are refused); a temporary password set behind our back makes it
   ``pending_first_login`` (with ``account.password_reset``); a changed temporary password makes it
   ``active``; a locked account re-enabled behind our back is disabled in Keycloak again.
   Each repair runs in its own transaction with the account row locked and the Keycloak user re-read,
   so a concurrent API call is never "repaired" half-way.

Keycloak users that are not accounts (and not orphans of a journal entry) are left alone and only
counted: they may be users an administrator has yet to adopt.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from phoi_contracts.envelope import SYSTEM_ACTOR
from phoi_contracts.events.identity import AccountDisabled, AccountLocked, AccountPasswordReset
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.adapters import journal
from phoi_identity.adapters.keycloak import CREATION_SKEW_MS, KeycloakUser
from phoi_identity.domain.accounts import AccountStatus, KeycloakState, Repair
from phoi_identity.domain.accounts import reconcile as decide
from phoi_identity.service.accounts import is_last_administrator
from phoi_identity.service.common import account_refs, change_status, now
from phoi_identity.service.context import IdentityContext

log = get_logger(__name__)

MISSING_REASON = "The Keycloak user no longer exists."
DISABLED_OUTSIDE_REASON = "Disabled in Keycloak outside the identity service."


@dataclass
class ReconcileReport:
    orphan_keycloak_users_deleted: list[str] = field(default_factory=list)
    journal_entries_cleared: int = 0
    accounts_marked_disabled: list[str] = field(default_factory=list)
    accounts_marked_locked: list[str] = field(default_factory=list)
    accounts_marked_pending: list[str] = field(default_factory=list)
    accounts_marked_active: list[str] = field(default_factory=list)
    keycloak_users_disabled_again: list[str] = field(default_factory=list)
    # Disabled or deleted in Keycloak, yet the last live administrator: left live here (see `_repair`).
    last_administrator_not_mirrored: list[str] = field(default_factory=list)
    unregistered_keycloak_users: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.orphan_keycloak_users_deleted,
                self.accounts_marked_disabled,
                self.accounts_marked_locked,
                self.accounts_marked_pending,
                self.accounts_marked_active,
                self.keycloak_users_disabled_again,
            )
        )


def _state(user: KeycloakUser | None) -> KeycloakState | None:
    return None if user is None else KeycloakState(enabled=user.enabled, required_actions=user.required_actions)


async def reconcile(ctx: IdentityContext, *, grace_seconds: float | None = None) -> ReconcileReport:
    report = ReconcileReport()
    grace = ctx.settings.reconcile_grace_seconds if grace_seconds is None else grace_seconds
    await _orphans(ctx, report, grace)
    users = {u.id: u for u in await ctx.keycloak.list_users()}
    async with ctx.database.session() as session:
        snapshot = [
            (a.id, AccountStatus(a.status), a.keycloak_user_id) for a in await account_repo.all_accounts(session)
        ]
    report.unregistered_keycloak_users = len(set(users) - {user_id for _, _, user_id in snapshot})
    for account_id, status, user_id in snapshot:
        if decide(status, _state(users.get(user_id))) is not Repair.NOTHING:
            await _repair(ctx, account_id, report)
    if report.changed:
        log.warning("directory and Keycloak reconciled", **report.as_dict())
    return report


async def _orphans(ctx: IdentityContext, report: ReconcileReport, grace_seconds: float) -> None:
    async with ctx.database.session() as session:
        for entry in await journal.older_than(session, now() - timedelta(seconds=grace_seconds)):
            user = await ctx.keycloak.find_user(entry.username)
            if user is not None and await account_repo.by_keycloak_id(session, user.id) is None:
                opened_ms = int(entry.started_at.timestamp() * 1000)
                if user.created_ms >= opened_ms - CREATION_SKEW_MS:
                    await ctx.keycloak.delete_user(user.id)
                    report.orphan_keycloak_users_deleted.append(user.username)
                    log.warning("orphan Keycloak user deleted", username=user.username, user_id=user.id)
            await journal.remove(session, entry.id)
            report.journal_entries_cleared += 1
        await session.commit()


def _last_administrator_left(username: str, repair: Repair, report: ReconcileReport) -> None:
    """Keycloak disabled (or lost) the last live administrator behind our back. Mirroring it would
    leave the directory without an administrator, which the database refuses; so the account stays
    live here, and every run says so, loudly, until someone acts: enable the user in Keycloak again,
    or break the glass (docs/DEPLOYMENT.md), after which the next run mirrors the change."""
    report.last_administrator_not_mirrored.append(username)
    log.error(
        "the last administrator is disabled or gone in Keycloak; left live in the directory: break the glass",
        username=username,
        repair=repair.value,
    )


async def _repair(ctx: IdentityContext, account_id: uuid.UUID, report: ReconcileReport) -> None:
    async with ctx.database.session() as session:
        uow = UnitOfWork(session, source=ctx.source, actor=SYSTEM_ACTOR)
        account = await account_repo.get(session, account_id, for_update=True)
        if account is None:
            return
        user = await ctx.keycloak.get_user(account.keycloak_user_id)  # fresh, under the row lock
        status = AccountStatus(account.status)
        repair = decide(status, _state(user))
        cutoff = now()
        common = account_refs(account)
        if repair is Repair.NOTHING:
            return
        if repair in (Repair.MARK_DISABLED, Repair.MARK_LOCKED) and await is_last_administrator(uow, account):
            _last_administrator_left(account.username, repair, report)
            return
        if repair is Repair.DISABLE_IN_KEYCLOAK:
            await ctx.keycloak.set_enabled(account.keycloak_user_id, False)
            await ctx.keycloak.logout(account.keycloak_user_id)
            report.keycloak_users_disabled_again.append(account.username)
            return
        if repair is Repair.MARK_DISABLED:
            change_status(account, AccountStatus.DISABLED, MISSING_REASON, at=cutoff)
            holder = await account_repo.current_holder(session, account.id)
            if holder is not None:
                holder.held_to = cutoff
            uow.publish(AccountDisabled(**common, reason=MISSING_REASON, tokens_not_before=cutoff))
            report.accounts_marked_disabled.append(account.username)
        elif repair is Repair.MARK_LOCKED:
            change_status(account, AccountStatus.LOCKED, DISABLED_OUTSIDE_REASON, at=cutoff)
            uow.publish(AccountLocked(**common, reason=DISABLED_OUTSIDE_REASON, tokens_not_before=cutoff))
            report.accounts_marked_locked.append(account.username)
        elif repair is Repair.MARK_PENDING:
            change_status(
                account, AccountStatus.PENDING_FIRST_LOGIN, "A temporary password was set in Keycloak.", at=cutoff
            )
            uow.publish(AccountPasswordReset(**common, temporary=True, tokens_not_before=cutoff))
            report.accounts_marked_pending.append(account.username)
        elif repair is Repair.MARK_ACTIVE:
            change_status(account, AccountStatus.ACTIVE, "password changed by the holder", at=cutoff)
            report.accounts_marked_active.append(account.username)
        await uow.commit()
