"""The portal's own rules, on plain objects: session lifetime, open-redirect guard, security headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from phoi_portal.domain.session import Lifetime, Session, Tokens, hash_session_id, new_session_id
from phoi_portal.settings import Settings
from phoi_portal.web.auth import safe_next, vietnamese_name
from phoi_portal.web.security import SecurityHeaders

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
LIFETIME = Lifetime(idle=timedelta(minutes=30), absolute=timedelta(hours=10), refresh_margin=timedelta(seconds=30))


def session(*, created: timedelta, seen: timedelta, expires_in: timedelta) -> Session:
    tokens = Tokens("access", "refresh", "id", NOW + expires_in)
    return Session(
        "h", "u", "unit", "Nguyễn Văn An", "SGD-HN", frozenset({"unit_account"}), tokens, NOW - created, NOW - seen
    )


def test_a_session_ends_after_30_idle_minutes_or_10_hours_whatever_the_activity() -> None:
    assert not session(created=timedelta(hours=1), seen=timedelta(minutes=29), expires_in=timedelta(minutes=5)).expired(
        NOW, LIFETIME
    )
    assert session(created=timedelta(hours=1), seen=timedelta(minutes=31), expires_in=timedelta(minutes=5)).expired(
        NOW, LIFETIME
    )
    assert session(created=timedelta(hours=10, seconds=1), seen=timedelta(0), expires_in=timedelta(minutes=5)).expired(
        NOW, LIFETIME
    )


def test_the_access_token_is_refreshed_shortly_before_it_expires() -> None:
    assert not session(created=timedelta(0), seen=timedelta(0), expires_in=timedelta(seconds=31)).needs_refresh(
        NOW, LIFETIME
    )
    assert session(created=timedelta(0), seen=timedelta(0), expires_in=timedelta(seconds=30)).needs_refresh(
        NOW, LIFETIME
    )


def test_the_cookie_value_is_random_and_only_its_hash_is_stored() -> None:
    first, second = new_session_id(), new_session_id()
    assert first != second
    assert len(first) == 43
    assert len(hash_session_id(first)) == 64
    assert hash_session_id(first) != first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/requests?status=draft", "/requests?status=draft"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
        ("requests", "/"),
    ],
)
def test_after_sign_in_the_portal_only_returns_to_its_own_pages(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_names_are_shown_family_name_first() -> None:
    assert (
        vietnamese_name({"given_name": "An", "family_name": "Nguyễn Văn", "name": "An Nguyễn Văn"}) == "Nguyễn Văn An"
    )
    assert vietnamese_name({"name": "Trần Bình"}) == "Trần Bình"


async def test_outside_loopback_cookies_are_secure_and_hsts_is_sent() -> None:
    assert not Settings(public_url="http://127.0.0.1:8000").secure_cookies
    assert Settings(public_url="https://phoi.moet.gov.vn").secure_cookies
    app = FastAPI()
    app.get("/")(lambda: PlainTextResponse("ok"))
    wrapped = SecurityHeaders(app, keycloak_url="https://sso.phoi.moet.gov.vn", secure=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="https://portal.test") as client:
        headers = (await client.get("/")).headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert "form-action 'self' https://sso.phoi.moet.gov.vn" in headers["content-security-policy"]
