"""The identity service's background jobs, run in the app's lifespan next to the kit's:
the login-event poller (``IDENTITY_LOGIN_EVENTS_POLL_SECONDS``) and periodic reconciliation
(``IDENTITY_RECONCILE_SECONDS``); 0 turns a job off."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from phoi_kit.background import every

from phoi_identity.service import reconcile, sign_in
from phoi_identity.service.context import IdentityContext


def jobs(ctx: IdentityContext) -> list[Coroutine[Any, Any, None]]:
    settings = ctx.settings
    out: list[Coroutine[Any, Any, None]] = []
    if settings.login_events_poll_seconds > 0:
        out.append(every(settings.login_events_poll_seconds, "login-events", lambda: sign_in.poll_once(ctx)))
    if settings.reconcile_seconds > 0:
        out.append(every(settings.reconcile_seconds, "reconcile", lambda: reconcile.reconcile(ctx)))
    return out
