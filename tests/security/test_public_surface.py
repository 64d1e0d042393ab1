"""What answers without a token: health, readiness, metrics and the API documents of each service, the
portal's public pages and its sign-in flow — each listed here with its reason — and nothing else. The
services' operations are in docs/ACCESS_POLICY.md (test_bad_tokens.py sends each of them nothing at all);
here are the routes outside their OpenAPI, and every page of the portal, which is reached without a
session by walking its app's routes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from access_policy import SERVICES, build_app, operations
from fastapi.routing import iter_route_contexts
from phoi_local.testkit import UNIT

# Every app built on the kit: probes and Prometheus (the portal's are denied on its public host by the
# Ingress `portal-internal-paths`, the services are not published at all), and the framework's API documents
# (the same: the services' describe their API to the portal's developers; the portal's is denied publicly).
KIT_PUBLIC = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# The portal's pages for someone not signed in, and the sign-in flow.
PORTAL_PUBLIC = {
    "/login": "starts the sign-in: a redirect to Keycloak",
    "/auth/callback": "ends the sign-in: Keycloak sends the browser back here",
    "/signed-out": "after signing out",
    "/cannot-sign-in": "the report form for someone who cannot sign in (identity's public access reports)",
    "/": "the start page: the sign-in button, or the dashboard for a session",
}
# The forms someone not signed in may send.
PORTAL_PUBLIC_FORMS = {
    "/cannot-sign-in": "the report of someone who cannot sign in",
    "/language": "the language of the pages (a cookie), the sign-in page's too",
    "/logout": "signing out ends whatever session there is, none included",
}
SIGN_IN = re.compile(r"^(/login|https?://[^/]+/realms/)")
# Values for the portal's path parameters: well-formed, so a page refuses for want of a session, not input.
PATH_VALUES = {"code": UNIT, "sequence": "1", "fmt": "csv"}
ANY_ID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_answers_without_a_token_only_on_the_kits_public_routes(service: str) -> None:
    app = build_app(service)
    documented = {op.path for op in operations(app, service)}
    outside = {route.path for route in iter_route_contexts(app.router.routes)} - documented
    assert outside == KIT_PUBLIC


def _paths(app: Any, method: str) -> list[str]:
    return [
        route.path
        for route in iter_route_contexts(app.router.routes)
        if route.path and method in (route.methods or set())
    ]


def _portal_url(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m[1], ANY_ID), path)


async def test_every_portal_page_wants_a_session_except_the_public_ones(api_app: Any) -> None:
    async with api_app("portal") as portal:
        pages = _paths(portal.app, "GET")
        assert set(PORTAL_PUBLIC) <= set(pages), "a public page listed here is gone"
        found = []
        for page in pages:
            if page in KIT_PUBLIC or page in PORTAL_PUBLIC or page == "/api/v1/me":
                continue
            response = await portal.client.get(_portal_url(page))
            location = response.headers.get("location", "")
            signs_in = response.is_redirect and SIGN_IN.match(location)
            if not signs_in and response.status_code not in (401, 403):
                found.append(f"GET {page} without a session answered {response.status_code} {location}")
        # the kit's own /api/v1/me, on the portal too: a bearer token or nothing
        assert (await portal.client.get("/api/v1/me")).status_code == 401
    assert found == [], "\n".join(found)


async def test_no_portal_form_acts_without_a_session(api_app: Any) -> None:
    async with api_app("portal") as portal:
        found = []
        for form in _paths(portal.app, "POST"):
            if form in PORTAL_PUBLIC_FORMS:
                continue
            response = await portal.client.post(_portal_url(form), data={"csrf_token": "x"})
            location = response.headers.get("location", "")
            if not (response.is_redirect and SIGN_IN.match(location)) and response.status_code not in (401, 403):
                found.append(f"POST {form} without a session answered {response.status_code} {location}")
    assert found == [], "\n".join(found)
