"""Hostile input in the portal's query filters, paths and forms — NUL and other controls, integers past
64 bits, dates at the calendar's edges, 10 KB of text — is a page telling the official what to correct (or
a 4xx page), never a 500. Browser-less (httpx through the real sign-in), on the real system, as each role
whose pages take such input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from phoi_local.pages import post
from phoi_local.system import Stack, portal_client

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Phoi-Hostile-2026!"
HOSTILE = ["a\x00b", "\x1b[31m", "\u202e\u200f", "99999999999999999999", str(2**70), "-1", "0001-01-01",
           "9999-12-31", "01/01/0001", "31/12/9999", "x" * 10_000]  # fmt: skip

# Each role's pages that take query parameters ({} in a path: a path parameter), and those parameters.
PAGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "unit_account": [
        ("/requests", ("status", "cursor")),
        ("/requests/{}", ("done",)),
        ("/reports/usage", ("start", "end")),
        ("/reports/usage.csv", ("start", "end")),
        ("/reports/usage.pdf", ("start", "end")),
        ("/serials", ("form_type", "serial")),
        ("/stock", ("movement",)),
        ("/movements/new", ("kind",)),
    ],
    "qlcl_officer": [
        ("/review", ("status", "unit_code", "form_type", "academic_year", "cursor")),
        ("/reports/usage", ("start", "end", "unit")),
        ("/allocations", ("cursor",)),
        ("/central/print-batches", ("cursor",)),
        ("/central/form-types/{}/edit", ()),
    ],
    "auditor": [
        ("/audit/entries", ("actor", "unit", "subject", "type", "start", "end", "cursor")),
        ("/audit/entries/{}", ()),
        ("/audit/export", ("actor", "start", "end")),
    ],
    "qlcl_admin": [
        ("/admin/units", ("status", "cursor")),
        ("/admin/units/{}", ("done",)),
        ("/admin/accounts", ("unit_code", "role", "status", "cursor")),
        ("/admin/accounts/new", ("kind", "unit_code")),
        ("/admin/accounts/{}", ("done",)),
        ("/admin/incidents", ("status", "source", "cursor")),
        ("/admin/sign-ins", ("cursor",)),
    ],
}


@pytest.fixture(scope="module")
def clients(system_stack: Stack, unit: Any) -> Iterator[dict[str, httpx.Client]]:
    signed_in = {"unit_account": unit[1]}
    for role in ("qlcl_officer", "auditor", "qlcl_admin"):
        username, temporary = system_stack.new_individual_account(role)
        signed_in[role] = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield signed_in
    for role, client in signed_in.items():
        if role != "unit_account":
            client.close()


def answered(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    assert "Traceback" not in response.text


@pytest.mark.parametrize("role", list(PAGES))
def test_hostile_query_and_path_values_give_a_page_never_a_500(clients: dict[str, httpx.Client], role: str) -> None:
    client = clients[role]
    for path, names in PAGES[role]:
        for value in HOSTILE:
            target = path.format(quote(value, safe="")) if "{}" in path else path
            for name in names or ("",):
                params = {name: value} if name else {}
                answered(client.get(target, params=params), f"{role} GET {target} {name}={value[:20]!r}")


def test_hostile_text_in_forms_gives_the_form_again_never_a_500(clients: dict[str, httpx.Client]) -> None:
    unit = clients["unit_account"]
    for value in HOSTILE:
        fields = {"academic_year": "2025-2026", "line-0-form_type": "THPT", "line-0-quantity": "10"}
        for name in ("exam_session", "line-0-justification", "academic_year", "line-0-quantity"):
            answered(post(unit, "/requests/new", {**fields, name: value}), f"new request {name}={value[:20]!r}")
        incident = {"kind": "suspected_compromise", "description": value}
        answered(post(unit, "/incidents/new", incident), f"incident {value[:20]!r}")
        movement = {"kind": "spoil", "form_type": "THPT", "first": value, "document_ref": value, "note": value}
        answered(post(unit, "/movements/new", movement), f"movement {value[:20]!r}")
