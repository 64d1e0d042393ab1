from fastapi import FastAPI
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app

from phoi_requests.adapters.signatures import SignatureVerifier, TrustStore
from phoi_requests.api import router
from phoi_requests.api.errors import ERROR_MAP
from phoi_requests.handlers import handlers
from phoi_requests.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Read the trust folder now: a missing or unreadable one stops the service at start, not at an upload.
    verifier = SignatureVerifier(TrustStore.load(settings.signature_trust_folder))
    app = create_service_app(
        ServiceSpec(
            settings=settings,
            title="Requests service",
            description="Blank-form requests (phiếu đề nghị cấp phôi): drafting, review, approval, "
            "the allocation outcomes from inventory, and proof of delivery.",
            routers=[router],
            topic=topics.REQUESTS,
            # inventory: allocation outcomes and form types; identity: units (and the kit's revocations).
            consume=[topics.INVENTORY, topics.IDENTITY],
            handlers=handlers(settings),
            error_map=ERROR_MAP,
        )
    )
    app.state.signature_verifier = verifier
    return app
