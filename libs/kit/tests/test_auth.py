"""Token validation and authorisation, with real tokens from the Keycloak stand-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter
from phoi_contracts import topics
from phoi_contracts.envelope import Envelope
from phoi_contracts.events.identity import AccountLocked, AccountUnlocked
from phoi_kit.app import User
from phoi_kit.auth import Role, TokenValidator
from phoi_kit.db import Database
from phoi_kit.errors import Unauthorized
from phoi_local.testkit import wait_for
from sqlalchemy import text

guarded = APIRouter(prefix="/api/v1")


@guarded.post("/admin-only")
async def admin_only(user: User) -> dict[str, str]:
    user.require(Role.QLCL_ADMIN)
    return {"ok": user.username}


@guarded.get("/units/{code}/secret")
async def unit_secret(code: str, user: User) -> dict[str, str]:
    user.ensure_unit_scope(code, what="unit")
    return {"unit": code}


@pytest.fixture
async def kit_service(kit_app: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Database, str]]:
    async with kit_app([guarded]) as service:
        yield service


async def test_token_from_phoi_cli_identifies_the_user(kit_service: Any, token_for: Any) -> None:
    client, _, _ = kit_service
    issued = token_for("unit_account", "SGD-HN")
    me = (await client.get("/api/v1/me", headers=issued.headers)).json()
    assert me == {
        "user_id": issued.user_id,
        "username": issued.username,
        "roles": ["unit_account"],
        "unit_code": "SGD-HN",
    }


@pytest.mark.parametrize(
    "header", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]
)
async def test_bad_tokens_are_refused(kit_service: Any, header: str) -> None:
    client, _, _ = kit_service
    response = await client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_token", "missing_token"}


async def test_validator_checks_audience_and_issuer(keycloak: Any, token_for: Any) -> None:
    issued = token_for("auditor")
    jwks = f"{keycloak.issuer}/protocol/openid-connect/certs"
    good = TokenValidator(issuer=keycloak.issuer, jwks_url=jwks, audience="phoi-api")
    claims = await good.validate(issued.access_token)
    assert claims["preferred_username"] == issued.username
    for wrong in (
        TokenValidator(issuer=keycloak.issuer, jwks_url=jwks, audience="another-api"),
        TokenValidator(issuer="https://evil.example/realms/phoi", jwks_url=jwks, audience="phoi-api"),
    ):
        with pytest.raises(Unauthorized):
            await wrong.validate(issued.access_token)
        await wrong.aclose()
    await good.aclose()


async def test_role_guard_refuses_and_the_refusal_is_published(kit_service: Any, token_for: Any) -> None:
    client, db, _ = kit_service
    officer = token_for("qlcl_officer")
    refused = await client.post("/api/v1/admin-only", headers=officer.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "role_required"
    admin = token_for("qlcl_admin")
    assert (await client.post("/api/v1/admin-only", headers=admin.headers)).status_code == 200
    async with db.session() as s:
        rows = (await s.execute(text("SELECT topic, type, payload FROM outbox"))).all()
    assert [(r.topic, r.type) for r in rows] == [("phoi.audit", "security.access_denied.v1")]
    data = Envelope.model_validate_json(rows[0].payload).data
    assert data["user_id"] == officer.user_id
    assert data["path"] == "/api/v1/admin-only"


async def test_a_unit_sees_another_units_data_as_not_found(kit_service: Any, token_for: Any) -> None:
    client, _, _ = kit_service
    hn = token_for("unit_account", "SGD-HN")
    assert (await client.get("/api/v1/units/SGD-HN/secret", headers=hn.headers)).status_code == 200
    other = await client.get("/api/v1/units/SGD-HCM/secret", headers=hn.headers)
    assert other.status_code == 404
    auditor = token_for("auditor")
    assert (await client.get("/api/v1/units/SGD-HCM/secret", headers=auditor.headers)).status_code == 200


async def publish_identity_event(broker: Any, prefix: str, event: Any) -> None:
    envelope = Envelope.wrap(event, source="/phoi/identity")
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(prefix + topics.IDENTITY, envelope.to_bytes(), key=envelope.key)
    finally:
        await producer.stop()


async def test_locked_account_is_refused_within_seconds_until_unlocked(
    kit_service: Any, token_for: Any, broker: Any, keycloak: Any
) -> None:
    client, _, prefix = kit_service
    victim = token_for("unit_account", "SGD-HN")
    bystander = token_for("unit_account", "SGD-HCM")
    assert (await client.get("/api/v1/me", headers=victim.headers)).status_code == 200
    account = {
        "account_id": uuid.uuid4(),
        "user_id": victim.user_id,
        "username": victim.username,
        "unit_code": "SGD-HN",
    }
    lock_time = datetime.now(UTC)
    await publish_identity_event(
        broker, prefix, AccountLocked(**account, reason="suspected compromise", tokens_not_before=lock_time)
    )

    async def status_for(headers: dict[str, str]) -> int:
        answer: httpx.Response = await client.get("/api/v1/me", headers=headers)
        return answer.status_code

    async def refused() -> bool:
        return await status_for(victim.headers) == 401

    await wait_for(refused, timeout=5, what="locked account's token refused")
    assert (await client.get("/api/v1/me", headers=victim.headers)).json()["code"] == "token_revoked"
    assert await status_for(bystander.headers) == 200

    # A token minted after the lock (Keycloak not yet told) is refused too, while the lock stands.
    async def next_second() -> bool:  # iat has whole seconds: get a token from a later second
        return int(datetime.now(UTC).timestamp()) > int(lock_time.timestamp())

    await wait_for(next_second, timeout=3, what="the clock passed the lock's second")
    later = keycloak.openid().token(victim.username, victim.password)["access_token"]
    later_headers = {"Authorization": f"Bearer {later}"}
    assert await status_for(later_headers) == 401

    await publish_identity_event(broker, prefix, AccountUnlocked(**account, reason="resolved"))

    async def accepted() -> bool:
        return await status_for(later_headers) == 200

    await wait_for(accepted, timeout=5, what="token from after the lock accepted once unlocked")
    assert await status_for(victim.headers) == 401, "tokens from before the lock stay refused"


async def test_rotated_signing_keys_are_picked_up_without_restart(tmp_path: Any) -> None:
    from phoi_local.keycloak.process import StandinProcess
    from phoi_local.keycloak.testing import KeycloakTarget, create_test_user

    with StandinProcess(state_dir=tmp_path / "kc") as standin:
        target = KeycloakTarget.for_standin(standin)
        user = create_test_user(target.admin(), role="auditor")
        openid = target.openid()
        before = openid.token(user.username, user.password)["access_token"]
        validator = TokenValidator(
            issuer=standin.issuer, jwks_url=f"{standin.issuer}/protocol/openid-connect/certs", audience="phoi-api"
        )
        await validator.validate(before)  # caches the JWKS that holds only the first key
        new_kid = standin.rotate_keys(grace_seconds=600)
        after = openid.token(user.username, user.password)["access_token"]
        from joserfc import jws

        assert jws.extract_compact(after.encode()).protected["kid"] == new_kid
        assert (await validator.validate(after))["sub"] == user.id  # unknown kid → JWKS re-fetched
        assert (await validator.validate(before))["sub"] == user.id  # the old key stays during its grace
        await validator.aclose()
