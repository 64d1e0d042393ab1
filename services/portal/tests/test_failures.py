"""When something behind the portal fails, an official gets a polite page with a reference the help desk
can find, never a stack trace and never a dropped connection. The real portal app on its own migrated
database, with a signed-in session row; the service it needs is unreachable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from phoi_portal.adapters.sessions import SessionRepository
from phoi_portal.domain.session import Session, Tokens, hash_session_id, new_session_id
from phoi_portal.main import create_app
from phoi_portal.settings import Settings
from phoi_portal.web.errors import LastResort
from starlette.routing import Route, Router

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers there


async def signed_in_cookie(portal: Any) -> str:
    cookie = new_session_id()
    now = datetime.now(UTC)
    session = Session(
        hash_session_id(cookie),
        "u-1",
        "sgd-hn",
        "Phạm Quốc Dũng",
        "SGD-HN",
        frozenset({"unit_account"}),
        Tokens("access", "refresh", "id", now + timedelta(minutes=5)),
        now,
        now,
    )
    async with portal.runtime.database.session() as db:
        await SessionRepository(db).add(session)
        await db.commit()
    return cookie


async def test_an_unreachable_service_gives_a_polite_page_with_a_reference(service_app: Any) -> None:
    async with service_app("portal", inventory_url=UNREACHABLE, requests_url=UNREACHABLE) as portal:
        cookie = await signed_in_cookie(portal)
        response = await portal.client.get(
            "/stock", cookies={"phoi_session": cookie}, headers={"X-Correlation-ID": "ref-7f3a"}
        )
    assert response.status_code == 503
    assert "Xin lỗi, hệ thống tạm thời không phục vụ được" in response.text
    assert "Dữ liệu bạn đã nhập không bị mất" in response.text
    assert '<strong class="reference">ref-7f3a</strong>' in response.text
    assert "Traceback" not in response.text


async def test_an_unexpected_error_is_a_polite_page_and_the_connection_stays_usable() -> None:
    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    # As in the portal: LastResort sits inside the framework's own outermost handler, nothing between.
    app = LastResort(Router(routes=[Route("/broken", broken)]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test") as client:
        first = await client.get("/broken")
        second = await client.get("/broken", headers={"X-Correlation-ID": "ref-given"})
    assert first.status_code == 500
    reference = first.headers["x-correlation-id"]
    assert reference
    assert f'<strong class="reference">{reference}</strong>' in first.text
    assert "a bug" not in first.text
    assert "RuntimeError" not in first.text
    assert second.headers["x-correlation-id"] == "ref-given"


async def test_an_error_inside_the_kits_layer_is_the_same_page_with_the_requests_reference() -> None:
    async def broken() -> None:
        raise RuntimeError("a bug in a page")

    # The real portal app (no lifespan: the route needs nothing): the kit's last resort answers with the
    # portal's page, and nothing escapes the app (the client would raise).
    app = create_app(Settings(public_url="http://127.0.0.1:8000"))
    app.add_api_route("/broken", broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test") as client:
        first = await client.get("/broken", headers={"X-Correlation-ID": "ref-kit"})
        second = await client.get("/healthz")
    assert first.status_code == 500
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["x-correlation-id"] == "ref-kit"
    assert '<strong class="reference">ref-kit</strong>' in first.text
    assert "a bug in a page" not in first.text
    assert second.status_code == 200
