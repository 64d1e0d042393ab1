"""Authorization code + PKCE, the login page, the UPDATE_PASSWORD page and front-channel logout,
driven with httpx (no browser). The flow tests run against the stand-in and a real Keycloak."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from keycloak.exceptions import KeycloakPostError
from phoi_local.keycloak.testing import (
    KeycloakTarget,
    TestUser,
    error_body,
    follow_within,
    new_password,
    pkce_pair,
    query_of,
    read_form,
)

UserFactory = Callable[..., TestUser]
# Registered as http://127.0.0.1/* : any port on the loopback address is accepted (RFC 8252).
REDIRECT = "http://127.0.0.1:8000/auth/callback"


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=10.0) as client:
        yield client


def open_login(target: KeycloakTarget, browser: httpx.Client, challenge: str | None, **extra: str) -> httpx.Response:
    params = {
        "client_id": "portal",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        **extra,
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return browser.get(f"{target.issuer}/protocol/openid-connect/auth", params=params)


def submit_login(browser: httpx.Client, page: httpx.Response, username: str, password: str) -> httpx.Response:
    form = read_form(page.text, "kc-form-login")
    form.fields.update(username=username, password=password)
    answer = browser.post(str(page.url.join(form.action)), data=form.fields)
    return follow_within(browser, answer, REDIRECT)


def login(target: KeycloakTarget, browser: httpx.Client, user: TestUser) -> tuple[str, str]:
    """Log in through the page; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    page = open_login(target, browser, challenge)
    assert page.status_code == 200
    done = submit_login(browser, page, user.username, user.password)
    assert done.is_redirect, done.text[:500]
    location = done.headers["location"]
    assert location.startswith(REDIRECT)
    return query_of(location)["code"], verifier


def test_code_flow_with_pkce(target: KeycloakTarget, browser: httpx.Client, make_user: UserFactory) -> None:
    user = make_user(role="unit_account", unit_code="SGD-HN")
    verifier, challenge = pkce_pair()
    page = open_login(target, browser, challenge, state="state-123")
    assert page.status_code == 200
    done = submit_login(browser, page, user.username, user.password)
    assert done.status_code == 302
    params = query_of(done.headers["location"])
    assert params["state"] == "state-123"
    assert params["iss"] == target.issuer

    portal = target.portal()
    tokens = portal.token(
        grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT, code_verifier=verifier
    )
    claims = portal.decode_token(tokens["access_token"])
    assert claims["azp"] == "portal"
    assert claims["sub"] == user.id
    assert claims["unit_code"] == "SGD-HN"
    assert "phoi-api" in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    id_claims = portal.decode_token(tokens["id_token"])
    assert id_claims["aud"] == "portal"
    assert id_claims["nonce"]

    # a code works once
    with pytest.raises(KeycloakPostError) as reused:
        portal.token(
            grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT, code_verifier=verifier
        )
    assert error_body(reused.value)["error"] == "invalid_grant"

    # the SSO session: a second authorization request is answered without the login page
    again = open_login(target, browser, pkce_pair()[1])
    assert again.status_code == 302
    assert "code" in query_of(again.headers["location"])


def test_wrong_or_missing_verifier_is_refused(
    target: KeycloakTarget, browser: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    portal = target.portal()
    code, _verifier = login(target, browser, user)
    with pytest.raises(KeycloakPostError) as wrong:
        portal.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=pkce_pair()[0])
    assert wrong.value.response_code == 400
    assert error_body(wrong.value)["error"] == "invalid_grant"

    browser.cookies.clear()
    code, _verifier = login(target, browser, user)
    with pytest.raises(KeycloakPostError) as missing:
        portal.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert error_body(missing.value)["error"] == "invalid_grant"


def test_portal_requires_pkce_and_a_registered_redirect(target: KeycloakTarget, browser: httpx.Client) -> None:
    no_pkce = open_login(target, browser, None)
    assert no_pkce.status_code == 302
    assert query_of(no_pkce.headers["location"])["error"] == "invalid_request"

    evil = browser.get(
        f"{target.issuer}/protocol/openid-connect/auth",
        params={
            "client_id": "portal",
            "response_type": "code",
            "redirect_uri": "https://evil.example/cb",
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
        },
    )
    assert evil.status_code == 400
    assert "location" not in evil.headers


