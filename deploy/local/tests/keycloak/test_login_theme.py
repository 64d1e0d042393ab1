"""The realm's login theme (deploy/keycloak/themes/phoi) and the stand-in rendering it: the same
message bundles, stylesheet and portal link that real Keycloak uses in production."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from phoi_local.keycloak.messages import Key, LoginTheme, message_format, parse_properties, resolve_env
from phoi_local.keycloak.process import StandinProcess
from phoi_local.keycloak.realm import load_realm
from phoi_local.keycloak.settings import DEFAULT_REALM_FILE, DEFAULT_THEMES_DIR
from phoi_local.keycloak.testing import KeycloakTarget, TestUser, follow_within, pkce_pair, read_form

UserFactory = Callable[..., TestUser]

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "phoi_local" / "keycloak" / "templates"
THEME = DEFAULT_THEMES_DIR / "phoi" / "login"
REDIRECT = "http://127.0.0.1:8000/auth/callback"
_MSG_CALL = re.compile(r"""msg\(\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def theme() -> LoginTheme:
    return LoginTheme.load(DEFAULT_THEMES_DIR, "phoi", {})


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=10.0) as client:
        yield client


def open_login(target: KeycloakTarget, browser: httpx.Client, **extra: str) -> httpx.Response:
    params = {
        "client_id": "portal",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        **extra,
    }
    return browser.get(f"{target.issuer}/protocol/openid-connect/auth", params=params)


def sign_in(browser: httpx.Client, page: httpx.Response, username: str, password: str) -> httpx.Response:
    form = read_form(page.text, "kc-form-login")
    form.fields.update(username=username, password=password)
    return follow_within(browser, browser.post(str(page.url.join(form.action)), data=form.fields), REDIRECT)


def keys_in(paths: list[Path]) -> set[str]:
    return {key for path in paths for key in _MSG_CALL.findall(path.read_text(encoding="utf-8"))}


# -- the bundles ---------------------------------------------------------------------------------
def test_every_key_the_standin_uses_is_in_both_bundles(theme: LoginTheme) -> None:
    from_templates = keys_in(sorted(TEMPLATES.glob("*.html")))
    assert {"phoiSystemName", "phoiCannotAccess", "doLogIn", "passwordNew"} <= from_templates  # the scan works
    locales = load_realm(DEFAULT_REALM_FILE).supported_locales
    used = from_templates | Key.all() | {f"locale_{code}" for code in locales}
    for locale in ("vi", "en"):
        missing = sorted(key for key in used if not theme.has(locale, key))
        assert not missing, f"messages_{locale}.properties lacks {missing}"


def test_our_own_keys_in_the_ftl_templates_are_in_both_bundles(theme: LoginTheme) -> None:
    own = {key for key in keys_in(sorted(THEME.glob("*.ftl"))) if key.startswith("phoi")}
    assert {"phoiSystemName", "phoiAgency", "phoiCannotAccess", "phoiFirstPasswordNote"} <= own
    for locale in ("vi", "en"):
        assert not sorted(own - set(theme.messages[locale])), locale


def test_both_bundles_have_the_same_keys_and_parameters(theme: LoginTheme) -> None:
    vi, en = theme.messages["vi"], theme.messages["en"]
    assert set(vi) == set(en)
    for key in vi:
        assert set(re.findall(r"\{\d+\}", vi[key])) == set(re.findall(r"\{\d+\}", en[key])), key
        assert vi[key].strip(), key


def test_texts_officials_read(theme: LoginTheme) -> None:
    assert theme.msg("vi", "phoiSystemName") == "Hệ thống quản lý phôi văn bằng, chứng chỉ"
    assert theme.msg("vi", "phoiAgency") == "Bộ Giáo dục và Đào tạo — Cục Quản lý chất lượng"
    assert theme.msg("vi", "phoiCannotAccess") == "Không truy cập được phần mềm?"
    assert theme.msg("en", "phoiCannotAccess") == "Cannot access the software?"
    assert theme.msg("vi", "phoiFirstPasswordNote") == "Bạn phải đổi mật khẩu ban đầu trước khi sử dụng phần mềm."
    assert theme.msg("en", "notMatchPasswordMessage") == "Passwords don't match."  # '' in the file
    assert theme.msg("vi", "invalidPasswordMinLengthMessage", "12") == "Mật khẩu không hợp lệ: cần tối thiểu 12 ký tự."
    assert theme.locales == ("vi", "en")
    assert theme.styles == ["css/phoi.css"]


def test_portal_url_comes_from_the_environment_like_in_keycloak() -> None:
    assert LoginTheme.load(DEFAULT_THEMES_DIR, "phoi", {}).portal_url == "http://127.0.0.1:8000"
    env = {"PHOI_PORTAL_URL": "https://phoi.example.test/"}
    assert LoginTheme.load(DEFAULT_THEMES_DIR, "phoi", env).portal_url == "https://phoi.example.test"


