"""Each service's OpenAPI tells the truth: schemathesis runs its examples, coverage and fuzzing phases with
every check against the real service process, authenticated with real tokens of a role that may use each
operation. What it reports that is deliberate is listed in docs/API_CONFORMANCE.md and excluded here,
each exclusion with its reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from phoi_local.testing import ServiceProcess, start_service
from phoi_local.testkit import api_role
from schemathesis import Case, Response
from schemathesis.checks import positive_data_acceptance
from schemathesis.specs.openapi.checks import allow_header_conformance, unsupported_method

# Bounded so that each service takes well under a minute; the coverage phase adds its own cases.
MAX_EXAMPLES = 10

QUIET_IDENTITY = {
    "IDENTITY_RECONCILE_SECONDS": "0",
    "IDENTITY_LOGIN_EVENTS_POLL_SECONDS": "0",
    "IDENTITY_KEYCLOAK_RETRY_ATTEMPTS": "2",
    "IDENTITY_KEYCLOAK_RETRY_INITIAL_SECONDS": "0.05",
    "IDENTITY_KEYCLOAK_RETRY_MAX_SECONDS": "0.2",
}

CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # RFC 6585: a missing If-Match is 428 Precondition Required, which the default list lacks.
            "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]},
            # Replaced by `_accepts_valid_data` below, which knows the rules a schema cannot state.
            "positive_data_acceptance": {"enabled": False},
        }
    }
)

# Schema-valid input may still be refused with 422 by rules no JSON schema can state: what must exist
# (a parent unit, a form type, a request line), and how fields relate to each other. These codes, and
# nothing else, may answer valid data (docs/API_CONFORMANCE.md).
STATE_OR_RELATION_CODES = frozenset(
    {
        # any text: NUL (and lone surrogates) are valid JSON but cannot be stored
        "invalid_characters",
        # identity
        "invalid_unit",
        "keycloak_user_not_found",
        "invalid_account",
        "invalid_incident",
        # requests
        "invalid_date_range",
        "request.unknown_form_type",
        "request.duplicate_form_type",
        "request.unknown_line",
        # inventory
        "form_type_unknown",
        "serial_format",  # a serial beyond the form type's digits, or a label with another prefix
        "unit_code_required",
        "period_invalid",
        "duplicate_serials",
        "range_reversed",
        "occurred_on_invalid",
        # audit
        "invalid_time_range",
        "invalid_range",
        "invalid_checkpoint",
        "range_beyond_head",
    }
)

# Fields whose rule relates them to something else: the academic year's two years are consecutive; a print
# batch cannot be received in the future.
RELATION_FIELDS = frozenset({("request.invalid_field", "academic_year"), ("print_batch_invalid", "received_on")})


def _unstatable(error: dict[str, Any]) -> bool:
    """A refusal no JSON Schema can state: a whole number written as a float (JSON Schema calls 3.0 an
    integer; the API takes 3), a lone surrogate (the kit refuses it, and no schema regex engine takes one in a
    pattern), or control characters and bidirectional overrides in identity's public access report (no
    portable pattern excludes them all together)."""
    surrogate = re.search(r"\bU\+D[89A-F][0-9A-F]{2}\b", error["msg"])
    control = error["type"] == "value_error" and "control characters" in error["msg"]
    return error["type"] == "int_type" or bool(surrogate) or control


def _accepts_valid_data(case: Case[Any], response: Response) -> None:
    """schemathesis' positive_data_acceptance, except for the deliberate refusals above: 400 only for an
    opaque cursor the server did not issue; 422 only with a state-or-relation code, or `validation_failed`
    from a rule that relates the body's fields (its errors point at the whole body)."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return
    body = response.json()
    code = body.get("code")
    errors = body.get("errors") or []
    # `validation_failed` for valid data: a rule relating the body's fields (its errors point at the whole
    # body), or errors that no schema can state (`_unstatable`).
    relation = code == "validation_failed" and errors and all(e["loc"] == ["body"] for e in errors)
    unstatable = code == "validation_failed" and errors and all(_unstatable(e) for e in errors)
    deliberate = (
        code == "invalid_cursor"
        or code in STATE_OR_RELATION_CODES
        or (code, body.get("field")) in RELATION_FIELDS
        or relation
        or unstatable
    )
    assert deliberate, f"{case.method} {case.formatted_path}: valid data refused with {response.status_code} {body}"


