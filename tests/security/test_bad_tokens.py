"""Tokens that must not open anything: a bad signature, another issuer or audience, expired, `alg: none`,
signed by a key the realm never published, and those of a locked or handed-over account. Every operation
of every service answers each of them 401 with problem+json — before anything that depends on stored
data, so the well-formed requests of the access matrix's world are sent with them."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from access_policy import SERVICES, build_app, operations, policy
from access_world import WORLDS
from joserfc import jws, jwt
from joserfc.jwk import RSAKey
from phoi_contracts.envelope import Envelope
from phoi_contracts.events.identity import AccountHandedOver, AccountLocked
from phoi_kit import revocation
from phoi_kit.uow import UnitOfWork
from phoi_local.keycloak.keys import KeyStore

MINTED = ("wrong issuer", "wrong audience", "expired")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(jws.extract_compact(token.encode()).payload)
    return claims


def forged(token: str, keycloak: Any) -> dict[str, str]:
    """A real token altered in each way that must be refused. The stand-in's own signing key signs the
    tokens whose only fault is a claim (issuer, audience, expiry); a real Keycloak's key is out of reach."""
    claims = claims_of(token)
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    stranger = RSAKey.generate_key(2048, parameters={"alg": "RS256", "kid": uuid.uuid4().hex}, private=True)
    bad = {
        "bad signature": f"{head}.{payload}.{flipped}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "unknown key": jwt.encode({"alg": "RS256", "kid": stranger.kid}, claims, stranger, algorithms=["RS256"]),
    }
    if keycloak.state_dir is not None:
        keys = KeyStore(keycloak.state_dir, time.time)
        bad["wrong issuer"] = keys.sign({**claims, "iss": "https://evil.example/realms/phoi"})
        bad["wrong audience"] = keys.sign({**claims, "aud": "another-api"})
        bad["expired"] = keys.sign({**claims, "iat": int(time.time()) - 600, "exp": int(time.time()) - 60})
    return bad


async def revoke(svc: Any, event: Any) -> None:
    """The account event reaches the service as its consumer would deliver it; the revocation list reloads."""
    runtime = svc.runtime
    envelope = Envelope.wrap(event, source="/phoi/identity")
    async with runtime.database.session() as session:
        uow = UnitOfWork(session, source=runtime.source)
        await revocation.handlers()[envelope.type](uow, envelope)
        await uow.commit()
    await runtime.revocations.reload()


async def ended_sessions(svc: Any, token_for: Any) -> dict[str, str]:
    """Tokens of an account locked, and of one handed over to a new holder, after they were issued."""
    ended = {}
    for kind, event_type in (("locked account", AccountLocked), ("handed-over account", AccountHandedOver)):
        issued = token_for("qlcl_admin")
        account = {"account_id": uuid.uuid4(), "user_id": issued.user_id, "username": issued.username}
        extra = {"reason": "suspected compromise"} if event_type is AccountLocked else {"new_holder": "Lê Văn Cường"}
        await revoke(svc, event_type(**account, **extra, tokens_not_before=datetime.now(UTC)))
        ended[kind] = issued.access_token
    return ended


def _unauthorised(response: httpx.Response) -> str | None:
    kind = response.headers.get("content-type", "").split(";")[0]
    if response.status_code != 401 or kind != "application/problem+json":
        return f"answered {response.status_code} {kind}: {response.text[:200]}"
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_the_policy_names_only_one_public_operation(service: str) -> None:
    public = [key for key, rule in policy()[service].items() if rule.public]
    assert public == (["POST /api/v1/access-reports"] if service == "identity" else [])


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_refuses_every_bad_token(
    service: str, api_app: Any, service_app: Any, tokens: Callable[..., dict[str, str]], token_for: Any, keycloak: Any
) -> None:
    # audit on a database of its own, as in the matrix (its reads need transactions of their own)
    running = service_app(service, background=False) if service == "audit" else api_app(service)
    async with running as svc:
        world = await WORLDS[service](svc, tokens)
        bad = forged(tokens("auditor")["Authorization"].removeprefix("Bearer "), keycloak)
        bad.update(await ended_sessions(svc, token_for))
        found = []
        for op in operations(build_app(service), service):
            if policy()[service][op.key].public:
                continue
            for kind, token in bad.items():
                request = world.request(op, world.own)
                request["headers"] = {**request["headers"], "Authorization": f"Bearer {token}"}
                if (difference := _unauthorised(await svc.client.request(**request))) is not None:
                    found.append(f"{service} {op.key} with a token of {kind}: {difference}")
            # Without a token, and without the body and If-Match it needs: the token comes first.
            bare = await svc.client.request(op.method, world.request(op, world.own)["url"])
            if (difference := _unauthorised(bare)) is not None:
                found.append(f"{service} {op.key} with nothing at all: {difference}")
    assert found == [], "\n".join(found)
    if keycloak.state_dir is None:
        pytest.skip(f"{', '.join(MINTED)}: a real Keycloak's signing key is out of reach; the rest passed")