def test_wrong_password_on_the_login_page(
    target: KeycloakTarget, browser: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    page = open_login(target, browser, pkce_pair()[1])
    again = submit_login(browser, page, user.username, "wrong-Password-123")
    assert again.status_code == 200
    form = read_form(again.text, "kc-form-login")  # the form is shown again
    assert form.action


def test_update_password_required_action(
    target: KeycloakTarget, admin: Any, browser: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user(temporary=True)
    verifier, challenge = pkce_pair()
    page = open_login(target, browser, challenge)
    step = submit_login(browser, page, user.username, user.password)
    assert step.status_code == 200
    read_form(step.text, "kc-passwd-update-form")

    def submit(new: str, confirm: str) -> httpx.Response:
        form = read_form(step.text, "kc-passwd-update-form")
        form.fields.update({"password-new": new, "password-confirm": confirm})
        answer = browser.post(str(step.url.join(form.action)), data=form.fields)
        return follow_within(browser, answer, REDIRECT)

    fresh = new_password()
    step = submit(fresh, fresh + "x")  # mismatch: the page again
    assert step.status_code == 200
    read_form(step.text, "kc-passwd-update-form")
    step = submit(user.username, user.username)  # policy: not the username
    assert step.status_code == 200
    read_form(step.text, "kc-passwd-update-form")
    # still no tokens with the old temporary password
    with pytest.raises(KeycloakPostError):
        target.openid().token(user.username, user.password)

    done = submit(fresh, fresh)
    assert done.status_code == 302
    code = query_of(done.headers["location"])["code"]
    tokens = target.portal().token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    assert tokens["access_token"]
    assert admin.get_user(user.id)["requiredActions"] == []
    assert target.openid().token(user.username, fresh)["access_token"]
    events = admin.get_events({"user": user.id, "type": ["UPDATE_PASSWORD"]})
    assert [e["type"] for e in events] == ["UPDATE_PASSWORD"]


def test_front_channel_logout(target: KeycloakTarget, browser: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    code, verifier = login(target, browser, user)
    portal = target.portal()
    tokens = portal.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    back = "http://127.0.0.1:8000/"
    answer = browser.get(
        f"{target.issuer}/protocol/openid-connect/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": back, "state": "bye"},
    )
    answer = follow_within(browser, answer, back)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(back)
    assert query_of(answer.headers["location"])["state"] == "bye"

    assert portal.introspect(tokens["access_token"])["active"] is False
    with pytest.raises(KeycloakPostError):
        portal.refresh_token(tokens["refresh_token"])
    # no SSO session any more: the login page is shown again
    assert open_login(target, browser, pkce_pair()[1]).status_code == 200


def test_logout_refuses_an_unregistered_post_logout_redirect(
    target: KeycloakTarget, browser: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    code, verifier = login(target, browser, user)
    tokens = target.portal().token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    answer = browser.get(
        f"{target.issuer}/protocol/openid-connect/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert answer.status_code == 400


# -- the stand-in's own pages (language, accessibility) ----------------------------------------------
def test_login_page_is_vietnamese_by_default_and_accessible(
    standin_target: KeycloakTarget, browser: httpx.Client
) -> None:
    page = open_login(standin_target, browser, pkce_pair()[1])
    html = page.text
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in html
    assert "Đăng nhập" in html
    assert "Tên đăng nhập hoặc email" in html
    assert "Mật khẩu" in html
    assert "Keycloak stand-in" in html  # the banner
    assert '<label for="username">' in html
    assert 'id="username"' in html
    assert '<label for="password">' in html
    assert 'id="password"' in html
    assert 'autocomplete="current-password"' in html
    assert 'hreflang="en"' in html


def test_login_page_in_english(standin_target: KeycloakTarget, browser: httpx.Client) -> None:
    page = open_login(standin_target, browser, pkce_pair()[1], kc_locale="en")
    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text
    browser.cookies.clear()
    by_header = browser.get(
        str(open_login(standin_target, browser, pkce_pair()[1]).url),
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )
    assert "Username or email" in by_header.text


def test_login_errors_are_announced(
    standin_target: KeycloakTarget, browser: httpx.Client, make_standin_user: UserFactory
) -> None:
    user = make_standin_user()
    page = open_login(standin_target, browser, pkce_pair()[1])
    again = submit_login(browser, page, user.username, "wrong-Password-123")
    assert 'role="alert"' in again.text
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in again.text
    assert 'aria-invalid="true"' in again.text
    assert f'value="{user.username}"' in again.text


def test_disabled_account_message(
    standin_target: KeycloakTarget, browser: httpx.Client, make_standin_user: UserFactory
) -> None:
    user = make_standin_user(enabled=False)
    page = open_login(standin_target, browser, pkce_pair()[1])
    again = submit_login(browser, page, user.username, user.password)
    assert "Tài khoản đã bị vô hiệu hoá" in again.text


def test_update_password_page_texts(
    standin_target: KeycloakTarget, browser: httpx.Client, make_standin_user: UserFactory
) -> None:
    user = make_standin_user(temporary=True)
    page = open_login(standin_target, browser, pkce_pair()[1])
    step = submit_login(browser, page, user.username, user.password)
    assert "Cập nhật mật khẩu" in step.text
    assert "ít nhất 12 ký tự" in step.text
    assert 'autocomplete="new-password"' in step.text
    form = read_form(step.text, "kc-passwd-update-form")
    form.fields.update({"password-new": "short", "password-confirm": "short"})
    answer = browser.post(str(step.url.join(form.action)), data=form.fields)
    assert "Mật khẩu không hợp lệ: cần tối thiểu 12 ký tự." in answer.text
    assert 'role="alert"' in answer.text


def test_expired_or_foreign_login_attempt(standin_target: KeycloakTarget, browser: httpx.Client) -> None:
    page = open_login(standin_target, browser, pkce_pair()[1])
    form = read_form(page.text, "kc-form-login")
    with httpx.Client() as other_browser:  # without the AUTH_SESSION_ID cookie
        answer = other_browser.post(str(page.url.join(form.action)), data={"username": "x", "password": "y"})
    assert answer.status_code == 400
    assert "hết hạn" in answer.text


def test_logout_without_hint_asks_for_confirmation(
    standin_target: KeycloakTarget, browser: httpx.Client, make_standin_user: UserFactory
) -> None:
    user = make_standin_user()
    login(standin_target, browser, user)
    page = browser.get(f"{standin_target.issuer}/protocol/openid-connect/logout")
    assert page.status_code == 200
    assert "Bạn có muốn đăng xuất không?" in page.text
    form = read_form(page.text, "kc-logout-confirm")
    done = browser.post(str(page.url.join(form.action)), data=form.fields)
    assert "Bạn đã đăng xuất." in done.text
    assert open_login(standin_target, browser, pkce_pair()[1]).status_code == 200
