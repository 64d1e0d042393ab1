"""The inventory's Prometheus gauge: ``inventory_blanks{service,form_type,state}``, blanks per form type and
state (the *Stock levels* dashboard). Read on scrape from ``stock_state_counts``, which every block change
maintains in its own transaction: one small query, whatever the size of the stock.

The kit has no hook for service gauges yet, so ``install_gauges`` wraps the runtime's
``refresh_gauges`` (which the kit's ``/metrics`` awaits before rendering).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from phoi_kit.app import KitRuntime
from phoi_kit.logging import get_logger
from prometheus_client import Gauge

from phoi_inventory.adapters.queries import Queries
from phoi_inventory.domain import BlankState

log = get_logger(__name__)

SERVICE: Final = "inventory"

BLANKS = Gauge("inventory_blanks", "Blanks per form type and state", ["service", "form_type", "state"])


async def refresh_blanks(runtime: KitRuntime) -> None:
    async with runtime.database.session() as session:
        counts = await Queries(session).state_counts()
    seen: dict[str, dict[str, int]] = {}
    for form_type, state, count in counts:
        seen.setdefault(form_type, {})[state] = count
    for form_type, states in seen.items():
        for state in BlankState:  # every state present, zero included, so series do not vanish
            BLANKS.labels(SERVICE, form_type, state.value).set(states.get(state.value, 0))


def install_gauges(runtime: KitRuntime) -> None:
    kit_refresh: Callable[[], Awaitable[None]] = runtime.refresh_gauges

    async def refresh() -> None:
        await kit_refresh()
        try:
            await refresh_blanks(runtime)
        except Exception as exc:  # a scrape never fails because of a gauge
            log.warning("could not refresh inventory_blanks", error=repr(exc))

    setattr(runtime, "refresh_gauges", refresh)  # noqa: B010 - the kit has no gauge hook (see module doc)
