"""The production realm has no loopback (nor staging) redirect URIs; staging keeps what it needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from phoi_local import realms

Obj = dict[str, Any]
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def imported_realm(objs: list[Obj]) -> Obj:
    (cm,) = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("keycloak-realm")]
    realm: Obj = json.loads(cm["data"]["realm-phoi.json"])
    return realm


def portal_setting(objs: list[Obj], key: str) -> str:
    (value,) = {o["data"][key] for o in objs if o["kind"] == "ConfigMap" and key in o.get("data", {})}
    return str(value)


def redirect_uris(realm: Obj) -> list[str]:
    (portal,) = [c for c in realm["clients"] if c["clientId"] == "portal"]
    return list(portal["redirectUris"])


def test_the_committed_production_realm_is_generated() -> None:
    assert realms.PRODUCTION.read_text() == realms.render(), "run `python -m phoi_local.realms`"


def test_production_realm_sends_browsers_to_the_production_portal_only(production: list[Obj]) -> None:
    realm = imported_realm(production)
    text = json.dumps(realm)
    assert not [host for host in LOOPBACK if host in text], "a loopback address in the production realm"
    assert "staging." not in text
    assert redirect_uris(realm) == [portal_setting(production, "PORTAL_PUBLIC_URL") + "/*"]


def test_staging_realm_keeps_its_host_and_loopback(staging: list[Obj]) -> None:
    """Staging: its own portal, and loopback for a developer's portal signing in against staging."""
    uris = redirect_uris(imported_realm(staging))
    assert portal_setting(staging, "PORTAL_PUBLIC_URL") + "/*" in uris
    assert "http://127.0.0.1/*" in uris


@pytest.mark.parametrize(
    ("uri", "kept"),
    [
        ("http://localhost/*", False),
        ("http://127.0.0.1/*", False),
        ("https://staging.phoi.moet.gov.vn/*", False),
        ("http://phoi.moet.gov.vn/*", False),
        ("https://phoi.moet.gov.vn/*", True),
        ("+", True),
    ],
)
def test_production_uri_rule(uri: str, kept: bool) -> None:
    assert realms.is_production_uri(uri) is kept


def test_post_logout_uris_are_filtered_too() -> None:
    realm = {"clients": [{"attributes": {"post.logout.redirect.uris": "http://localhost/*##https://phoi.x/*"}}]}
    assert realms.production_realm(realm)["clients"][0]["attributes"] == {
        "post.logout.redirect.uris": "https://phoi.x/*"
    }


def test_render_is_json_of_the_source(render: Callable[[str], list[Obj]]) -> None:
    base = imported_realm(render("base"))
    assert json.loads(realms.render()) == realms.production_realm(base)
