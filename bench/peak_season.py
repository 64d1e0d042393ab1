"""Peak season: the whole country's graduation week, compressed, against the system as `make run` starts it.

63 provincial departments and 400 schools (``PHOI_BENCH_PEAK_SCALE`` scales both) each create a request with
its signed letter and submit it; QLCL officers approve as submissions arrive; each unit waits until its
serials show on the request (the saga: approval → inventory allocates → requests learns the ranges), confirms
receipt, waits until inventory holds the blanks at the unit, and records the first tenth as used; auditors
read the audit log meanwhile. ``CONCURRENCY`` units are at work at once (a province does not submit in one
second either), officers and auditors are separate workers.

Reported: throughput (workflows and API calls per second), p50/p95/p99 per API call and for the saga
(the approval's answer → the ranges visible on the request, polled every ``POLL_SECONDS``), CPU seconds of
each service process during the phase and per call it served, errors (must be 0: any answer other than the
expected one), and two baselines from the same run: a minimal FastAPI endpoint (the requests service's
``GET /healthz``, same concurrency, same count as the slowest call's samples) and raw produce → consume on the
same broker (``outbox_latency``'s baseline).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from phoi_local.system import FORM_TYPE, Stack
from phoi_local.testing import IssuedToken, token_issuer

from bench.infra import latency_summary, whole_system
from bench.outbox_latency import raw_produce_consume

SCALE = float(os.environ.get("PHOI_BENCH_PEAK_SCALE", "1"))
DEPARTMENTS = max(1, round(63 * SCALE))
SCHOOLS = max(1, round(400 * SCALE))
CONCURRENCY = int(os.environ.get("PHOI_BENCH_PEAK_CONCURRENCY", "24"))
OFFICERS = 4
AUDITORS = 2
POLL_SECONDS = 0.1  # how often a unit looks again (its page refreshes; the figure's resolution)
PHASE_LIMIT_SECONDS = 240.0  # tokens live 300 s; a phase that cannot finish by then is a result in itself
SAGA_TIMEOUT_SECONDS = 60.0
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SERVICES = ("identity", "requests", "inventory", "audit")


@dataclass
class Calls:
    """Every timed call of the run: latency by operation, calls by service, and what went wrong."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    served: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    async def send(
        self, client: httpx.AsyncClient, operation: str, method: str, path: str, expect: int, **kw: Any
    ) -> httpx.Response:
        start = time.perf_counter()
        response = await client.request(method, path, **kw)
        self.samples.setdefault(operation, []).append((time.perf_counter() - start) * 1000)
        self.served[client.headers["x-service"]] += 1
        if response.status_code != expect:
            self.errors.append(f"{operation}: {response.status_code} {response.text[:200]}")
            raise Failed(operation)
        return response

    async def act(
        self, client: httpx.AsyncClient, operation: str, path: str, who: dict[str, str], etag: str, **kw: Any
    ) -> httpx.Response:
        """A request's workflow step: POST to `path` with `If-Match` (the version the caller read)."""
        return await self.send(client, operation, "POST", path, 200, headers={**who, "If-Match": etag}, **kw)


class Failed(Exception):
    """A call answered something else than expected (counted in `Calls.errors`); the unit's flow stops."""


@dataclass
class World:
    stack: Stack
    clients: dict[str, httpx.AsyncClient]
    units: list[IssuedToken]
    officers: list[dict[str, str]]
    auditors: list[dict[str, str]]
    calls: Calls = field(default_factory=Calls)
    approvals: asyncio.Queue[tuple[str, asyncio.Future[float]]] = field(default_factory=asyncio.Queue)
    saga_ms: list[float] = field(default_factory=list)
    completed: int = 0


def _quantity(code: str) -> int:
    """A department orders for its province's schools, a school for its own graduates."""
    return random.Random(code).randint(200, 400) if code.startswith("SGD") else random.Random(code).randint(40, 120)


async def _request(world: World, token: IssuedToken) -> dict[str, Any]:
    who = token.headers
    requests, calls = world.clients["requests"], world.calls
    quantity = _quantity(token.unit_code or "")
    created = await calls.send(
        requests,
        "create_request",
        "POST",
        "/api/v1/requests",
        201,
        headers=who,
        json={
            "academic_year": "2025-2026",
            "exam_session": "Kỳ thi tốt nghiệp THPT năm 2026",
            "lines": [{"form_type_code": FORM_TYPE, "quantity": quantity, "expected_graduates": quantity}],
        },
    )
    request: dict[str, Any] = created.json()
    path = f"/api/v1/requests/{request['id']}"
    attached = await calls.send(
        requests,
        "attach_letter",
        "POST",
        f"{path}/attachments",
        201,
        headers={**who, "If-Match": f'"{request["version"]}"'},
        files={"file": ("cong-van-de-nghi.pdf", PDF, "application/pdf")},
    )
    submitted = await calls.act(requests, "submit", f"{path}/submit", who, attached.headers["etag"])
    result: dict[str, Any] = submitted.json()
    return result


