"""Sign-in activity: Keycloak's login events are read, kept and published; QLCL sees repeated failures."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from keycloak.exceptions import KeycloakError
from phoi_identity.service.sign_in import poll_once
from phoi_local.testkit import cloudevent_from_record, read_topic, wait_for
from sqlalchemy import text

WRONG_ATTEMPTS = 3


async def test_failed_sign_ins_are_published_and_shown(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, broker: Any, token_for: Any, helpers: Any
) -> None:
    async with identity(login_events_poll_seconds=0.2) as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        account = await helpers.new_unit_account(client, admin_headers, unit["code"])
        openid = keycloak.openid()
        for _ in range(WRONG_ATTEMPTS):
            with pytest.raises(KeycloakError):
                openid.token(account["username"], "Wrong-Password-123")
        quiet = await helpers.new_unit_account(
            client, admin_headers, (await helpers.new_unit(client, admin_headers))["code"]
        )

        async def shown() -> bool:
            report = (await client.get("/api/v1/sign-in-activity", headers=admin_headers)).json()
            return [a["account_id"] for a in report["accounts"]] == [account["id"]] and report["accounts"][0][
                "failures"
            ] == WRONG_ATTEMPTS

        await wait_for(shown, timeout=10, what="repeated failures shown")
        report = (await client.get("/api/v1/sign-in-activity", headers=admin_headers)).json()
        row = report["accounts"][0]
        assert row["username"] == account["username"]
        assert row["unit_code"] == unit["code"]
        assert row["repeated_failures"] is True
        # rapid failures trip Keycloak's brute-force detection (quick-login check): either error is a failure
        assert row["last_failure_error"] in ("invalid_user_credentials", "user_temporarily_disabled")
        assert report["min_failures"] == 3
        # one account's view, whatever its counts; a higher threshold hides it
        one = (await client.get(f"/api/v1/sign-in-activity?account={quiet['id']}", headers=admin_headers)).json()
        assert [(a["account_id"], a["failures"], a["repeated_failures"]) for a in one["accounts"]] == [
            (quiet["id"], 0, False)
        ]
        high = (await client.get("/api/v1/sign-in-activity?min_failures=4", headers=admin_headers)).json()
        assert high["accounts"] == []
        listed = (
            await client.get(
                f"/api/v1/sign-in-activity/events?account={account['id']}&type=auth.login_failed.v1&limit=2",
                headers=admin_headers,
            )
        ).json()
        assert len(listed["items"]) == 2
        rest = (
            await client.get(
                f"/api/v1/sign-in-activity/events?account={account['id']}&type=auth.login_failed.v1&cursor={listed['next_cursor']}",
                headers=admin_headers,
            )
        ).json()
        assert len(rest["items"]) == 1
        assert rest["next_cursor"] is None

        # published on the identity topic as system facts about the account, each once
        async def all_published() -> bool:
            async with svc.runtime.database.session() as session:
                pending = await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                return int(pending.scalar_one()) == 0

        await wait_for(all_published, timeout=10, what="outbox drained")
        assert await poll_once(svc.app.state.identity) == 0  # nothing new: nothing again
        rows = await helpers.outbox(svc)
        records = await read_topic(broker.bootstrap, svc.topic_prefix + "phoi.identity", count=len(rows))
        envelopes = [json.loads(r.value) for r in records]
        for record in records:  # what identity publishes is a CloudEvent to the CloudEvents SDK
            cloudevent_from_record(record)
        failed = [
            e
            for e in envelopes
            if e["type"] == "auth.login_failed.v1" and e["data"]["user_id"] == account["keycloak_user_id"]
        ]
        assert len(failed) == WRONG_ATTEMPTS
        assert len({e["id"] for e in failed}) == WRONG_ATTEMPTS
        assert all(e["actorname"] == "system" and "actorid" not in e for e in failed)
        assert all(e["data"]["username"] == account["username"] for e in failed)
        assert all(e["subject"] == account["keycloak_user_id"] for e in failed)

        # sign-in activity is QLCL's oversight
        assert (
            await client.get("/api/v1/sign-in-activity", headers=token_for("qlcl_officer").headers)
        ).status_code == 403


async def test_a_unit_account_sees_its_own_sign_ins_and_no_one_elses(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(login_events_poll_seconds=0.2) as svc:
        client = svc.client
        own = await helpers.new_unit_account(
            client, admin_headers, (await helpers.new_unit(client, admin_headers))["code"]
        )
        other = await helpers.new_unit_account(
            client, admin_headers, (await helpers.new_unit(client, admin_headers))["code"]
        )
        password = helpers.activate(keycloak, own)
        holder = helpers.bearer(keycloak.openid().token(own["username"], password)["access_token"])
        events = f"/api/v1/sign-in-activity/events?account={own['id']}"

        async def signed_in_seen() -> bool:
            items = (await client.get(events, headers=holder)).json()["items"]
            return any(e["type"] == "auth.login_succeeded.v1" for e in items)

        await wait_for(signed_in_seen, timeout=10, what="the holder's own sign-in listed")
        elsewhere = await client.get(f"/api/v1/sign-in-activity/events?account={other['id']}", headers=holder)
        assert elsewhere.status_code == 404  # another unit's account does not exist, as far as a unit can tell
        everyone = await client.get("/api/v1/sign-in-activity/events", headers=holder)
        assert everyone.status_code == 403
        assert everyone.json()["code"] == "role_required"


FLOOD = 60
BURST = 4
WINDOW_SECONDS = 2


async def test_a_burst_of_failed_sign_ins_is_published_as_a_counted_summary(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, broker: Any, helpers: Any
) -> None:
    settings = {"login_failures_burst": BURST, "login_failures_window_seconds": WINDOW_SECONDS}
    async with identity(login_events_poll_seconds=0.2, **settings) as svc:
        client = svc.client
        account = await helpers.new_unit_account(
            client, admin_headers, (await helpers.new_unit(client, admin_headers))["code"]
        )
        openid = keycloak.openid()
        started = time.monotonic()
        for _ in range(FLOOD):  # the stand-in records each as LOGIN_ERROR, as Keycloak does
            with pytest.raises(KeycloakError):
                openid.token(account["username"], "Wrong-Password-123")
        windows_touched = math.ceil((time.monotonic() - started) / WINDOW_SECONDS) + 1

        activity = f"/api/v1/sign-in-activity?account={account['id']}"

        async def settled() -> bool:  # every failure read, every window closed, every event on the broker
            report = (await client.get(activity, headers=admin_headers)).json()
            open_windows = await helpers.count(svc, "login_failure_windows")
            pending = await helpers.count(svc, "outbox WHERE published_at IS NULL")
            # identity's own sign-in activity still counts every failure
            failures: int = report["accounts"][0]["failures"]
            return failures == FLOOD and open_windows == 0 and pending == 0

        await wait_for(settled, timeout=30, what="failures read, windows closed and the outbox drained")
        user_id = account["keycloak_user_id"]
        mine = [(kind, data) for kind, data in await helpers.outbox(svc) if data.get("user_id") == user_id]
        one_by_one = [data for kind, data in mine if kind == "auth.login_failed.v1"]
        summaries = [data for kind, data in mine if kind == "auth.login_failed_summary.v1"]
        assert len(one_by_one) + sum(s["count"] for s in summaries) == FLOOD  # every failure accounted for
        assert len(one_by_one) <= BURST * windows_touched
        assert len(summaries) <= windows_touched
        assert summaries
        for summary in summaries:
            assert summary["individually_published"] == BURST
            assert sum(summary["errors"].values()) == summary["count"]
            assert set(summary["errors"]) <= {"invalid_user_credentials", "user_temporarily_disabled"}
            assert summary["username"] == account["username"]
            assert summary["first_failed_at"] <= summary["last_failed_at"]
        # the summaries went out on the identity topic as CloudEvents, about the account
        rows = await helpers.outbox(svc)
        records = await read_topic(broker.bootstrap, svc.topic_prefix + "phoi.identity", count=len(rows))
        for record in records:
            cloudevent_from_record(record)
        published = [json.loads(r.value) for r in records]
        counted = [
            e["data"]["count"]
            for e in published
            if e["type"] == "auth.login_failed_summary.v1" and e["subject"] == user_id and e["actorname"] == "system"
        ]
        assert sorted(counted) == sorted(s["count"] for s in summaries)
