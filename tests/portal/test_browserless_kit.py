"""The browser-less sign-in and request helpers of `phoi_local.system` (used by the portal benchmark) against
the whole system: they must keep working as the stand-in's and the portal's pages change."""

from __future__ import annotations

import contextlib

import pytest
from phoi_local.keycloak.testing import new_password
from phoi_local.system import Stack, portal_client, portal_request

pytestmark = [pytest.mark.slow]


def test_a_new_unit_account_signs_in_changes_its_password_and_makes_requests(stack: Stack) -> None:
    unit, username, temporary = stack.new_unit_account()
    password = new_password()

    with contextlib.closing(portal_client(stack, username, temporary, password)) as first:
        draft = portal_request(first, 120)
        submitted = portal_request(first, 80, submit=True)
        listing = first.get("/requests")

    assert listing.status_code == 200
    assert draft in listing.text
    assert submitted in listing.text
    statuses = {item["id"]: item["status"] for item in _requests_of(stack, unit)}
    assert statuses == {draft: "draft", submitted: "submitted"}
    # The changed password is the one that signs in now, in a session of its own.
    with contextlib.closing(portal_client(stack, username, password)) as second:
        assert second.cookies["phoi_session"] != first.cookies["phoi_session"]
        assert second.get("/dashboard").status_code == 200


def _requests_of(stack: Stack, unit_code: str) -> list[dict[str, str]]:
    response = stack.api("requests", "GET", "/api/v1/requests", stack.officer, params={"unit_code": unit_code})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])