async def _until(world: World, check: Any, what: str) -> Any:
    deadline = time.monotonic() + SAGA_TIMEOUT_SECONDS
    while (found := await check()) is None:
        if time.monotonic() > deadline:
            world.calls.errors.append(f"{what}: not within {SAGA_TIMEOUT_SECONDS:.0f} s")
            raise Failed(what)
        await asyncio.sleep(POLL_SECONDS)  # a unit's page looking again, not synchronisation
    return found


async def _unit_flow(world: World, token: IssuedToken, gate: asyncio.Semaphore) -> None:
    async with gate:
        who, calls = token.headers, world.calls
        requests, inventory = world.clients["requests"], world.clients["inventory"]
        with contextlib.suppress(Failed):
            request = await _request(world, token)
            approved: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            await world.approvals.put((request["id"], approved))
            approved_at = await approved
            path = f"/api/v1/requests/{request['id']}"

            async def allocated() -> dict[str, Any] | None:
                body: dict[str, Any] = (await calls.send(requests, "get_request", "GET", path, 200, headers=who)).json()
                return body if body["lines"][0]["allocated_ranges"] else None

            current = await _until(world, allocated, "ranges on the request")
            world.saga_ms.append((time.perf_counter() - approved_at) * 1000)
            receipt = {"comment": "Đã nhận đủ"}
            await calls.act(
                requests, "confirm_receipt", f"{path}/confirm-receipt", who, f'"{current["version"]}"', json=receipt
            )
            first = current["lines"][0]["allocated_ranges"][0]["first"]

            async def at_unit() -> bool | None:
                serial = f"/api/v1/serials/{FORM_TYPE}/{first}"
                body = (await calls.send(inventory, "get_serial", "GET", serial, 200, headers=who)).json()
                return True if body["state"] == "at_unit" else None

            await _until(world, at_unit, "blanks at the unit")
            used = max(1, current["lines"][0]["approved_quantity"] // 10)
            await calls.send(
                inventory,
                "record_use",
                "POST",
                "/api/v1/movements",
                201,
                headers=who,
                json={
                    "kind": "use",
                    "form_type": FORM_TYPE,
                    "document_ref": f"QĐ công nhận tốt nghiệp {uuid.uuid4().hex[:6]}",
                    "items": [{"first": first, "last": first + used - 1, "register_entry_first": 1}],
                },
            )
            world.completed += 1


async def _officer(world: World, who: dict[str, str]) -> None:
    requests, calls = world.clients["requests"], world.calls
    while True:
        request_id, approved = await world.approvals.get()
        path = f"/api/v1/requests/{request_id}"
        try:
            current = (await calls.send(requests, "review_request", "GET", path, 200, headers=who)).json()
            decision = {"comment": "Duyệt theo số học sinh dự kiến tốt nghiệp"}
            await calls.act(requests, "approve", f"{path}/approve", who, f'"{current["version"]}"', json=decision)
            approved.set_result(time.perf_counter())
        except Failed as failed:
            approved.set_exception(failed)


async def _auditor(world: World, who: dict[str, str]) -> None:
    while True:
        await world.calls.send(
            world.clients["audit"], "read_audit_log", "GET", "/api/v1/entries", 200, headers=who, params={"limit": 50}
        )
        await asyncio.sleep(1.0)  # an auditor reads a page, then the next: load shaping, not synchronisation


def _cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU time of each service process so far (from /proc; Linux only)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name in SERVICES:
        process = stack.services[name].process
        assert process is not None
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    return used


async def _healthz_baseline(client: httpx.AsyncClient, count: int) -> dict[str, float]:
    """The same number of calls at the same concurrency against a minimal FastAPI endpoint."""
    samples: list[float] = []
    pending = iter(range(count))

    async def worker() -> None:
        for _ in pending:
            start = time.perf_counter()
            response = await client.get("/healthz")
            samples.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latency_summary(samples)


async def _season(world: World) -> dict[str, Any]:
    gate = asyncio.Semaphore(CONCURRENCY)
    workers = [asyncio.create_task(_officer(world, who)) for who in world.officers]
    workers += [asyncio.create_task(_auditor(world, who)) for who in world.auditors]
    cpu_before = _cpu_seconds(world.stack)
    start = time.perf_counter()
    flows = asyncio.gather(*(_unit_flow(world, token, gate) for token in world.units))
    try:
        await asyncio.wait_for(flows, timeout=PHASE_LIMIT_SECONDS)
    except TimeoutError:
        world.calls.errors.append(f"the season did not end within {PHASE_LIMIT_SECONDS:.0f} s")
    seconds = time.perf_counter() - start
    cpu_after = _cpu_seconds(world.stack)
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    calls = world.calls
    cpu = {
        name: {
            "cpu_seconds": round(cpu_after[name] - cpu_before[name], 1),
            "calls_served": calls.served[name],
            "cpu_ms_per_call": round(1000 * (cpu_after[name] - cpu_before[name]) / calls.served[name], 1)
            if calls.served[name]
            else None,
        }
        for name in SERVICES
    }
    total_calls = sum(len(v) for v in calls.samples.values())
    return {
        "seconds": round(seconds, 1),
        "workflows_completed": world.completed,
        "workflows_per_s": round(world.completed / seconds, 2),
        "calls": total_calls,
        "calls_per_s": round(total_calls / seconds, 1),
        "per_call": {name: latency_summary(samples) for name, samples in sorted(calls.samples.items())},
        "saga_approval_to_ranges": latency_summary(world.saga_ms),
        "cpu": cpu,
        "errors": len(calls.errors),
        "first_errors": calls.errors[:5],
    }


def _tokens(stack: Stack) -> tuple[list[IssuedToken], list[dict[str, str]], list[dict[str, str]]]:
    issue = token_issuer(stack.keycloak)
    codes = [f"SGD{n:02d}" for n in range(DEPARTMENTS)] + [f"THPT{n:03d}" for n in range(SCHOOLS)]
    units = [issue("unit_account", code) for code in codes]
    officers = [issue("qlcl_officer").headers for _ in range(OFFICERS)]
    auditors = [issue("auditor").headers for _ in range(AUDITORS)]
    return units, officers, auditors


@dataclass
class Prepared:
    stack: Stack
    bootstrap: str
    tokens: tuple[list[IssuedToken], list[dict[str, str]], list[dict[str, str]]]


@contextlib.contextmanager
def _prepared() -> Iterator[Prepared]:
    with whole_system() as (stack, infra):
        stack.print_batch((DEPARTMENTS + SCHOOLS) * 400)  # more than every request together: nobody waits
        yield Prepared(stack, infra.broker.bootstrap, _tokens(stack))


async def run() -> dict[str, Any]:
    exits = contextlib.ExitStack()
    # In a thread: the stack's start-up runs its own event loop, which cannot run inside this one.
    prepared = await asyncio.to_thread(exits.enter_context, _prepared())
    try:
        limits = httpx.Limits(max_connections=CONCURRENCY + OFFICERS + AUDITORS)
        async with contextlib.AsyncExitStack() as clients:
            world = World(
                prepared.stack,
                {
                    name: await clients.enter_async_context(
                        httpx.AsyncClient(
                            base_url=prepared.stack.url(name), timeout=60, limits=limits, headers={"x-service": name}
                        )
                    )
                    for name in SERVICES
                },
                *prepared.tokens,
            )
            season = await _season(world)
            slowest = max(season["per_call"].values(), key=lambda s: s.get("count", 0))
            healthz = await _healthz_baseline(world.clients["requests"], int(slowest["count"]))
        broker = await raw_produce_consume(prepared.bootstrap)
    finally:
        await asyncio.to_thread(exits.close)
    ratios = {
        f"{name}_p50_vs_healthz": round(figures["p50_ms"] / healthz["p50_ms"], 1)
        for name, figures in season["per_call"].items()
        if "p50_ms" in figures
    }
    if "p50_ms" in season["saga_approval_to_ranges"]:
        ratios["saga_p50_vs_raw_produce_consume"] = round(
            season["saga_approval_to_ranges"]["p50_ms"] / broker["latency_ms"]["p50"], 1
        )
    return {
        "units": {"departments": DEPARTMENTS, "schools": SCHOOLS},
        "concurrency": CONCURRENCY,
        "officers": OFFICERS,
        "auditors": AUDITORS,
        "cpu_count": os.cpu_count(),
        **season,
        "baseline_healthz": healthz,
        "baseline_raw_produce_consume": broker,
        "ratios": ratios,
    }