def _running(name: str, extra_env: dict[str, str] | None = None) -> Callable[..., Iterator[ServiceProcess]]:
    @pytest.fixture(scope="module")
    def fixture(
        pg_server: Any, broker: Any, keycloak: Any, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[ServiceProcess]:
        service = start_service(
            name,
            pg_server=pg_server,
            broker=broker,
            keycloak_url=keycloak.base_url,
            log_dir=Path(tmp_path_factory.mktemp(f"{name}-logs")),
            extra_env=extra_env,
        )
        try:
            service.wait_healthy()
            yield service
        finally:
            service.stop()

    return fixture


@pytest.fixture(scope="module")
def headers_for(token_for: Any) -> Callable[[str, str | None], dict[str, str]]:
    cache: dict[tuple[str, str | None], dict[str, str]] = {}

    def headers(role: str, unit_code: str | None = None) -> dict[str, str]:
        if (role, unit_code) not in cache:
            cache[(role, unit_code)] = token_for(role, unit_code).headers
        return cache[(role, unit_code)]

    return headers


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis' lazy schemas rename the test node through `_nodeid`, which pytest 9 no longer has
    request.node._nodeid = request.node.nodeid


def _schema(name: str, service: ServiceProcess, headers_for: Callable[[str, str | None], dict[str, str]]) -> Any:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json", config=CONFIG)

    # Through schemathesis' auth, not explicit headers: it leaves the token out of the cases that test
    # what happens without one (and checks they get 401).
    @schema.auth(refresh_interval=None, retry_on=[])
    class Token:
        def get(self, case: Case[Any], ctx: Any) -> str:
            return headers_for(*api_role(name, case.method, case.operation.path))["Authorization"]

        def set(self, case: Case[Any], data: str, ctx: Any) -> None:
            case.headers["Authorization"] = data  # schemathesis gives every case a headers mapping

    return schema


identity_service = _running("identity", QUIET_IDENTITY)
requests_service = _running("requests")
inventory_service = _running("inventory")
audit_service = _running("audit")


@pytest.fixture(scope="module")
def identity_schema(identity_service: ServiceProcess, headers_for: Any) -> Any:
    return _schema("identity", identity_service, headers_for)


@pytest.fixture(scope="module")
def requests_schema(requests_service: ServiceProcess, headers_for: Any) -> Any:
    return _schema("requests", requests_service, headers_for)


@pytest.fixture(scope="module")
def inventory_schema(inventory_service: ServiceProcess, headers_for: Any) -> Any:
    return _schema("inventory", inventory_service, headers_for)


@pytest.fixture(scope="module")
def audit_schema(audit_service: ServiceProcess, headers_for: Any) -> Any:
    return _schema("audit", audit_service, headers_for)


identity = schemathesis.pytest.from_fixture("identity_schema")
requests = schemathesis.pytest.from_fixture("requests_schema")
inventory = schemathesis.pytest.from_fixture("inventory_schema")
audit = schemathesis.pytest.from_fixture("audit_schema")
# Derandomized: the same cases on every run, so a failure is the code's, never the draw's.
BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


# `/requests/counts` is also a `/requests/{request_id}` with a request id that is not a UUID: a method that
# `counts` lacks but `{request_id}` has (PATCH) is routed there and answers 422 for the id, not 405, and
# `Allow` lists it.
PATHS_SHADOWING_A_TEMPLATE = frozenset({"/api/v1/requests/counts"})


def _conforms(case: Case[Any]) -> None:
    excluded = [positive_data_acceptance]
    if case.operation.path in PATHS_SHADOWING_A_TEMPLATE:
        excluded += [unsupported_method, allow_header_conformance]
    response = case.call_and_validate(excluded_checks=excluded)
    _accepts_valid_data(case, response)


@identity.parametrize()
@BOUNDED
def test_identity_api_conforms_to_its_openapi(case: Case[Any]) -> None:
    _conforms(case)


@requests.parametrize()
@BOUNDED
def test_requests_api_conforms_to_its_openapi(case: Case[Any]) -> None:
    _conforms(case)


@inventory.parametrize()
@BOUNDED
def test_inventory_api_conforms_to_its_openapi(case: Case[Any]) -> None:
    _conforms(case)


@audit.parametrize()
@BOUNDED
def test_audit_api_conforms_to_its_openapi(case: Case[Any]) -> None:
    _conforms(case)
