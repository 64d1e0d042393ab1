"""The main menu, per role: each role sees the pages of its own work (Article 9: QLCL issues and
manages, units request and manage what they received, inspectors read)."""

from __future__ import annotations

from phoi_kit.auth import Role

from phoi_portal.domain.session import Session
from phoi_portal.web.i18n import N_

# (path, label) in menu order; a page whose path starts with an entry's path marks that entry current.
MENUS: dict[Role, list[tuple[str, str]]] = {
    Role.UNIT_ACCOUNT: [
        ("/dashboard", N_("Overview")),
        ("/requests", N_("Requests")),
        ("/stock", N_("Blanks on hand")),
        ("/reports/usage", N_("Usage report")),
        ("/serials", N_("Find a serial")),
        ("/account", N_("Account")),
    ],
    Role.QLCL_OFFICER: [
        ("/dashboard", N_("Overview")),
        ("/review", N_("Review")),
        ("/requests", N_("Requests")),
        ("/allocations", N_("Allocations")),
        ("/central/stock", N_("Central stock")),
        ("/central/print-batches", N_("Print batches")),
        ("/central/form-types", N_("Form types")),
        ("/reports/usage", N_("Usage report")),
        ("/serials", N_("Find a serial")),
        ("/account", N_("Account")),
    ],
    Role.QLCL_ADMIN: [
        ("/dashboard", N_("Overview")),
        ("/admin/units", N_("Units")),
        ("/admin/accounts", N_("Accounts")),
        ("/admin/incidents", N_("Incidents")),
        ("/admin/sign-ins", N_("Sign-in activity")),
        ("/account", N_("Account")),
    ],
    Role.AUDITOR: [
        ("/dashboard", N_("Overview")),
        ("/audit/entries", N_("Audit log")),
        ("/audit/verify", N_("Verify the log")),
        ("/requests", N_("Requests")),
        ("/serials", N_("Find a serial")),
        ("/account", N_("Account")),
    ],
}


def menu_for(session: Session) -> list[tuple[str, str]]:
    """The menu of the session's first role in the order above (an account has one role in practice)."""
    for role in (Role.UNIT_ACCOUNT, Role.QLCL_OFFICER, Role.QLCL_ADMIN, Role.AUDITOR):
        if session.has(role):
            return MENUS[role]
    return [("/dashboard", N_("Overview")), ("/account", N_("Account"))]