def test_java_properties_format() -> None:
    text = (
        "# comment\n"
        "! also a comment\n"
        "plain=Mật khẩu\n"
        "  spaced = value with = sign  \n"
        "colon: value\n"
        "space separated\n"
        "long=first \\\n"
        "     second\n"
        "escaped=tab\\there \\u0110\\u00e0 a\\\\b \\:\n"
        "empty=\n"
    )
    assert parse_properties(text) == {
        "plain": "Mật khẩu",
        "spaced": "value with = sign  ",
        "colon": "value",
        "space": "separated",
        "long": "first second",
        "escaped": "tab\there Đà a\\b :",
        "empty": "",
    }


def test_message_format_and_env_placeholders() -> None:
    assert message_format("Passwords don''t match.") == "Passwords don't match."
    assert message_format("tối thiểu {0} ký tự, {1}", ["12", "x"]) == "tối thiểu 12 ký tự, x"
    assert message_format("'{0}' is literal, {0} is not", ["v"]) == "{0} is literal, v is not"
    assert message_format("missing {3}", ["a"]) == "missing {3}"
    value = "${env.PHOI_PORTAL_URL:http://127.0.0.1:8000}"
    assert resolve_env(value, {}) == "http://127.0.0.1:8000"  # the default keeps its colons
    assert resolve_env(value, {"PHOI_PORTAL_URL": "https://x"}) == "https://x"
    assert resolve_env("${env.NOT_SET}", {}) == "${env.NOT_SET}"  # Keycloak leaves it as written


def test_resources_stay_inside_the_theme(theme: LoginTheme) -> None:
    assert theme.resource("css/phoi.css") == (THEME / "resources" / "css" / "phoi.css").resolve()
    assert theme.resource("../theme.properties") is None
    assert theme.resource("css") is None


def test_realm_uses_the_theme_and_the_theme_has_no_script() -> None:
    assert load_realm(DEFAULT_REALM_FILE).login_theme == "phoi"
    props = parse_properties((THEME / "theme.properties").read_text(encoding="utf-8"))
    assert props["parent"] == "base"
    assert "scripts" not in props
    for page in [*THEME.glob("*.ftl"), *TEMPLATES.glob("*.html")]:
        text = page.read_text(encoding="utf-8").lower()
        assert "<script" not in text, page.name
        for attribute in (" onclick=", " onchange=", " onsubmit=", " style="):
            assert attribute not in text, (page.name, attribute)
        assert "<style" not in text, page.name


#: The stand-in's copy of each page the theme overrides, and the ids and classes only Keycloak's side
#: has (features the stand-in does not implement: remember me, registration, try another way, …).
MIRRORS = {
    "template.ftl": (
        "base.html",
        {"kc-username", "kc-attempted-username", "reset-login", "phoi-message", "kc-select-try-another-way-form",
         "try-another-way", "kc-info"},
        {"phoi-attempted", "phoi-attempted__name", "phoi-hint", "phoi-link-button", "phoi-info"},
    ),
    "login.ftl": ("login.html", {"rememberMe", "kc-registration"}, {"phoi-checkbox", "phoi-form-options"}),
    "login-update-password.ftl": ("update_password.html", {"kc-cancel"}, {"phoi-button--secondary"}),
    "logout-confirm.ftl": ("logout_confirm.html", {"backToApplication"}, set()),
}  # fmt: skip
STANDIN_ONLY = {"standin-banner", "phoi-alert--warning"}
_ID = re.compile(r'\bid="([A-Za-z][\w-]*)"')
_CLASS = re.compile(r"\bphoi-[a-z0-9_]+(?:-[a-z0-9_]+)*(?:--[a-z0-9_]+)?")


def ids_and_classes(text: str) -> set[str]:
    classes = {c for attr in re.findall(r'class="([^"]*)"', text) for c in _CLASS.findall(attr)}
    return set(_ID.findall(text)) | classes


@pytest.mark.parametrize("ftl", MIRRORS)
def test_standin_templates_mirror_the_theme(ftl: str) -> None:
    """Same ids and phoi-* classes in the .ftl page and the stand-in's copy, so that what the
    portal's browser tests meet on the stand-in is what Keycloak shows."""
    html, only_ids, only_classes = MIRRORS[ftl]
    keycloak_side = ids_and_classes((THEME / ftl).read_text(encoding="utf-8"))
    standin_side = ids_and_classes((TEMPLATES / html).read_text(encoding="utf-8"))
    assert only_ids | only_classes <= keycloak_side  # the allowances are still needed
    assert keycloak_side - only_ids - only_classes == standin_side - STANDIN_ONLY


