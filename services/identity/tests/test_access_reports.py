"""The public access-report intake (Article 8.5): someone who cannot sign in reports it to QLCL.

No token; the same answer whether the name given exists or not; an incident only QLCL administrators
and auditors see; no account changed; rate-limited per client address and in all, across replicas
(counted in PostgreSQL under one lock); X-Forwarded-For believed only from a trusted proxy."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from phoi_identity.api.deps import client_address
from phoi_identity.domain import incidents as domain
from sqlalchemy import text

URL = "/api/v1/access-reports"
REFERENCE = re.compile(r"^TN-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")
LOOPBACK = (ip_network("127.0.0.1/32"), ip_network("::1/128"))


def report(reporter: str = "sgd-thu", **extra: Any) -> dict[str, Any]:
    return {
        "reporter": reporter,
        "contact": "0912 345 678",
        "description": "Đăng nhập báo sai mật khẩu dù tôi nhập đúng, từ sáng nay.",
        **extra,
    }


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def public_incidents(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/incidents?source=public&limit=200", headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def envelopes(svc: Any, event_type: str) -> list[dict[str, Any]]:
    async with svc.runtime.database.session() as session:
        rows = (
            await session.execute(text("SELECT payload FROM outbox WHERE type = :t ORDER BY id"), {"t": event_type})
        ).scalars()
        return [json.loads(row) for row in rows]


# --- through the API, against the real parts ---------------------------------------------------------


async def test_a_report_without_a_token_reaches_qlcl_and_changes_no_account(
    identity_api: Any, admin_headers: dict[str, str], token_for: Any, keycloak: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        account = await helpers.new_unit_account(client, admin_headers, unit["code"])
        before = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()
        outbox_before = len(await helpers.outbox(svc))

        # a takeover suspected by someone who cannot sign in, naming a real account: no token sent
        real = await client.post(
            URL,
            json=report(account["username"].upper(), kind="suspected_takeover", contact="an.nguyen@sgd.edu.vn"),
            headers=forwarded("203.0.113.10"),
        )
        # the same from a name nobody has
        unknown = await client.post(URL, json=report("khong-co-ai"), headers=forwarded("203.0.113.11"))

        # the caller cannot tell them apart: same status, same shape, a reference only
        for answer in (real, unknown):
            assert answer.status_code == 202, answer.text
            assert answer.headers["cache-control"] == "no-store"
            assert list(answer.json()) == ["reference"]
            assert REFERENCE.match(answer.json()["reference"])
        assert real.json()["reference"] != unknown.json()["reference"]

        # QLCL sees both, with what the reporter said and where from
        listed = {i["reference"]: i for i in await public_incidents(client, admin_headers)}
        assert set(listed) == {real.json()["reference"], unknown.json()["reference"]}
        takeover = listed[real.json()["reference"]]
        assert takeover["source"] == "public"
        assert takeover["kind"] == "suspected_takeover"
        assert takeover["status"] == "open"
        assert takeover["account_id"] == account["id"]  # matched, for QLCL's convenience
        assert takeover["unit_code"] == unit["code"]
        assert takeover["account_locked"] is False
        assert takeover["reporter"] == {
            "name": account["username"].upper(),
            "contact": "an.nguyen@sgd.edu.vn",
            "address": "203.0.113.10",
        }
        assert takeover["reported_by"] == "anonymous"
        stranger = listed[unknown.json()["reference"]]
        assert stranger["kind"] == "unreachable"  # cannot_access is the default
        assert stranger["account_id"] is None
        assert stranger["unit_code"] is None
        detail = await client.get(f"/api/v1/incidents/{takeover['id']}", headers=admin_headers)
        assert detail.status_code == 200
        assert detail.json() == takeover
        by_reference = await client.get(
            f"/api/v1/incidents?reference={real.json()['reference'].lower()}", headers=admin_headers
        )
        assert [i["id"] for i in by_reference.json()["items"]] == [takeover["id"]]
        auditor = token_for("auditor").headers
        assert {i["id"] for i in await public_incidents(client, auditor)} == {takeover["id"], stranger["id"]}

        # the unit named (whose account may be in the wrong hands) does not see it
        unit_token = token_for("unit_account", unit_code=unit["code"]).headers
        assert (await client.get("/api/v1/incidents", headers=unit_token)).json()["items"] == []
        hidden = await client.get(f"/api/v1/incidents/{takeover['id']}", headers=unit_token)
        assert hidden.status_code == 404

        # nothing but the incident list changed: the account is as it was, enabled in Keycloak
        after = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()
        assert after == before
        assert after["status"] == "pending_first_login"
        assert keycloak.admin().get_user(account["keycloak_user_id"])["enabled"] is True
        added = (await helpers.outbox(svc))[outbox_before:]
        assert [kind for kind, _ in added] == ["incident.reported.v1", "incident.reported.v1"]

        # audited: the event is in the outbox, by the anonymous actor, filed under no unit
        published = {e["data"]["reference"]: e for e in await envelopes(svc, "incident.reported.v1")}
        event = published[real.json()["reference"]]
        assert event["actorname"] == "anonymous"
        assert "actorid" not in event  # CloudEvents extensions without a value are left out
        assert event["data"] == {
            "incident_id": takeover["id"],
            "kind": "suspected_takeover",
            "account_id": account["id"],
            "unit_code": None,
            "description": takeover["description"],
            "occurred_at": None,
            "source": "public",
            "reporter": takeover["reporter"],
            "reference": real.json()["reference"],
        }


async def test_the_next_report_from_one_address_within_the_hour_is_refused(
    identity_api: Any, admin_headers: dict[str, str], helpers: Any
) -> None:
    async with identity_api(public_reports_per_hour=2) as svc:
        client = svc.client
        for _ in range(2):
            accepted = await client.post(URL, json=report(), headers=forwarded("198.51.100.7"))
            assert accepted.status_code == 202, accepted.text
        outbox_before = await helpers.outbox(svc)

        refused = await client.post(URL, json=report(), headers=forwarded("198.51.100.7"))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "rate_limited"
        wait = int(refused.headers["retry-after"])
        assert 3500 < wait <= 3600  # the first report leaves the window in about an hour
        assert refused.json()["retry_after"] == wait
        assert await helpers.count(svc, "incidents") == 2
        assert await helpers.outbox(svc) == outbox_before

        # another address is not held up
        other = await client.post(URL, json=report(), headers=forwarded("198.51.100.8"))
        assert other.status_code == 202, other.text

        # the window slides: once the oldest report is older than an hour, one more is accepted
        async with svc.runtime.database.session() as session:
            await session.execute(
                text(
                    "UPDATE incidents SET reported_at = now() - interval '61 minutes' WHERE id = "
                    "(SELECT id FROM incidents WHERE reporter_address = '198.51.100.7' ORDER BY reported_at LIMIT 1)"
                )
            )
            await session.commit()
        again = await client.post(URL, json=report(), headers=forwarded("198.51.100.7"))
        assert again.status_code == 202, again.text
        assert len(await public_incidents(client, admin_headers)) == 4


async def test_racing_reports_from_one_address_never_pass_the_limit(identity: Any, helpers: Any) -> None:
    async with identity(public_reports_per_hour=3, background=False) as svc:
        answers = await asyncio.gather(
            *(svc.client.post(URL, json=report(), headers=forwarded("192.0.2.55")) for _ in range(8))
        )
        assert sorted(a.status_code for a in answers) == [202] * 3 + [429] * 5
        assert await helpers.count(svc, "incidents") == 3


async def test_a_global_cap_bounds_a_flood_from_many_addresses(identity_api: Any, helpers: Any) -> None:
    async with identity_api(public_reports_per_hour=5, public_reports_global_per_hour=3) as svc:
        for n in range(3):
            accepted = await svc.client.post(URL, json=report(), headers=forwarded(f"192.0.2.{n + 1}"))
            assert accepted.status_code == 202, accepted.text
        refused = await svc.client.post(URL, json=report(), headers=forwarded("192.0.2.99"))
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) > 0
        assert await helpers.count(svc, "incidents") == 3


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    identity_api: Any, admin_headers: dict[str, str]
) -> None:
    async with identity_api(public_reports_per_hour=1, trusted_proxies="10.0.0.0/8") as svc:
        # the test client's peer (127.0.0.1) is not trusted here: its X-Forwarded-For is ignored
        first = await svc.client.post(URL, json=report(), headers=forwarded("203.0.113.1"))
        assert first.status_code == 202, first.text
        spoofed = await svc.client.post(URL, json=report(), headers=forwarded("203.0.113.2"))
        assert spoofed.status_code == 429, "a new X-Forwarded-For from an untrusted peer must not reset the limit"

        # the portal (a trusted proxy) forwards two browsers' addresses: each has its own allowance
        transport = httpx.ASGITransport(app=svc.app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://identity.test") as portal:
            for browser in ("203.0.113.20", "203.0.113.21"):
                accepted = await portal.post(URL, json=report(), headers=forwarded(browser))
                assert accepted.status_code == 202, accepted.text
            again = await portal.post(URL, json=report(), headers=forwarded("203.0.113.20"))
            assert again.status_code == 429
            # what the browser itself claims in front of the real hop is not believed
            chained = await portal.post(URL, json=report(), headers=forwarded("203.0.113.20, 203.0.113.22"))
            assert chained.status_code == 202, chained.text

        addresses = sorted(i["reporter"]["address"] for i in await public_incidents(svc.client, admin_headers))
        assert addresses == ["127.0.0.1", "203.0.113.20", "203.0.113.21", "203.0.113.22"]


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("no reporter", {k: v for k, v in report().items() if k != "reporter"}, "reporter"),
    ("empty reporter", report("  "), "reporter"),
    ("long reporter", report("x" * 65), "reporter"),
    ("NUL", report("sgd\x00thu"), "reporter"),
    ("bidi override", report("sgd-thu\u202e"), "reporter"),
    ("no contact", {k: v for k, v in report().items() if k != "contact"}, "contact"),
    ("neither phone nor email", report(contact="gọi cho tôi"), "contact"),
    ("line break in contact", report(contact="0912\n345 678"), "contact"),
    ("long contact", report(contact="a@b.vn" + "x" * 250), "contact"),
    ("short description", report(description="ngắn"), "description"),
    ("long description", report(description="x" * 4001), "description"),
    ("bell in description", report(description="Không vào được\x07 phần mềm"), "description"),
    ("kind other", report(kind="other"), "kind"),
    ("kind a number", report(kind=1), "kind"),
    ("unknown field", report(account_id="22222222-2222-4222-8222-222222222222"), "account_id"),
]


async def test_bad_input_is_a_422_naming_the_field_and_creates_nothing(identity_api: Any, helpers: Any) -> None:
    async with identity_api() as svc:
        for case, body, field in BAD_INPUT:
            answer = await svc.client.post(URL, json=body)
            assert answer.status_code == 422, (case, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            problem = answer.json()
            assert problem["code"] == "validation_failed"
            assert any(field in error["loc"] for error in problem["errors"]), (case, problem)
        assert await helpers.count(svc, "incidents") == 0
        assert await helpers.outbox(svc) == []


async def test_a_multi_line_description_is_kept_as_written(identity_api: Any, admin_headers: dict[str, str]) -> None:
    async with identity_api() as svc:
        description = "Sáng nay không đăng nhập được.\nMáy báo: tài khoản bị khoá.\tĐã thử lại 3 lần."
        answer = await svc.client.post(URL, json=report(description=f"  {description}\n", kind="cannot_access"))
        assert answer.status_code == 202, answer.text
        (incident,) = await public_incidents(svc.client, admin_headers)
        assert incident["description"] == description


# --- the rules, on plain values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "header", "trusted", "expected"),
    [
        ("127.0.0.1", [], LOOPBACK, "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.5"], LOOPBACK, "203.0.113.5"),
        ("::1", ["2001:db8::5"], LOOPBACK, "2001:db8::5"),
        ("198.51.100.1", ["203.0.113.5"], LOOPBACK, "198.51.100.1"),  # an untrusted peer
        ("127.0.0.1", ["198.51.100.9, 203.0.113.5"], LOOPBACK, "203.0.113.5"),  # the nearest hop only
        ("127.0.0.1", ["198.51.100.9", "203.0.113.5"], LOOPBACK, "203.0.113.5"),  # repeated header
        ("127.0.0.1", ["198.51.100.9, 127.0.0.1"], LOOPBACK, "198.51.100.9"),  # two trusted hops
        ("127.0.0.1", ["not-an-address"], LOOPBACK, "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.5, garbage"], LOOPBACK, "127.0.0.1"),
        ("127.0.0.1", ["::ffff:203.0.113.5"], LOOPBACK, "203.0.113.5"),
        ("10.4.0.7", ["203.0.113.5"], (ip_network("10.0.0.0/8"),), "203.0.113.5"),
        (None, ["203.0.113.5"], LOOPBACK, "unknown"),
    ],
)
def test_client_address(peer: str | None, header: list[str], trusted: Any, expected: str) -> None:
    assert client_address(peer, header, trusted) == expected


def test_retry_after_counts_from_the_report_that_frees_a_slot() -> None:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    newest = [at - timedelta(minutes=m) for m in (1, 10, 50)]
    assert domain.retry_after(newest[:2], 3, at) is None
    assert domain.retry_after(newest, 3, at) == 10 * 60  # the 50-minute-old one leaves in 10 minutes
    assert domain.retry_after(newest, 2, at) == 50 * 60
    assert domain.retry_after([at - timedelta(minutes=60)], 1, at) == 1  # never 0


def test_control_characters_and_references() -> None:
    assert domain.control_character("Nguyễn Văn An") is None
    assert domain.control_character("a\x00b") == "U+0000"
    assert domain.control_character("a\nb") == "U+000A"
    assert domain.control_character("a\nb\tc\r", multiline=True) is None
    assert domain.control_character("a\x7fb", multiline=True) == "U+007F"
    assert domain.control_character("a\u2066b", multiline=True) == "U+2066"
    assert domain.control_character("a\ud800b") == "U+D800"
    references = {domain.new_reference() for _ in range(200)}
    assert len(references) == 200
    assert all(REFERENCE.match(r) for r in references)
    assert domain.parse_public_kind("CANNOT_ACCESS").value == "unreachable"
    with pytest.raises(ValueError, match="cannot_access"):
        domain.parse_public_kind("other")
