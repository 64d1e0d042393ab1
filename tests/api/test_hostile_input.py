"""Hostile input never becomes a 500, and a refusal changes nothing: for every write operation of every
service — read from the service's own OpenAPI, not listed here — Hypothesis sends valid-looking bodies
whose strings may be random unicode (NUL and other controls, lone surrogates, right-to-left marks, 10 KB
strings), whose integers may overflow and whose dates may sit at the calendar's edges, and hostile path
parameters too. Every answer is 2xx or 4xx; on a 4xx, no table of the service (its outbox included) has
gained or lost a row.

Here rather than in each service: the operations come from each app's OpenAPI like the conformance test's
beside it, and the rules under test are the kit's, which every service shares. It runs on the rolled-back
tier (`api_app`): one transaction per service, no bus; the number of examples is bounded so that a service
takes seconds."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phoi_local.testkit import api_role
from sqlalchemy import text

EXAMPLES_PER_OPERATION = 40
WRITE_METHODS = ("post", "put", "patch", "delete")

# What a hostile client types: controls (C0, C1, DEL), lone surrogates, bidirectional marks and overrides,
# a byte-order mark, line and paragraph separators.
NASTY = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\ud800",
    "\udfff",
    "\u202e",
    "\u200f",
    "\ufeff",
    "\u2028",
    "\r\n",
    "\t",
]
HUGE_INTEGERS = [2**53, 2**63, 2**70, -(2**70), 99999999999999999999]
EDGE_DAYS = ["0001-01-01", "9999-12-31"]

nasty_text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.characters(codec=None, exclude_categories=())), min_size=1, max_size=24
).map("".join)
# 10 KB: clean text (Vietnamese, a right-to-left override) that a service may store, or with NUL in it
long_text = st.sampled_from(["Phôi\u202e", "Phôi\x00"]).flatmap(
    lambda piece: st.integers(1, 10).map(lambda kb: (piece * 2000)[: kb * 1000])
)
hostile_text = st.one_of(nasty_text, long_text, st.text(st.characters(codec=None, exclude_categories=()), min_size=1))
# what a person types: letters, Vietnamese ones included, no controls
typed = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))

Json = dict[str, Any]


def resolve(document: Json, schema: Json) -> Json:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def string_for(schema: Json) -> st.SearchStrategy[str]:
    """A string that looks valid for the schema: from its enum, format or pattern, else typed text."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("format")
    if kind == "uuid":
        return st.uuids().map(str)
    if kind in ("date", "date-time"):
        suffix = "T08:00:00+07:00" if kind == "date-time" else ""
        return st.dates().filter(lambda d: 2000 <= d.year <= 2099).map(lambda day: f"{day}{suffix}")
    pattern = schema.get("pattern")
    if pattern and "[\\s\\S]" not in pattern:
        try:
            return st.from_regex(re.compile(pattern), fullmatch=True, alphabet=typed)
        except (re.error, ValueError):
            pass
    shortest = max(1, schema.get("minLength", 1))
    longest = max(shortest, min(schema.get("maxLength", 40), 40))
    return st.text("abcdeghiklmnopqrstuvxyĐđăâêôơưạảấầẩẫậ-", min_size=shortest, max_size=longest)


