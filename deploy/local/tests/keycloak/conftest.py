"""Fixtures: the Keycloak stand-in as a subprocess, and a ``target`` that is either the stand-in or a
real Keycloak (``KEYCLOAK_URL``), so that the same test body runs against both."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keycloak.exceptions import KeycloakError
from phoi_local.keycloak.process import StandinProcess
from phoi_local.keycloak.testing import KeycloakTarget, TestUser, create_test_user

REAL_KEYCLOAK_SKIP = "KEYCLOAK_URL is not set: the real-Keycloak variant of this test is skipped"


@pytest.fixture(scope="session")
def standin() -> Iterator[StandinProcess]:
    """One stand-in for the session: free port, temporary state directory, demo seed loaded."""
    with StandinProcess() as process:
        yield process


@pytest.fixture(
    scope="session",
    params=["standin", pytest.param("keycloak", marks=pytest.mark.keycloak)],
)
def target(request: pytest.FixtureRequest) -> KeycloakTarget:
    if request.param == "keycloak":
        real = KeycloakTarget.from_env()
        if real is None:
            pytest.skip(REAL_KEYCLOAK_SKIP)
        return real
    return KeycloakTarget.for_standin(request.getfixturevalue("standin"))


@pytest.fixture(scope="session")
def admin(target: KeycloakTarget) -> Any:
    """``KeycloakAdmin`` authenticated as the identity service."""
    return target.admin()


UserFactory = Callable[..., TestUser]


def _factory(admin: Any) -> Iterator[UserFactory]:
    created: list[str] = []

    def factory(**kwargs: Any) -> TestUser:
        user = create_test_user(admin, **kwargs)
        created.append(user.id)
        return user

    yield factory
    for user_id in created:
        with contextlib.suppress(KeycloakError):
            admin.delete_user(user_id)


@pytest.fixture
def make_user(admin: Any) -> Iterator[UserFactory]:
    """Create users on the ``target`` through the admin API (deleted afterwards, so a real
    Keycloak stays clean)."""
    yield from _factory(admin)


@pytest.fixture(scope="session")
def standin_target(standin: StandinProcess) -> KeycloakTarget:
    """The stand-in only (for tests of stand-in behaviour: pages, persistence, keys)."""
    return KeycloakTarget.for_standin(standin)


@pytest.fixture
def make_standin_user(standin_target: KeycloakTarget) -> Iterator[UserFactory]:
    yield from _factory(standin_target.admin())
