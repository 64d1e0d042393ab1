"""The conventions the kit owns hold in every service: domain errors reach the client one way (the
service spec's error map, no route classes of their own, no HTTP status in the domain), consumer handlers
are registered one way (``handlers(settings)``). The apps are built, not started: nothing here needs the
database, the broker or Keycloak."""

from __future__ import annotations

import importlib
import inspect

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from phoi_kit.app import KitRuntime
from phoi_kit.errors import check_error_map

SERVICES = ["identity", "requests", "inventory", "audit"]


def build(name: str) -> FastAPI:
    settings = importlib.import_module(f"phoi_{name}.settings").Settings()
    app: FastAPI = importlib.import_module(f"phoi_{name}.main").create_app(settings)
    return app


def subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_domain_errors_are_mapped_once_through_the_service_spec(name: str) -> None:
    runtime: KitRuntime = build(name).state.kit
    error_map = importlib.import_module(f"phoi_{name}.api.errors").ERROR_MAP
    assert runtime.spec.error_map is error_map
    check_error_map(error_map)
    for error in set(error_map) | {sub for cls in error_map for sub in subclasses(cls)}:
        assert not hasattr(error, "http_status"), f"{error.__name__} carries an HTTP status"


@pytest.mark.parametrize("name", SERVICES)
def test_no_service_routes_errors_its_own_way(name: str) -> None:
    routes = [route for route in build(name).routes if isinstance(route, APIRoute)]
    assert routes
    assert {type(route) for route in routes} == {APIRoute}


@pytest.mark.parametrize("name", ["requests", "inventory", "audit"])
def test_consumer_handlers_are_registered_one_way(name: str) -> None:
    module = importlib.import_module(f"phoi_{name}.handlers")
    assert list(inspect.signature(module.handlers).parameters) == ["settings"]
    settings = importlib.import_module(f"phoi_{name}.settings").Settings()
    runtime: KitRuntime = build(name).state.kit
    assert set(runtime.spec.handlers) == set(module.handlers(settings))
