from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app

from phoi_requests.api import router
from phoi_requests.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            settings=settings or Settings(),
            title="Requests service",
            routers=[router],
            topic=topics.REQUESTS,
            consume=[topics.INVENTORY],
        )
    )
