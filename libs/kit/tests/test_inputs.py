"""Hostile input never becomes a 500, in any kit app: text with control characters or lone surrogates,
integers beyond what PostgreSQL holds, dates at the calendar's edges are refused as 422
`validation_failed` naming the field, in bodies, queries and paths alike, and the OpenAPI says so. An
exception nothing handled is a 500 problem with the correlation id, and the connection stays open.

The app is the kit's real one (no lifespan: none of these answers needs the database or a token); the
last-resort test serves it with uvicorn, so a dropped connection would show."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Query
from phoi_kit.app import ServiceSpec, create_service_app
from phoi_kit.inputs import INTEGER_MAX, MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, MultiLine, RequestBody
from phoi_kit.params import IsoDate, IsoDateTime
from phoi_kit.settings import ServiceSettings
from phoi_local.testkit import wait_for
from pydantic import BaseModel, Field

notes = APIRouter(prefix="/api/v1")


class Line(RequestBody):
    label: str
    remark: Annotated[str, MultiLine()] | None = None


class NoteIn(RequestBody):
    title: str
    body: Annotated[str, MultiLine()]
    tags: list[str] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    count: int = 0
    sequence: Annotated[int, Field(ge=1, le=2**63 - 1)] = 1  # wider than the kit's: the kit's bound states it
    due: IsoDate | None = None
    email: Annotated[str, Field(pattern=r"^\S+@\S+$")] | None = None  # a pattern that lets controls through


@notes.post("/notes")
async def add_note(note: NoteIn) -> dict[str, Any]:
    return note.model_dump(mode="json")


@notes.get("/notes/{number}")
async def note_by_number(number: int, q: str | None = None, page: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
    return {"number": number, "q": q, "page": page}


@notes.get("/period")
async def period(start: IsoDate, at: IsoDateTime | None = None) -> dict[str, str]:
    return {"start": start.isoformat()}


@notes.get("/broken")
async def broken() -> None:
    raise RuntimeError("internal detail that must not leak")


def kit_app() -> FastAPI:
    settings = ServiceSettings(service_name="kittest", keycloak_url="http://127.0.0.1:9")
    return create_service_app(ServiceSpec(settings=settings, title="kit test", routers=[notes]))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions stays on: an exception escaping the app fails the test
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kit_app()), base_url="http://kit.test") as http:
        yield http


def refused(response: httpx.Response, loc: list[str | int], kind: str = "invalid_characters") -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(loc, kind)], body


NOTE = {"title": "Phôi THPT", "body": "Dòng một\r\n\tDòng hai"}


async def test_control_characters_in_a_body_are_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/notes", json=NOTE)).status_code == 200  # line breaks where they belong
    refused(await client.post("/api/v1/notes", json={**NOTE, "title": "a\x00b"}), ["body", "title"])
    refused(await client.post("/api/v1/notes", json={**NOTE, "title": "two\nlines"}), ["body", "title"])
    refused(await client.post("/api/v1/notes", json={**NOTE, "body": "bell\x07"}), ["body", "body"])
    refused(await client.post("/api/v1/notes", json={**NOTE, "body": "C1 \x85"}), ["body", "body"])
    refused(await client.post("/api/v1/notes", json={**NOTE, "tags": ["ok", "\x1b[31m"]}), ["body", "tags"])
    refused(await client.post("/api/v1/notes", json={**NOTE, "email": "a\x01@b"}), ["body", "email"])
    nested = {**NOTE, "lines": [{"label": "x"}, {"label": "y", "remark": "NUL \x00"}]}
    refused(await client.post("/api/v1/notes", json=nested), ["body", "lines", 1, "remark"])
    multi_line_nested = {**NOTE, "lines": [{"label": "x", "remark": "một\nhai"}]}
    assert (await client.post("/api/v1/notes", json=multi_line_nested)).status_code == 200


async def test_a_lone_surrogate_is_refused_not_stored(client: httpx.AsyncClient) -> None:
    # valid JSON (an escape), but no UTF-8 can carry it
    raw = json.dumps({**NOTE, "title": "x"}).replace('"x"', '"\\ud800"')
    response = await client.post("/api/v1/notes", content=raw, headers={"content-type": "application/json"})
    refused(response, ["body", "title"])


async def test_right_to_left_marks_and_long_text_are_text_like_any_other(client: httpx.AsyncClient) -> None:
    title = "\u202eabc\u200f" + "ư" * 10_000
    response = await client.post("/api/v1/notes", json={**NOTE, "title": title})
    assert response.status_code == 200
    assert response.json()["title"] == title


async def test_integers_beyond_what_postgresql_holds_are_refused(client: httpx.AsyncClient) -> None:
    too_big = await client.post("/api/v1/notes", json={**NOTE, "count": 2**70})
    refused(too_big, ["body", "count"], "less_than_equal")
    too_small = await client.post("/api/v1/notes", json={**NOTE, "count": -(2**70)})
    refused(too_small, ["body", "count"], "greater_than_equal")
    assert (await client.post("/api/v1/notes", json={**NOTE, "count": INTEGER_MAX})).status_code == 200
    beyond = await client.post("/api/v1/notes", json={**NOTE, "sequence": INTEGER_MAX + 1})
    refused(beyond, ["body", "sequence"], "less_than_equal")
    refused(await client.get("/api/v1/notes/99999999999999999999"), ["path", "number"], "less_than_equal")
    # a parameter declaring only a minimum gets the kit's maximum
    refused(await client.get("/api/v1/notes/1", params={"page": 2**70}), ["query", "page"], "less_than_equal")
    assert (await client.get("/api/v1/notes/1", params={"page": 3})).json() == {"number": 1, "q": None, "page": 3}


async def test_query_and_path_text_follow_the_same_rules(client: httpx.AsyncClient) -> None:
    refused(await client.get("/api/v1/notes/1", params={"q": "a\x00b"}), ["query", "q"])
    refused(await client.get("/api/v1/notes/1", params={"q": "tab\there"}), ["query", "q"])
    refused(await client.get("/api/v1/notes/1%00"), ["path", "number"])
    assert (await client.get("/api/v1/notes/1", params={"q": "Hà Nội"})).json()["q"] == "Hà Nội"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"])
async def test_dates_at_the_calendars_edges_are_refused(client: httpx.AsyncClient, day: str) -> None:
    refused(await client.get("/api/v1/period", params={"start": day}), ["query", "start"], "date_out_of_range")
    at = f"{day}T00:00:00+14:00"
    instant = await client.get("/api/v1/period", params={"start": "2025-01-01", "at": at})
    refused(instant, ["query", "at"], "date_out_of_range")
    refused(await client.post("/api/v1/notes", json={**NOTE, "due": day}), ["body", "due"], "date_out_of_range")


async def test_the_openapi_states_the_rules(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    note = document["components"]["schemas"]["NoteIn"]["properties"]
    assert note["title"]["pattern"] == SINGLE_LINE_PATTERN
    assert note["body"]["pattern"] == MULTI_LINE_PATTERN
    assert note["tags"]["items"]["pattern"] == SINGLE_LINE_PATTERN
    assert (note["count"]["minimum"], note["count"]["maximum"]) == (-INTEGER_MAX, INTEGER_MAX)
    assert (note["sequence"]["minimum"], note["sequence"]["maximum"]) == (1, INTEGER_MAX)
    assert note["due"]["anyOf"][0]["pattern"] == "^20[0-9]{2}-"
    email = note["email"]["anyOf"][0]
    assert (email["pattern"], email["allOf"]) == (r"^\S+@\S+$", [{"pattern": SINGLE_LINE_PATTERN}])  # both apply
    line = document["components"]["schemas"]["Line"]["properties"]
    assert line["remark"]["anyOf"][0]["pattern"] == MULTI_LINE_PATTERN
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/notes/{number}"]["get"]["parameters"]}
    assert parameters["number"]["maximum"] == INTEGER_MAX
    assert (parameters["page"]["minimum"], parameters["page"]["maximum"]) == (1, INTEGER_MAX)
    assert parameters["q"]["anyOf"][0]["pattern"] == SINGLE_LINE_PATTERN


class Loose(BaseModel):
    text: str


loose = APIRouter()


@loose.post("/loose")
async def take_loose(body: Loose | None = None) -> None:
    return None


def test_a_body_model_outside_the_rules_is_refused_at_start_up() -> None:
    settings = ServiceSettings(service_name="kittest", keycloak_url="http://127.0.0.1:9")
    with pytest.raises(TypeError, match="RequestBody"):
        create_service_app(ServiceSpec(settings=settings, title="x", routers=[loose]))


async def test_an_unexpected_error_is_a_problem_with_the_correlation_id_and_the_connection_stays() -> None:
    config = uvicorn.Config(kit_app(), host="127.0.0.1", port=0, lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    try:
        await wait_for(started, timeout=10, what="uvicorn listening")
        port = server.servers[0].sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as http:
            first = await http.get("/api/v1/broken", headers={"X-Correlation-ID": "ref-1"})
            second = await http.get("/api/v1/notes/7")
            streams = [r.extensions["network_stream"].get_extra_info("socket") for r in (first, second)]
            local_ports = {stream.getsockname()[1] for stream in streams}
    finally:
        server.should_exit = True
        await serving
    assert first.status_code == 500
    assert first.headers["content-type"] == "application/problem+json"
    body = first.json()
    assert (body["code"], body["correlation_id"]) == ("internal_error", "ref-1")
    assert first.headers["x-correlation-id"] == "ref-1"
    assert "internal detail" not in first.text
    assert second.status_code == 200
    assert len(local_ports) == 1  # the second request went over the same connection