def value_for(document: Json, schema: Json) -> st.SearchStrategy[Any]:
    """A valid-looking value for a JSON schema (every property of an object given)."""
    schema = resolve(document, schema)
    alternatives: list[Json] = schema.get("anyOf") or schema.get("oneOf") or []
    branches = [b for b in alternatives if b.get("type") != "null"]
    if branches:
        return st.one_of([value_for(document, branch) for branch in branches])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return st.fixed_dictionaries({name: value_for(document, sub) for name, sub in properties.items()})
    if kind == "array":
        items = value_for(document, schema.get("items", {}))
        return st.lists(items, min_size=max(1, schema.get("minItems", 0)), max_size=2)
    if kind == "integer":
        low = int(schema.get("minimum", 0))
        return st.integers(low, min(int(schema.get("maximum", low + 10_000)), low + 10_000))
    if kind == "number":
        return st.floats(0, 100, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    return string_for(schema)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the strings and integers of a JSON value are."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in leaves(item, (*path, index))]
    return [path] if isinstance(value, str | int) and not isinstance(value, bool) else []


def hostile_for(value: Any) -> st.SearchStrategy[Any]:
    """What replaces a valid-looking leaf: an overflowing integer, a date at the calendar's edge, or text."""
    if isinstance(value, int):
        return st.sampled_from(HUGE_INTEGERS)
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return st.one_of(st.sampled_from(EDGE_DAYS).map(lambda day: day + value[10:]), hostile_text)
    return hostile_text


def poisoned(data: st.DataObject, value: Any) -> Any:
    """`value` with one leaf (drawn, or none: the valid-looking body alone) made hostile."""
    spots = leaves(value)
    spot = data.draw(st.one_of(st.none(), st.sampled_from(spots)) if spots else st.none())
    if spot is None:
        return value
    if not spot:
        return data.draw(hostile_for(value))
    parent = value
    for key in spot[:-1]:
        parent = parent[key]
    parent[spot[-1]] = data.draw(hostile_for(parent[spot[-1]]))
    return value


@dataclass
class Operation:
    method: str
    path: str
    parameters: list[Json]
    body: Json | None  # the JSON body's schema

    def request(self, document: Json, data: st.DataObject) -> tuple[str, bytes | None]:
        """A path with its parameters and a body: valid-looking, with one of them hostile (or none)."""
        values = {
            p["name"]: data.draw(string_for(resolve(document, p.get("schema", {}))))
            for p in self.parameters
            if p["in"] == "path"
        }
        values = poisoned(data, values)
        path = self.path.format(
            **{k: quote(str(v).encode("utf-8", "surrogatepass"), safe="") for k, v in values.items()}
        )
        if self.body is None:
            return path, None
        body = poisoned(data, data.draw(value_for(document, self.body)))
        return path, json.dumps(body).encode()


def write_operations(document: Json) -> list[Operation]:
    found = []
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            if method not in WRITE_METHODS:
                continue
            body = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            found.append(Operation(method.upper(), path, spec.get("parameters", []), body))
    return found


async def row_counts(svc: Any) -> dict[str, int]:
    """Rows in every table of the service's database (the outbox included), in the test's transaction."""
    async with svc.runtime.database.session() as session:
        tables = (
            await session.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
                )
            )
        ).scalars()
        names = list(tables)
        counts = ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
        row = (await session.execute(text(f"SELECT {counts}"))).one()
    return dict(zip(names, row, strict=True))


Call = Callable[[Coroutine[Any, Any, Any]], Any]


def check(operation: Operation, document: Json, svc: Any, headers: dict[str, str], call: Call) -> None:
    """Hypothesis, in a worker thread: each request runs on the test's event loop (`call`)."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,  # the same cases on every run: a failure is the code's, never the draw's
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def never_a_500(data: st.DataObject) -> None:
        path, body = operation.request(document, data)
        before = call(row_counts(svc))
        sent = {**headers, "If-Match": '"1"', "Content-Type": "application/json"}
        response: httpx.Response = call(svc.client.request(operation.method, path, content=body, headers=sent))
        where = f"{operation.method} {path} {(body or b'')[:300]!r}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", where
            assert call(row_counts(svc)) == before, f"{where}: refused with {response.status_code}, yet rows changed"

    never_a_500()


@pytest.mark.parametrize("name", ["identity", "requests", "inventory", "audit"])
async def test_hostile_input_to_any_write_operation_is_refused_and_changes_nothing(
    name: str, api_app: Any, tokens: Callable[..., dict[str, str]]
) -> None:
    async with api_app(name) as svc:
        document = svc.app.openapi()
        operations = write_operations(document)
        loop = asyncio.get_running_loop()

        def call(coroutine: Coroutine[Any, Any, Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

        for operation in operations:
            headers = tokens(*api_role(name, operation.method, operation.path))
            await asyncio.to_thread(check, operation, document, svc, headers, call)
    # audit takes no writes through its API: the walk finds none, and says so
    assert bool(operations) == (name != "audit")
