"""The portal under signed-in load: N sessions browsing dashboard, request list and request detail, beside the
portal's own ``GET /healthz`` with the same concurrency in the same run.

The whole system runs as `make run` starts it (``phoi_local.system.running_system``: identity, requests,
inventory, audit and the portal as processes, the Keycloak stand-in, PostgreSQL, the broker). A few units each
get a unit account; each account signs in through portal → stand-in → portal (the first time with the
password change) once per session it will hold, and makes requests through the portal's form (half of them
submitted). Then ``SESSIONS`` concurrent sessions — each its own cookie jar, so its own server-side session —
each browse dashboard, list and one of their unit's requests for ``ROUNDS`` rounds (or until ``PHASE_SECONDS``),
after one unmeasured warm-up round. The baseline is the same sessions sending ``GET /healthz`` (no session, no
upstream call) as many times. What a page costs on top: the session lookup in PostgreSQL, the calls to the
services (dashboard: 4, list: 1, detail: 3) and the template.

The machine is small (2 cores, shared by the client, the portal, the services and PostgreSQL), so N stays modest
and both phases are bounded; ``PHOI_BENCH_PORTAL_SESSIONS`` sets N.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from phoi_local.keycloak.testing import new_password
from phoi_local.system import Stack, portal_client, portal_request

from bench.infra import latency_summary, whole_system

SESSIONS = int(os.environ.get("PHOI_BENCH_PORTAL_SESSIONS", "20"))
UNITS = 4
REQUESTS_PER_UNIT = 6
ROUNDS = 10  # per session: dashboard, list and a detail each round
PHASE_SECONDS = 20.0  # either phase stops here even if the rounds are not done (a busy machine)
PAGES = ("dashboard", "request_list", "request_detail")


@dataclass
class Browser:
    """One signed-in session: its cookies (the portal's session among them) and its unit's requests."""

    cookies: httpx.Cookies
    request_ids: list[str]


@dataclass
class Seeded:
    portal: str
    browsers: list[Browser]


def _sign_in_and_seed(stack: Stack) -> list[Browser]:
    """UNITS unit accounts with REQUESTS_PER_UNIT requests each; SESSIONS sessions spread over them."""
    accounts: list[tuple[str, str, list[str]]] = []
    browsers: list[Browser] = []
    for _ in range(UNITS):
        _code, username, temporary = stack.new_unit_account()
        password = new_password()
        with contextlib.closing(portal_client(stack, username, temporary, password)) as first:
            ids = [portal_request(first, 100 + 10 * n, submit=n % 2 == 0) for n in range(REQUESTS_PER_UNIT)]
        accounts.append((username, password, ids))
    for n in range(SESSIONS):
        username, password, ids = accounts[n % UNITS]
        with contextlib.closing(portal_client(stack, username, password)) as client:
            browsers.append(Browser(httpx.Cookies(client.cookies), ids))
    return browsers


@contextlib.contextmanager
def _seeded_portal() -> Iterator[Seeded]:
    with whole_system() as (stack, _infra):
        yield Seeded(stack.portal, _sign_in_and_seed(stack))


def _paths(browser: Browser, round_no: int) -> list[tuple[str, str]]:
    detail = browser.request_ids[round_no % len(browser.request_ids)]
    return [("dashboard", "/dashboard"), ("request_list", "/requests"), ("request_detail", f"/requests/{detail}")]


def _healthz(_browser: Browser, _round_no: int) -> list[tuple[str, str]]:
    return [("healthz", "/healthz")] * len(PAGES)


async def _get(client: httpx.AsyncClient, path: str) -> float:
    start = time.perf_counter()
    response = await client.get(path)
    elapsed_ms = (time.perf_counter() - start) * 1000
    # A redirect would be the sign-in page: the session was lost, and the figure would mean nothing.
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed_ms


async def _phase(
    clients: list[tuple[httpx.AsyncClient, Browser]], plan: Any, rounds: int, samples: dict[str, list[float]]
) -> float:
    """Every session runs `plan` for `rounds` rounds at once; returns the wall time in seconds."""
    deadline = time.perf_counter() + PHASE_SECONDS

    async def browse(client: httpx.AsyncClient, browser: Browser) -> None:
        for round_no in range(rounds):
            if time.perf_counter() > deadline:
                return
            for name, path in plan(browser, round_no):
                samples.setdefault(name, []).append(await _get(client, path))

    start = time.perf_counter()
    await asyncio.gather(*(browse(client, browser) for client, browser in clients))
    return time.perf_counter() - start


def _summary(samples_ms: list[float], seconds: float) -> dict[str, Any]:
    return {**latency_summary(samples_ms), "rps": round(len(samples_ms) / seconds, 1)}


async def _measure(seeded: Seeded) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as exits:
        clients = []
        for browser in seeded.browsers:
            client = httpx.AsyncClient(base_url=seeded.portal, cookies=browser.cookies, timeout=60)
            clients.append((await exits.enter_async_context(client), browser))
        await _phase(clients, _paths, 1, {})  # warm-up: connections, templates, first queries
        baseline: dict[str, list[float]] = {}
        baseline_seconds = await _phase(clients, _healthz, ROUNDS, baseline)
        pages: dict[str, list[float]] = {}
        pages_seconds = await _phase(clients, _paths, ROUNDS, pages)
    healthz = _summary(baseline["healthz"], baseline_seconds)
    figures = {name: _summary(pages[name], pages_seconds) for name in PAGES}
    ratios: dict[str, float] = {}
    for name, page in figures.items():
        ratios[f"{name}_p50_vs_healthz"] = round(page["p50_ms"] / healthz["p50_ms"], 1)
        ratios[f"{name}_p95_vs_healthz"] = round(page["p95_ms"] / healthz["p95_ms"], 1)
    return {
        "pages": figures,
        "pages_total_rps": round(sum(len(v) for v in pages.values()) / pages_seconds, 1),
        "baseline_healthz": healthz,
        "phase_seconds": {"pages": round(pages_seconds, 1), "healthz": round(baseline_seconds, 1)},
        "ratios": ratios,
    }


async def run() -> dict[str, Any]:
    exits = contextlib.ExitStack()
    # In a thread: the stack's start-up runs its own event loop, which cannot run inside this one.
    seeded = await asyncio.to_thread(exits.enter_context, _seeded_portal())
    try:
        measured = await _measure(seeded)
    finally:
        await asyncio.to_thread(exits.close)
    return {
        "sessions": SESSIONS,
        "units": UNITS,
        "requests_per_unit": REQUESTS_PER_UNIT,
        "rounds_per_session": ROUNDS,
        "cpu_count": os.cpu_count(),
        **measured,
    }
