"""The inventory service app: the kit's runtime, the inventory API and the saga handlers.

The ``inventory_blanks{form_type,state}`` gauge is refreshed on scrape from ``stock_state_counts`` (a
handful of rows maintained with the blocks): see ``metrics.py``.
"""

from __future__ import annotations

from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app

from phoi_inventory.api import router
from phoi_inventory.api.errors import ERROR_MAP
from phoi_inventory.handlers import handlers
from phoi_inventory.metrics import refresh_blanks
from phoi_inventory.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="Inventory service",
            description="Form types, print batches, central stock, serial-range allocation, unit stock, the "
            "append-only stock ledger and usage reports. Serials are stored as ranges.",
            routers=[router],
            topic=topics.INVENTORY,
            consume=[topics.REQUESTS],
            handlers=handlers(settings),
            gauges=refresh_blanks,
            error_map=ERROR_MAP,
        )
    )
