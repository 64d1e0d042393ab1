from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app

from phoi_identity.api import router
from phoi_identity.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            settings=settings or Settings(),
            title="Identity service",
            routers=[router],
            topic=topics.IDENTITY,
            consume=[],
        )
    )
