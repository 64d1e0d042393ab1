"""The kit's one mapping from a token to an actor, its one Role enum and its one Vietnam time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from phoi_contracts.events import identity
from phoi_kit.auth import ACTING_ORDER, CurrentUser, Role
from phoi_kit.errors import Forbidden
from phoi_kit.vietnam import VIETNAM_TZ, today_in_vietnam, vietnam_day_end, vietnam_day_start


def user(*roles: Role, unit: str | None = None) -> CurrentUser:
    return CurrentUser(
        user_id="u1", username="nguoi.dung", roles=frozenset(roles), unit_code=unit, session_id=None, issued_at=0
    )


def test_there_is_one_role_enum() -> None:
    assert Role is identity.Role
    assert set(ACTING_ORDER) == set(Role)


@pytest.mark.parametrize(
    ("roles", "acting"),
    [
        ((Role.QLCL_ADMIN, Role.QLCL_OFFICER), Role.QLCL_OFFICER),  # the most capable QLCL role
        ((Role.QLCL_ADMIN, Role.AUDITOR), Role.QLCL_ADMIN),
        ((Role.AUDITOR,), Role.AUDITOR),
        ((Role.UNIT_ACCOUNT, Role.AUDITOR), Role.UNIT_ACCOUNT),  # a unit account acts as its unit
        ((), None),
    ],
)
def test_a_token_acts_under_one_role_everywhere(roles: tuple[Role, ...], acting: Role | None) -> None:
    who = user(*roles, unit="SGD-HN")
    assert who.acting_role is acting
    assert who.actor.role == (acting.value if acting else None)  # the events' actor says the same


def test_act_as_picks_among_the_allowed_roles_and_refuses_the_rest() -> None:
    both = user(Role.QLCL_ADMIN, Role.QLCL_OFFICER)
    assert both.act_as() is Role.QLCL_OFFICER
    assert both.act_as(Role.QLCL_ADMIN, Role.AUDITOR) is Role.QLCL_ADMIN
    with pytest.raises(Forbidden) as refused:
        user(Role.AUDITOR).act_as(Role.UNIT_ACCOUNT, Role.QLCL_OFFICER)
    assert refused.value.code == "role_required"
    with pytest.raises(Forbidden) as nobody:
        user().act_as()
    assert nobody.value.code == "role_required"
    with pytest.raises(Forbidden) as no_unit:
        user(Role.UNIT_ACCOUNT).act_as()
    assert no_unit.value.code == "unit_code_missing"
    assert user(Role.UNIT_ACCOUNT, unit="SGD-HN").act_as() is Role.UNIT_ACCOUNT


def test_vietnamese_days() -> None:
    assert datetime(2025, 6, 1, tzinfo=VIETNAM_TZ).utcoffset() == datetime(2025, 1, 1, tzinfo=VIETNAM_TZ).utcoffset()
    # 17:30 UTC on 31 May is already 1 June in Hà Nội
    assert today_in_vietnam(datetime(2025, 5, 31, 17, 30, tzinfo=UTC)) == date(2025, 6, 1)
    assert vietnam_day_start(date(2025, 6, 1)) == datetime(2025, 5, 31, 17, 0, tzinfo=UTC)
    assert vietnam_day_end(date(2025, 6, 1)) == datetime(2025, 6, 1, 17, 0, tzinfo=UTC)
