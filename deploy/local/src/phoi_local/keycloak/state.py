"""The stand-in's persistent state: users, credentials, sessions, revocations, login failures, events.

Everything lives in one JSON file (``state.json``) in the state directory, rewritten atomically
after each change. Password credentials are stored as scrypt hashes only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .storage import atomic_write_json

STATE_FILE = "state.json"
STATE_VERSION = 1


@dataclass
class Credential:
    id: str
    created: int  # ms
    temporary: bool
    hash: dict[str, Any]
    type: str = "password"

    def representation(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "userLabel": None, "createdDate": self.created}


@dataclass
class User:
    id: str
    username: str
    created: int  # ms
    enabled: bool = True
    email: str | None = None
    email_verified: bool = False
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    required_actions: list[str] = field(default_factory=list)
    realm_roles: list[str] = field(default_factory=list)
    client_roles: dict[str, list[str]] = field(default_factory=dict)
    credential: Credential | None = None
    not_before: int = 0  # s: tokens issued before this are no longer active
    service_account_client: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        cred = data.pop("credential", None)
        user = cls(**data)
        user.credential = Credential(**cred) if cred else None
        return user

    def attribute(self, name: str) -> str | None:
        values = self.attributes.get(name) or []
        return values[0] if values else None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass
class UserSession:
    id: str
    user_id: str
    username: str
    ip_address: str
    started: float  # s
    last_access: float  # s
    auth_time: int  # s
    #: client UUID -> clientId of the clients that got tokens in this session
    clients: dict[str, str] = field(default_factory=dict)


@dataclass
class LoginFailure:
    num_failures: int = 0
    last_failure: int = 0  # ms
    last_ip: str = ""
    locked_until: float = 0.0  # s


@dataclass
class State:
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, UserSession] = field(default_factory=dict)
    #: session id -> time (s) after which remembering the revocation is pointless
    revoked_sessions: dict[str, float] = field(default_factory=dict)
    #: token id (jti) -> its expiry (s), for revoked access tokens
    revoked_tokens: dict[str, float] = field(default_factory=dict)
    login_failures: dict[str, LoginFailure] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    seeded: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            users={k: User.from_json(dict(v)) for k, v in data.get("users", {}).items()},
            sessions={k: UserSession(**v) for k, v in data.get("sessions", {}).items()},
            revoked_sessions=dict(data.get("revoked_sessions", {})),
            revoked_tokens=dict(data.get("revoked_tokens", {})),
            login_failures={k: LoginFailure(**v) for k, v in data.get("login_failures", {}).items()},
            events=list(data.get("events", [])),
            seeded=bool(data.get("seeded", False)),
        )


def load_state(state_dir: Path) -> State:
    path = state_dir / STATE_FILE
    if not path.exists():
        return State()
    return State.from_json(json.loads(path.read_text(encoding="utf-8")))


def save_state(state_dir: Path, state: State) -> None:
    atomic_write_json(state_dir / STATE_FILE, state.to_json(), mode=0o600)
