"""The inventory's Prometheus gauge: ``inventory_blanks{service,form_type,state}``, blanks per form type and
state (the *Stock levels* dashboard). Read on scrape from ``stock_state_counts``, which every block change
maintains in its own transaction: one small query, whatever the size of the stock.

Registered as the service's `ServiceSpec.gauges`, which the kit awaits before each /metrics scrape.
"""

from __future__ import annotations

from typing import Final

from phoi_kit.db import Database
from phoi_kit.logging import get_logger
from prometheus_client import Gauge

from phoi_inventory.adapters.queries import Queries
from phoi_inventory.domain import BlankState

log = get_logger(__name__)

SERVICE: Final = "inventory"

BLANKS = Gauge("inventory_blanks", "Blanks per form type and state", ["service", "form_type", "state"])


async def refresh_blanks(database: Database) -> None:
    async with database.session() as session:
        counts = await Queries(session).state_counts()
    seen: dict[str, dict[str, int]] = {}
    for form_type, state, count in counts:
        seen.setdefault(form_type, {})[state] = count
    for form_type, states in seen.items():
        for state in BlankState:  # every state present, zero included, so series do not vanish
            BLANKS.labels(SERVICE, form_type, state.value).set(states.get(state.value, 0))
