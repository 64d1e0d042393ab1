"""The portal's pages, one module per task (GOV.UK habit: one thing per page)."""

from phoi_portal.web.pages import (
    account,
    admin_accounts,
    admin_incidents,
    admin_units,
    audit,
    central,
    dashboard,
    incidents,
    public,
    receipts,
    records,
    reports,
    requests,
    review,
    stock,
)

routers = [
    public.router,
    dashboard.router,
    requests.router,
    receipts.router,
    stock.router,
    reports.router,
    incidents.router,
    account.router,
    admin_units.router,
    admin_accounts.router,
    admin_incidents.router,
    audit.router,
    review.router,
    central.router,
    records.router,
]
