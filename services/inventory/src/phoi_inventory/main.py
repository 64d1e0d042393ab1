from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app

from phoi_inventory.api import router
from phoi_inventory.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            settings=settings or Settings(),
            title="Inventory service",
            routers=[router],
            topic=topics.INVENTORY,
            consume=[topics.REQUESTS],
        )
    )
