"""Problems and domain errors: one title per status, one way for a service's domain errors to become
problems (``ServiceSpec.error_map``). The app is the kit's real one, called without its lifespan: none of
these answers needs the broker or a token, and only the database's outages need the database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import APIRouter, Request
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app, runtime_of
from phoi_kit.db import asyncpg_url
from phoi_kit.errors import (
    TITLES,
    BadRequest,
    Conflict,
    ErrorMap,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    check_error_map,
    status_of,
    title_for,
)
from phoi_kit.inputs import RequestBody
from phoi_kit.settings import ServiceSettings
from phoi_local.procutil import free_port
from sqlalchemy import text


class ShopError(Exception):
    """A domain error of a made-up service: a code, a message and details, no HTTP status."""

    code: ClassVar[str] = "shop_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self._details = details

    def details(self) -> Mapping[str, object]:
        return self._details


class ItemMissing(ShopError):
    code = "item_missing"


class SoldOut(ShopError):
    code = "sold_out"


class LastOneSoldOut(SoldOut):
    code = "last_one_sold_out"


class StockCorrupt(ShopError):
    code = "stock_corrupt"


class WarehouseDown(ShopError):
    code = "warehouse_down"


ERROR_MAP: ErrorMap = {ShopError: 422, ItemMissing: 404, SoldOut: 409, StockCorrupt: 500, WarehouseDown: 503}

shop = APIRouter(prefix="/api/v1")


class Order(RequestBody):
    quantity: int


@shop.post("/orders")
async def order(body: Order) -> dict[str, int]:
    if body.quantity > 100:
        raise LastOneSoldOut("Only one was left.", item="phôi THPT", type="mine", status=1)
    return {"quantity": body.quantity}


@shop.get("/raise/{name}")
async def raise_(name: str) -> None:
    errors: dict[str, Exception] = {
        "missing": ItemMissing("No such item.", item="x"),
        "rule": ShopError("Against the rules."),
        "corrupt": StockCorrupt("block 7 overlaps block 8"),
        "down": WarehouseDown("The warehouse does not answer."),
        "bug": RuntimeError("internal detail that must not leak"),
    }
    raise errors[name]


@shop.get("/stock/{query}")
async def stock(request: Request, query: str) -> dict[str, Any]:
    statements = {"count": "SELECT 1", "cut-off": "SELECT pg_terminate_backend(pg_backend_pid())"}
    async with runtime_of(request).database.session() as session:
        return {"answer": (await session.execute(text(statements[query]))).scalar_one()}


@contextlib.asynccontextmanager
async def app_on(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(service_name="kittest", keycloak_url="http://127.0.0.1:9", database_url=database_url)
    app = create_service_app(
        ServiceSpec(settings=settings, title="kit test", routers=[shop], topic=topics.AUDIT, error_map=ERROR_MAP)
    )
    transport = httpx.ASGITransport(app=app)  # an exception escaping the app fails the test
    async with httpx.AsyncClient(transport=transport, base_url="http://kit.test") as http:
        yield http
    await app.state.kit.database.dispose()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with app_on(ServiceSettings().database_url) as http:
        yield http


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["title"] == title_for(status)
    return body


def test_every_problem_class_is_titled_by_its_status() -> None:
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        PreconditionRequired,
        Unprocessable,
        ServiceUnavailable,
    ):
        problem = cls()
        assert problem.title == TITLES[problem.status], cls
        assert problem.detail == problem.title  # no detail given: the title says it
    assert PreconditionFailed().code == "version_mismatch"


def test_a_status_given_explicitly_brings_its_own_title() -> None:
    assert Problem("x", code="c", status=422).title == "The request is not valid"
    assert Problem("x", code="c", status=500).title == "Internal error"
    assert BadRequest("x", status=404).title == "Not found"
    assert len(set(TITLES.values())) == len(TITLES)  # a title names one status
    assert title_for(418) == "I'm a Teapot"  # not ours: the standard reason phrase
    assert title_for(599) == "Error"


def test_the_most_specific_class_in_the_map_decides() -> None:
    assert status_of(ERROR_MAP, LastOneSoldOut("x")) == 409
    assert status_of(ERROR_MAP, ItemMissing("x")) == 404
    assert status_of(ERROR_MAP, ShopError("x")) == 422
    assert status_of(ERROR_MAP, ValueError("x")) is None


def test_a_map_the_kit_cannot_render_is_refused_at_start_up() -> None:
    with pytest.raises(TypeError, match="ValueError"):
        check_error_map({ValueError: 422})
    with pytest.raises(ValueError, match="not an error status"):
        check_error_map({ShopError: 200})
    with pytest.raises(TypeError):
        create_service_app(ServiceSpec(settings=ServiceSettings(), title="x", error_map={KeyError: 404}))


async def test_domain_errors_become_problems_by_the_map(client: httpx.AsyncClient) -> None:
    missing = _problem(await client.get("/api/v1/raise/missing"), 404, "item_missing")
    assert (missing["detail"], missing["item"]) == ("No such item.", "x")
    _problem(await client.get("/api/v1/raise/rule"), 422, "shop_error")
    sold = _problem(await client.post("/api/v1/orders", json={"quantity": 101}), 409, "last_one_sold_out")
    # details never overwrite the problem's own members
    assert (sold["item"], sold["type_value"], sold["status_value"]) == ("phôi THPT", "mine", 1)
    assert sold["type"].endswith("/last_one_sold_out")
    down = await client.get("/api/v1/raise/down")
    _problem(down, 503, "warehouse_down")
    assert down.headers["retry-after"] == "5"


async def test_a_500_never_explains_itself(client: httpx.AsyncClient) -> None:
    for name in ("corrupt", "bug"):
        body = _problem(await client.get(f"/api/v1/raise/{name}"), 500, "internal_error")
        assert body["detail"] == "Something went wrong on our side. It has been logged."


async def test_a_database_out_of_reach_is_a_503_to_retry_not_a_500() -> None:
    async with app_on(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/shop") as client:  # nothing listens
        refused = await client.get("/api/v1/stock/count")
    _problem(refused, 503, "database_unavailable")
    assert refused.headers["retry-after"] == "5"


async def test_a_database_session_ended_under_a_statement_is_a_503_and_the_next_call_reconnects(
    make_database: Any,
) -> None:
    """What a PostgreSQL restart does to the statements running at that moment (tests/faults does the restart)."""
    async with app_on(asyncpg_url(make_database("shop"))) as client:
        assert (await client.get("/api/v1/stock/count")).json() == {"answer": 1}
        _problem(await client.get("/api/v1/stock/cut-off"), 503, "database_unavailable")
        assert (await client.get("/api/v1/stock/count")).json() == {"answer": 1}


async def test_the_kits_own_answers_are_titled_by_their_status(client: httpx.AsyncClient) -> None:
    invalid = _problem(await client.post("/api/v1/orders", json={"quantity": "many"}), 422, "validation_failed")
    assert invalid["errors"][0]["loc"] == ["body", "quantity"]
    _problem(await client.get("/api/v1/nothing-here"), 404, "not_found")
    _problem(await client.delete("/api/v1/orders"), 405, "method_not_allowed")
    _problem(await client.get("/api/v1/me"), 401, "missing_token")
