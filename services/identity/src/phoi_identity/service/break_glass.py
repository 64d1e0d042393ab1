"""Break glass: give the system an administrator again when none can sign in (the password is lost,
the holder is gone, Keycloak disabled the last one). The operator runs it in the cluster
(`python -m phoi_identity.break_glass`, docs/DEPLOYMENT.md); no token is asked for, since having none is
the problem, and the cluster access is the authority.

- An existing ``qlcl_admin`` account (named by its username) is re-activated: enabled in Keycloak, a
  new temporary password, its sessions ended (``account.unlocked`` when it was locked, and
  ``account.password_reset``). A disabled account is history and stays so: name a new username.
- Otherwise a new ``qlcl_admin`` account is issued (in the issuer unit, QLCL, when the directory has it).

Every event carries the actor ``system``; the operator's name and reason go into the account's status
reason and into an open incident (``incident.reported``, kind ``other``), which the administrator who
gets in reviews and resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

from phoi_contracts.envelope import SYSTEM_ACTOR
from phoi_contracts.events.identity import AccountKind, IncidentKind, Role, UnitKind
from phoi_kit.uow import UnitOfWork
from sqlalchemy import select

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.domain import accounts as account_domain
from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.errors import AccountStateConflict, InvalidAccount
from phoi_identity.domain.incidents import control_character
from phoi_identity.models import AccountRow, UnitRow
from phoi_identity.service import accounts
from phoi_identity.service.context import IdentityContext
from phoi_identity.service.incidents import Report, record

SYSTEM = SYSTEM_ACTOR.username or "system"
MAX_TEXT = 1000


@dataclass(frozen=True)
class Request:
    operator: str  # who runs it, as they state it
    reason: str
    username: str
    holder_name: str | None = None  # a new account's holder; default: the operator
    email: str | None = None


@dataclass(frozen=True)
class Granted:
    username: str
    temporary_password: str
    issued: bool  # a new account (else an existing one re-activated)
    account_id: str
    incident_id: str


def _checked(field: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT or control_character(value) is not None:
        raise InvalidAccount(f"Say {field} in 1 to {MAX_TEXT} plain characters.", fields=[field])
    return value


def _why(operator: str, reason: str) -> str:
    return f"Break glass by {operator}: {reason}"


async def break_glass(ctx: IdentityContext, request: Request) -> Granted:
    operator, reason = _checked("operator", request.operator), _checked("reason", request.reason)
    username = account_domain.normalise_username(request.username)
    async with ctx.database.session() as session:
        uow = UnitOfWork(session, source=ctx.source, actor=SYSTEM_ACTOR)
        existing = await account_repo.by_username(session, username)
        if existing is not None:
            account = await accounts.load(uow, existing.id, for_update=True)
            password = await _reactivate(uow, ctx, account, _why(operator, reason))
            issued = False
        else:
            account, password = await _issue(uow, ctx, request, username, operator)  # committed
            issued = True
        action = "issued" if issued else "re-activated"
        incident = await record(
            uow,
            Report(
                kind=IncidentKind.OTHER,
                account_id=account.id,
                unit_code=account.unit_code,
                description=f"{_why(operator, reason)} (administrator account {username} {action}). "
                "Check who holds it, then resolve this incident.",
            ),
            reporter=SYSTEM,
        )
        await uow.commit()
    return Granted(username, password, issued, str(account.id), str(incident.id))


async def _reactivate(uow: UnitOfWork, ctx: IdentityContext, account: AccountRow, why: str) -> str:
    if account.role != Role.QLCL_ADMIN.value:
        raise InvalidAccount("This account is not an administrator's; name a qlcl_admin account or a new username.")
    status = AccountStatus(account.status)
    if status is AccountStatus.DISABLED:
        raise AccountStateConflict("This account is disabled for good; name a new username.", status=status.value)
    if status is AccountStatus.LOCKED:  # whatever locked it (an open incident included): the operator decides
        _, password = await accounts.unlock(
            uow, ctx, account.id, why, reset_password=True, account=account, check_incidents=False
        )
        assert password is not None  # reset_password=True
        return password
    # Live here, but Keycloak may have disabled the user behind our back (reconciliation then leaves it
    # live, as the last administrator): enable it before the new password.
    await ctx.keycloak.set_enabled(account.keycloak_user_id, True)
    return await accounts.reset_password(uow, ctx, account, why)


async def _issue(
    uow: UnitOfWork, ctx: IdentityContext, request: Request, username: str, operator: str
) -> tuple[AccountRow, str]:
    issuer = (
        await uow.session.execute(
            select(UnitRow.code)
            .where(UnitRow.kind == UnitKind.QLCL.value, UnitRow.status == "active")
            .order_by(UnitRow.code)
            .limit(1)
        )
    ).scalar_one_or_none()
    holder = accounts.Holder(name=_checked("holder", request.holder_name or operator), email=request.email)
    return await accounts.create(
        uow,
        ctx,
        accounts.NewAccount(
            kind=AccountKind.INDIVIDUAL, role=Role.QLCL_ADMIN, holder=holder, unit_code=issuer, username=username
        ),
    )