# -- the stand-in's pages ------------------------------------------------------------------------
def test_login_page_shows_the_theme(standin_target: KeycloakTarget, browser: httpx.Client, theme: LoginTheme) -> None:
    page = open_login(standin_target, browser)
    html = page.text
    assert '<html lang="vi">' in html
    assert "<title>Đăng nhập – Hệ thống quản lý phôi văn bằng, chứng chỉ</title>" in html
    assert "Bộ Giáo dục và Đào tạo — Cục Quản lý chất lượng" in html
    assert '<h1 id="kc-page-title">Đăng nhập</h1>' in html
    assert '<label for="username">Tên đăng nhập hoặc email</label>' in html
    assert '<button type="submit" id="kc-login" name="login">Đăng nhập</button>' in html
    # the standin process resolves ${env.PHOI_PORTAL_URL:...} from its environment, which is ours
    portal = LoginTheme.load(DEFAULT_THEMES_DIR, "phoi", os.environ).portal_url
    assert f'<a id="phoi-cannot-sign-in" href="{portal}/cannot-sign-in">Không truy cập được phần mềm?</a>' in html
    assert "<script" not in html
    assert " style=" not in html
    # the stylesheet is the theme's own file, where Keycloak serves it
    (href,) = re.findall(r'<link href="([^"]+)" rel="stylesheet">', html)
    assert re.search(r"/resources/[^/]+/login/phoi/css/phoi\.css$", href)
    css = browser.get(href)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.content == (THEME / "resources" / "css" / "phoi.css").read_bytes()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon is not None
    assert browser.get(icon.group(1)).status_code == 200
    assert browser.get(href.replace("/login/phoi/", "/login/keycloak/")).status_code == 404


def test_language_switch_as_keycloak(standin_target: KeycloakTarget, browser: httpx.Client) -> None:
    page = open_login(standin_target, browser)
    english = re.search(r'<a href="([^"]+)" lang="en" hreflang="en">English</a>', page.text)
    assert english is not None
    assert 'lang="vi" hreflang="vi" aria-current="true">Tiếng Việt</a>' in page.text
    switched = browser.get(english.group(1).replace("&amp;", "&"))
    assert '<html lang="en">' in switched.text
    assert "Cannot access the software?" in switched.text
    assert "Ministry of Education and Training" in switched.text
    browser.cookies.clear()
    by_ui_locales = open_login(standin_target, browser, ui_locales="en")
    assert '<h1 id="kc-page-title">Sign in</h1>' in by_ui_locales.text


def test_portal_link_follows_phoi_portal_url(browser: httpx.Client) -> None:
    with StandinProcess(env={"PHOI_PORTAL_URL": "https://phoi.example.test/"}) as process:
        page = open_login(KeycloakTarget.for_standin(process), browser)
    assert 'href="https://phoi.example.test/cannot-sign-in"' in page.text


def test_login_error_is_summarised_and_beside_the_field(
    standin_target: KeycloakTarget, browser: httpx.Client, make_standin_user: UserFactory
) -> None:
    user = make_standin_user()
    page = sign_in(browser, open_login(standin_target, browser), user.username, "wrong-Password-123")
    summary_start = '<div class="phoi-alert phoi-alert--error" id="phoi-error-summary" role="alert">'
    summary = re.search(re.escape(summary_start) + "(.*?)</div>", page.text, re.S)
    assert summary is not None
    assert '<a href="#username">Tên đăng nhập hoặc mật khẩu không đúng.</a>' in summary.group(1)
    assert '<p class="phoi-field-error" id="input-error">Tên đăng nhập hoặc mật khẩu không đúng.</p>' in page.text
    assert page.text.count('aria-describedby="input-error"') == 2


def test_update_password_page_shows_article_8_2_note(
    standin_target: KeycloakTarget, browser: httpx.Client, make_standin_user: UserFactory
) -> None:
    user = make_standin_user(temporary=True)
    step = sign_in(browser, open_login(standin_target, browser), user.username, user.password)
    assert "Bạn phải đổi mật khẩu ban đầu trước khi sử dụng phần mềm." in step.text
    assert "Mật khẩu mới cần có ít nhất 12 ký tự và không được trùng với tên đăng nhập." in step.text
    assert 'aria-describedby="password-policy"' in step.text
    assert 'id="phoi-cannot-sign-in"' in step.text
    form = read_form(step.text, "kc-passwd-update-form")
    form.fields.update({"password-new": "Đủ-dài-rồi-123", "password-confirm": "khác"})
    answer = browser.post(str(step.url.join(form.action)), data=form.fields)
    assert '<a href="#password-confirm">Mật khẩu nhập lại không khớp.</a>' in answer.text
    assert 'id="input-error-password-confirm">Mật khẩu nhập lại không khớp.</p>' in answer.text
    assert 'aria-invalid="true" aria-describedby="input-error-password-confirm"' in answer.text
    form = read_form(answer.text, "kc-passwd-update-form")
    form.fields.update({"password-new": "", "password-confirm": ""})
    empty = browser.post(str(answer.url.join(form.action)), data=form.fields)
    assert 'id="input-error-password">Vui lòng nhập mật khẩu.</p>' in empty.text
    assert 'aria-describedby="password-policy input-error-password" aria-invalid="true"' in empty.text
