"""The identity domain's rules, on plain values (no database, no Keycloak)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from phoi_contracts.events.identity import (
    AccountKind,
    AuthLoginFailed,
    AuthLoginSucceeded,
    AuthPasswordUpdated,
    IncidentKind,
    Role,
    UnitKind,
)
from phoi_identity.domain import accounts, incidents, sign_in, units
from phoi_identity.domain.accounts import AccountStatus, KeycloakState, Repair
from phoi_identity.domain.errors import (
    AccountStateConflict,
    IncidentResolvedAlready,
    InvalidAccount,
    InvalidResolution,
    InvalidUnit,
    IssuerUnitProtected,
    LastAdministrator,
    UnitStateConflict,
)
from phoi_identity.domain.incidents import IncidentStatus, ResolutionAction

# --- units -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        ("issuer", UnitKind.QLCL),
        ("QLCL", UnitKind.QLCL),
        ("provincial_department", UnitKind.DEPARTMENT),
        ("department", UnitKind.DEPARTMENT),
        ("education_institution", UnitKind.INSTITUTION),
    ],
)
def test_unit_kind_aliases(given: str, kind: UnitKind) -> None:
    assert units.parse_kind(given) is kind


def test_unknown_unit_kind() -> None:
    with pytest.raises(ValueError, match="unknown unit kind"):
        units.parse_kind("ministry")


def test_unit_diff_keeps_only_changes_and_refuses_immutable_fields() -> None:
    current = {"name": "A", "province": "Hà Nội", "head_name": None}
    change = units.diff(current, {"name": "A", "province": "Huế", "head_name": "Lê Văn C"})
    assert change.values == {"province": "Huế", "head_name": "Lê Văn C"}
    assert change.changed_fields == ("head_name", "province")
    assert not units.diff(current, {"name": "A"})
    with pytest.raises(InvalidUnit):
        units.diff(current, {"code": "X"})
    with pytest.raises(InvalidUnit):
        units.diff(current, {"name": None})


def test_a_unit_is_not_its_own_ancestor() -> None:
    units.check_parent("SGD-HN", "QLCL", [])
    with pytest.raises(InvalidUnit):
        units.check_parent("SGD-HN", "SGD-HN", [])
    with pytest.raises(InvalidUnit):
        units.check_parent("A", "B", ["C", "A"])  # B's parents include A: a cycle


def test_unit_status_transitions() -> None:
    assert units.deactivate(units.UnitStatus.ACTIVE, UnitKind.DEPARTMENT) is units.UnitStatus.INACTIVE
    assert units.reactivate(units.UnitStatus.INACTIVE) is units.UnitStatus.ACTIVE
    with pytest.raises(UnitStateConflict):
        units.deactivate(units.UnitStatus.INACTIVE, UnitKind.INSTITUTION)
    with pytest.raises(IssuerUnitProtected):  # the issuer's accounts administer the system
        units.deactivate(units.UnitStatus.ACTIVE, UnitKind.QLCL)
    with pytest.raises(UnitStateConflict):
        units.reactivate(units.UnitStatus.ACTIVE)


# --- accounts --------------------------------------------------------------------------------------


def test_unit_accounts_have_the_unit_role_and_a_receiving_unit() -> None:
    assert accounts.role_for(AccountKind.UNIT, None) is Role.UNIT_ACCOUNT
    with pytest.raises(InvalidAccount):
        accounts.role_for(AccountKind.UNIT, Role.QLCL_ADMIN)
    with pytest.raises(InvalidAccount):
        accounts.role_for(AccountKind.INDIVIDUAL, Role.UNIT_ACCOUNT)
    with pytest.raises(InvalidAccount):
        accounts.role_for(AccountKind.INDIVIDUAL, None)
    accounts.check_unit(AccountKind.UNIT, Role.UNIT_ACCOUNT, "SGD-HN", UnitKind.DEPARTMENT)
    with pytest.raises(InvalidAccount):
        accounts.check_unit(AccountKind.UNIT, Role.UNIT_ACCOUNT, "QLCL", UnitKind.QLCL)
    with pytest.raises(InvalidAccount):
        accounts.check_unit(AccountKind.UNIT, Role.UNIT_ACCOUNT, None, None)
    accounts.check_unit(AccountKind.INDIVIDUAL, Role.QLCL_OFFICER, "QLCL", UnitKind.QLCL)
    accounts.check_unit(AccountKind.INDIVIDUAL, Role.AUDITOR, "SGD-HN", UnitKind.DEPARTMENT)
    with pytest.raises(InvalidAccount):
        accounts.check_unit(AccountKind.INDIVIDUAL, Role.QLCL_ADMIN, "SGD-HN", UnitKind.DEPARTMENT)


def test_the_last_live_administrator_is_kept() -> None:
    live, out = (
        (AccountStatus.ACTIVE, AccountStatus.PENDING_FIRST_LOGIN),
        (AccountStatus.LOCKED, AccountStatus.DISABLED),
    )
    for status in live:
        assert accounts.leaves_no_administrator(Role.QLCL_ADMIN, status, 0)
        assert not accounts.leaves_no_administrator(Role.QLCL_ADMIN, status, 1)
        with pytest.raises(LastAdministrator):
            accounts.keep_an_administrator(Role.QLCL_ADMIN, status, 0)
    for status in out:  # already out of service: taking it further away changes nothing
        assert not accounts.leaves_no_administrator(Role.QLCL_ADMIN, status, 0)
    for role in (Role.QLCL_OFFICER, Role.AUDITOR, Role.UNIT_ACCOUNT):
        assert not accounts.leaves_no_administrator(role, AccountStatus.ACTIVE, 0)


def test_usernames() -> None:
    assert accounts.normalise_username(" SGD-HN ") == "sgd-hn"
    assert accounts.default_username(AccountKind.UNIT, "SGD-HCM") == "sgd-hcm"
    assert accounts.default_username(AccountKind.INDIVIDUAL, "QLCL") is None
    for bad in ("", "ab", "-x1", "có dấu", "a" * 64):
        with pytest.raises(InvalidAccount):
            accounts.normalise_username(bad)


def test_adopted_users_have_exactly_one_phoi_role() -> None:
    assert accounts.single_phoi_role({"default-roles-phoi", "unit_account"}) is Role.UNIT_ACCOUNT
    with pytest.raises(InvalidAccount):
        accounts.single_phoi_role({"default-roles-phoi"})
    with pytest.raises(InvalidAccount):
        accounts.single_phoi_role({"qlcl_admin", "auditor"})


def test_vietnamese_names_split_as_keycloak_expects() -> None:
    assert accounts.split_name("Nguyễn Văn An") == ("An", "Nguyễn Văn")
    assert accounts.split_name("Võ Thị Thu Hương") == ("Hương", "Võ Thị Thu")
    assert accounts.split_name("Mai") == ("Mai", "")
    assert accounts.join_name("An", "Nguyễn Văn") == "Nguyễn Văn An"
    assert accounts.join_name(None, None) is None


def test_temporary_passwords_satisfy_the_realm_policy() -> None:
    seen = set()
    for _ in range(200):
        password = accounts.temporary_password("sgd-hn")
        assert len(password) == 16
        assert any(c.islower() for c in password)
        assert any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password)
        assert password.lower() != "sgd-hn"
        seen.add(password)
    assert len(seen) == 200
    with pytest.raises(ValueError, match="at least 12"):
        accounts.temporary_password("x", length=8)


def test_status_follows_keycloak() -> None:
    locked = AccountStatus.LOCKED
    assert accounts.status_from_keycloak(True, ["UPDATE_PASSWORD"], locked_means=locked) is (
        AccountStatus.PENDING_FIRST_LOGIN
    )
    assert accounts.status_from_keycloak(True, [], locked_means=locked) is AccountStatus.ACTIVE
    assert accounts.status_from_keycloak(False, [], locked_means=locked) is AccountStatus.LOCKED


def test_transitions() -> None:
    accounts.can_lock(AccountStatus.ACTIVE)
    accounts.can_lock(AccountStatus.PENDING_FIRST_LOGIN)
    accounts.can_unlock(AccountStatus.LOCKED)
    accounts.can_hand_over(AccountStatus.ACTIVE)
    for status, check in [
        (AccountStatus.LOCKED, accounts.can_lock),
        (AccountStatus.DISABLED, accounts.can_lock),
        (AccountStatus.ACTIVE, accounts.can_unlock),
        (AccountStatus.LOCKED, accounts.can_hand_over),
        (AccountStatus.DISABLED, accounts.can_hand_over),
        (AccountStatus.DISABLED, accounts.can_disable),
    ]:
        with pytest.raises(AccountStateConflict):
            check(status)


ENABLED = KeycloakState(enabled=True, required_actions=())
PENDING = KeycloakState(enabled=True, required_actions=("UPDATE_PASSWORD",))
DISABLED = KeycloakState(enabled=False, required_actions=())


@pytest.mark.parametrize(
    ("status", "keycloak", "repair"),
    [
        (AccountStatus.ACTIVE, ENABLED, Repair.NOTHING),
        (AccountStatus.PENDING_FIRST_LOGIN, PENDING, Repair.NOTHING),
        (AccountStatus.LOCKED, DISABLED, Repair.NOTHING),
        (AccountStatus.DISABLED, DISABLED, Repair.NOTHING),
        (AccountStatus.DISABLED, None, Repair.NOTHING),
        (AccountStatus.ACTIVE, None, Repair.MARK_DISABLED),
        (AccountStatus.LOCKED, None, Repair.MARK_DISABLED),
        (AccountStatus.ACTIVE, DISABLED, Repair.MARK_LOCKED),
        (AccountStatus.PENDING_FIRST_LOGIN, DISABLED, Repair.MARK_LOCKED),
        (AccountStatus.ACTIVE, PENDING, Repair.MARK_PENDING),
        (AccountStatus.PENDING_FIRST_LOGIN, ENABLED, Repair.MARK_ACTIVE),
        (AccountStatus.LOCKED, ENABLED, Repair.DISABLE_IN_KEYCLOAK),
        (AccountStatus.DISABLED, PENDING, Repair.DISABLE_IN_KEYCLOAK),
    ],
)
def test_reconciliation_decisions(status: AccountStatus, keycloak: KeycloakState | None, repair: Repair) -> None:
    assert accounts.reconcile(status, keycloak) is repair


# --- incidents -------------------------------------------------------------------------------------


def test_incident_kind_aliases() -> None:
    assert incidents.parse_kind("suspected_compromise") is IncidentKind.SUSPECTED_TAKEOVER
    assert incidents.parse_kind("cannot_access") is IncidentKind.UNREACHABLE
    assert incidents.parse_kind("other") is IncidentKind.OTHER
    with pytest.raises(ValueError, match="unknown incident kind"):
        incidents.parse_kind("phishing")


def test_only_a_suspected_takeover_of_a_live_account_locks_it() -> None:
    takeover = IncidentKind.SUSPECTED_TAKEOVER
    assert incidents.locks_account(takeover, True, AccountStatus.ACTIVE)
    assert incidents.locks_account(takeover, True, AccountStatus.PENDING_FIRST_LOGIN)
    assert not incidents.locks_account(takeover, True, AccountStatus.LOCKED)
    assert not incidents.locks_account(takeover, False, None)
    assert not incidents.locks_account(IncidentKind.UNREACHABLE, True, AccountStatus.ACTIVE)


def test_resolution_rules() -> None:
    open_ = IncidentStatus.OPEN
    incidents.check_resolution(open_, ResolutionAction.RESET_PASSWORD, True, AccountStatus.LOCKED)
    incidents.check_resolution(open_, ResolutionAction.RESET_PASSWORD, True, AccountStatus.ACTIVE)
    incidents.check_resolution(open_, ResolutionAction.KEEP_LOCKED, True, AccountStatus.LOCKED)
    incidents.check_resolution(open_, ResolutionAction.NONE, False, None)
    with pytest.raises(IncidentResolvedAlready):
        incidents.check_resolution(IncidentStatus.RESOLVED, ResolutionAction.NONE, False, None)
    with pytest.raises(InvalidResolution):
        incidents.check_resolution(open_, ResolutionAction.RESET_PASSWORD, False, None)
    with pytest.raises(InvalidResolution):
        incidents.check_resolution(open_, ResolutionAction.KEEP_LOCKED, True, AccountStatus.ACTIVE)
    with pytest.raises(InvalidResolution):
        incidents.check_resolution(open_, ResolutionAction.NONE, True, AccountStatus.LOCKED)
    with pytest.raises(InvalidResolution):
        incidents.check_resolution(open_, ResolutionAction.RESET_PASSWORD, True, AccountStatus.DISABLED)


# --- sign-in events --------------------------------------------------------------------------------


def _raw(time_ms: int, kind: str = "LOGIN", **extra: object) -> dict[str, object]:
    return {"id": f"e-{time_ms}-{kind}-{extra.get('n', 0)}", "time": time_ms, "type": kind, "userId": "u1", **extra}


def test_cursor_skips_what_it_has_seen_at_the_high_water_millisecond() -> None:
    cursor = sign_in.Cursor(1000)
    first, second, later = _raw(1000, n=1), _raw(1000, n=2), _raw(1005)
    assert not cursor.is_new(_raw(999))
    assert cursor.is_new(first)
    cursor = cursor.advance([first])
    assert cursor == sign_in.Cursor(1000, frozenset({sign_in.event_key(first)}))
    assert not cursor.is_new(first)
    assert cursor.is_new(second)
    cursor = cursor.advance([second, later])
    assert cursor.high_water_ms == 1005
    assert cursor.seen == frozenset({sign_in.event_key(later)})
    assert not cursor.is_new(second)
    assert cursor.advance([]) == cursor


def test_event_keys_without_an_id_are_stable_digests() -> None:
    raw = {"time": 5, "type": "LOGIN", "userId": "u1", "details": {"username": "x"}}
    assert sign_in.event_key(raw) == sign_in.event_key(dict(raw))
    assert sign_in.event_key(raw).startswith("sha256:")
    assert sign_in.event_key({**raw, "time": 6}) != sign_in.event_key(raw)
    assert sign_in.event_id("a") == sign_in.event_id("a") != sign_in.event_id("b")


def test_keycloak_events_become_contract_events() -> None:
    login = sign_in.parse(_raw(1_700_000_000_000, clientId="portal", ipAddress="10.0.0.1", details={"username": "a"}))
    assert login is not None
    event = login.contract_event()
    assert isinstance(event, AuthLoginSucceeded)
    assert event.username == "a"
    assert event.occurred_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)

    failed = sign_in.parse({"id": "x", "time": 1, "type": "LOGIN_ERROR", "error": "invalid_user_credentials"})
    assert failed is not None
    assert isinstance(failed.contract_event(), AuthLoginFailed)

    update = sign_in.parse(_raw(2, "UPDATE_PASSWORD", details={"custom_required_action": "UPDATE_PASSWORD"}))
    assert update is not None
    assert isinstance(update.contract_event(username_fallback="sgd-hn"), AuthPasswordUpdated)
    # Keycloak 24+ repeats the required-action change as UPDATE_CREDENTIAL: dropped as a twin
    twin = _raw(2, "UPDATE_CREDENTIAL", details={"credential_type": "password", "custom_required_action": "x"})
    assert sign_in.parse(twin) is None
    console = _raw(3, "UPDATE_CREDENTIAL", details={"credential_type": "password"})
    assert sign_in.parse(console) is not None
    assert sign_in.parse(_raw(4, "UPDATE_CREDENTIAL", details={"credential_type": "otp"})) is None
    assert sign_in.parse(_raw(5, "CLIENT_LOGIN")) is None
    assert sign_in.parse(_raw(6, "REFRESH_TOKEN")) is None


def test_failed_logins_are_counted_per_account_else_per_address_in_epoch_aligned_windows() -> None:
    known = sign_in.parse({"type": "LOGIN_ERROR", "time": 1, "userId": "u-1", "ipAddress": "203.0.113.7", "error": "x"})
    unknown = sign_in.parse(
        {"type": "LOGIN_ERROR", "time": 1, "ipAddress": "203.0.113.7", "details": {"username": "ghost"}}
    )
    nowhere = sign_in.parse({"type": "LOGIN_ERROR", "time": 1})
    assert known is not None
    assert unknown is not None
    assert nowhere is not None
    callers = [sign_in.failure_caller(e) for e in (known, unknown, nowhere)]
    assert callers == ["user:u-1", "address:203.0.113.7", "unknown"]
    window = sign_in.window_of(datetime(2025, 6, 2, 8, 15, 59, 999000, tzinfo=UTC), 60)
    assert (window.start, window.end) == (
        datetime(2025, 6, 2, 8, 15, tzinfo=UTC),
        datetime(2025, 6, 2, 8, 16, tzinfo=UTC),
    )
    assert sign_in.window_of(window.end, 60).start == window.end  # the end belongs to the next window
