"""Texts and look of the stand-in's pages, taken from the realm's Keycloak login theme.

Production Keycloak renders ``deploy/keycloak/themes/<loginTheme>/login`` (``"loginTheme": "phoi"``
in the realm file). The stand-in reads the same files: ``theme.properties`` (placeholders
``${env.NAME:default}`` resolved from the environment as Keycloak does), the message bundles
``messages/messages_<locale>.properties`` (UTF-8, Java MessageFormat patterns) and the static
resources, so a text changed there changes on both. Only the few texts that exist solely in the
stand-in (its warning banner) live here.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("phoi_local.keycloak")

#: Texts of the stand-in itself (not Keycloak's, never seen in production).
STANDIN_TEXTS: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "banner": (
            "Máy chủ xác thực giả lập (Keycloak stand-in) – chỉ dùng cho phát triển và kiểm thử, "
            "không dùng cho môi trường thật."
        ),
        "unsupported_action": "Máy chủ giả lập không hỗ trợ thao tác bắt buộc này: {action}.",
    },
    "en": {
        "banner": "Keycloak stand-in – for development and tests only, not for production.",
        "unsupported_action": "The stand-in does not support this required action: {action}.",
    },
}


class Key:
    """Message keys the stand-in's Python code passes to the theme (its templates name theirs
    directly). Keycloak's own keys, so the pages say what Keycloak says in the same situation."""

    LOGIN_TITLE = "loginAccountTitle"
    USERNAME = "username"
    USERNAME_OR_EMAIL = "usernameOrEmail"
    INVALID_USER = "invalidUserMessage"
    ACCOUNT_DISABLED = "accountDisabledMessage"
    UPDATE_PASSWORD_TITLE = "updatePasswordTitle"  # noqa: S105 - a message key
    MISSING_PASSWORD = "missingPasswordMessage"  # noqa: S105 - a message key
    NOT_MATCH_PASSWORD = "notMatchPasswordMessage"  # noqa: S105 - a message key
    PASSWORD_POLICY_HINT = "phoiPasswordPolicyHint"  # noqa: S105 - a message key
    STALE_CODE = "staleCodeMessage"
    ERROR_TITLE = "errorTitle"
    CLIENT_NOT_FOUND = "clientNotFoundMessage"
    INVALID_PARAMETER = "invalidParameterMessage"
    MISSING_PARAMETER = "missingParameterMessage"
    INVALID_REDIRECT_URI = "invalidRedirectUriMessage"
    INVALID_REQUEST = "invalidRequestMessage"
    LOGOUT_TITLE = "logoutConfirmTitle"
    SUCCESS_LOGOUT = "successLogout"
    #: Password policy violations (``realm.PasswordPolicy.check`` codes, Keycloak's keys).
    POLICY = (
        "invalidPasswordMinLengthMessage",
        "invalidPasswordMaxLengthMessage",
        "invalidPasswordNotUsernameMessage",
        "invalidPasswordNotEmailMessage",
        "invalidPasswordMinDigitsMessage",
        "invalidPasswordMinUpperCaseCharsMessage",
        "invalidPasswordMinLowerCaseCharsMessage",
        "invalidPasswordMinSpecialCharsMessage",
    )

    @classmethod
    def all(cls) -> frozenset[str]:
        keys = {v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}
        return frozenset(keys | set(cls.POLICY))


# -- Java .properties --------------------------------------------------------------------------
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined where a line ends in an odd number of backslashes."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f") if pending else raw
        if not pending and (not line.strip() or line.lstrip(" \t\f")[:1] in ("#", "!")):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 == len(text):
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def parse_properties(text: str) -> dict[str, str]:
    """A Java ``.properties`` file (``key=value``, ``key: value`` or ``key value``; ``#``/``!``
    comments; backslash continuations and escapes), read as UTF-8 text like Keycloak 22+."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        line = line.lstrip(" \t\f")
        i = 0
        while i < len(line) and line[i] not in "=: \t\f":
            i += 2 if line[i] == "\\" else 1
        key = line[:i]
        rest = line[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        result[_unescape(key)] = _unescape(rest)
    return result


_PLACEHOLDER = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def resolve_env(value: str, env: Mapping[str, str]) -> str:
    """``${env.NAME}`` / ``${env.NAME:default}`` as Keycloak resolves them in theme properties: the
    variable if set, else the default (everything after the first colon), else left as written."""

    def one(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        return default if default is not None else m.group(0)

    return _PLACEHOLDER.sub(one, value)


def message_format(pattern: str, args: Sequence[object] = ()) -> str:
    """The part of Java's ``MessageFormat`` the bundles use: ``{0}`` … parameters, ``''`` for a
    quote, text between single quotes taken literally. Keycloak formats every message this way."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            if pattern[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1 : end])
            i = end + 1
            continue
        if c == "{":
            end = pattern.find("}", i)
            index = pattern[i + 1 : end].split(",")[0].strip() if end > 0 else ""
            if index.isdigit():
                n = int(index)
                out.append(str(args[n]) if n < len(args) else pattern[i : end + 1])
                i = end + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _content_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


# -- the theme -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginTheme:
    """One Keycloak login theme directory (``<themes>/<name>/login``) as the stand-in uses it."""

    name: str
    directory: Path
    properties: Mapping[str, str]
    messages: Mapping[str, Mapping[str, str]]
    #: part of the resource URLs that changes with their content (Keycloak has one there too)
    resource_version: str = "0"

    @classmethod
    def load(cls, themes_dir: Path, name: str, env: Mapping[str, str]) -> LoginTheme:
        directory = themes_dir / name / "login"
        props_file = directory / "theme.properties"
        if not props_file.is_file():
            raise FileNotFoundError(f"login theme {name!r} not found: {props_file} is missing")
        raw = parse_properties(props_file.read_text(encoding="utf-8"))
        properties = {k: resolve_env(v, env) for k, v in raw.items()}
        messages: dict[str, dict[str, str]] = {}
        for bundle in sorted((directory / "messages").glob("messages_*.properties")):
            locale = bundle.stem.removeprefix("messages_").replace("_", "-")
            messages[locale] = parse_properties(bundle.read_text(encoding="utf-8"))
        version = _content_hash(directory / "resources")
        return cls(name, directory, properties, messages, version)

    @property
    def locales(self) -> tuple[str, ...]:
        declared = [loc.strip() for loc in self.properties.get("locales", "").split(",") if loc.strip()]
        return tuple(loc for loc in declared or sorted(self.messages) if loc in self.messages)

    @property
    def styles(self) -> list[str]:
        return self.properties.get("styles", "").split()

    @property
    def portal_url(self) -> str:
        return self.properties.get("phoiPortalUrl", "").rstrip("/")

    @property
    def resources_dir(self) -> Path:
        return self.directory / "resources"

    def resource(self, relative: str) -> Path | None:
        """A file under ``resources/``; ``None`` for anything else (no way out of the folder)."""
        root = self.resources_dir.resolve()
        target = (root / relative).resolve()
        return target if target.is_file() and target.is_relative_to(root) else None

    def has(self, locale: str, key: str) -> bool:
        return key in self.messages.get(locale, {})

    def msg(self, locale: str, key: str, *args: object) -> str:
        """The text of ``key`` in ``locale`` (English if that bundle lacks it), formatted like
        Keycloak's ``msg()``; a key no bundle has is shown as itself, as Keycloak does."""
        for loc in (locale, "en"):
            pattern = self.messages.get(loc, {}).get(key)
            if pattern is not None:
                return message_format(pattern, args)
        log.warning("login theme %s: no message %r", self.name, key)
        return key
