"""The envelope is a CloudEvents 1.0 event: the CloudEvents SDK reads every example, and old forms convert."""

import json
from typing import Any

import pytest
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from phoi_contracts.envelope import (
    ACTOR_ATTRIBUTES,
    SYSTEM_ACTOR,
    Actor,
    Envelope,
    conformant,
)
from phoi_contracts.events import RequestApproved
from phoi_contracts.examples import EXAMPLES, example_envelope
from phoi_local.testkit import cloudevent_from_json

APPROVED = RequestApproved.model_validate(EXAMPLES["request.approved.v1"])
OFFICER = Actor(user_id="u-1", username="canbo.qlcl", role="qlcl_officer", unit_code="QLCL")


def _legacy_body(envelope: Envelope) -> dict[str, Any]:
    """`envelope` as it was serialised before it followed CloudEvents (an actor object, correlation_id)."""
    body: dict[str, Any] = json.loads(envelope.to_bytes())
    for name in ACTOR_ATTRIBUTES:
        body.pop(name, None)
    body.pop("correlationid", None)
    body["actor"] = envelope.actor.model_dump()
    body["correlation_id"] = envelope.correlation_id
    return body


def test_every_example_is_read_by_the_cloudevents_sdk(event_type: str) -> None:
    envelope = example_envelope(event_type)
    raw = envelope.to_bytes()
    event = cloudevent_from_json(raw)

    assert (event.get_id(), event.get_type(), event.get_source()) == (str(envelope.id), event_type, envelope.source)
    assert (event.get_subject(), event.get_time()) == (envelope.subject, envelope.time)
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == envelope.data
    assert event.get_extension("correlationid") == envelope.correlation_id
    actor = envelope.actor
    assert event.get_extension("actorname") == actor.username
    assert [event.get_extension(name) for name in ("actorid", "actorrole", "actorunit")] == [
        actor.user_id,
        actor.role,
        actor.unit_code,
    ]
    # round trips: through the model, and through the SDK's own writer
    assert Envelope.from_bytes(raw) == envelope
    assert Envelope.from_bytes(JSONFormat().write(event)) == envelope


def test_unknown_extension_values_are_left_out_and_the_system_actor_is_named() -> None:
    body = json.loads(Envelope.wrap(APPROVED, source="/phoi/requests").to_bytes())
    assert None not in body.values()
    assert body["actorname"] == "system"
    assert not {"correlationid", "actorid", "actorrole", "actorunit"} & body.keys()
    assert Envelope.from_bytes(json.dumps(body).encode()).actor == SYSTEM_ACTOR
    # an envelope built without any actor is a system action too
    bare = Envelope(type="request.approved.v1", source="/phoi/requests", subject="s", data={})
    assert bare.actor == SYSTEM_ACTOR
    assert json.loads(bare.to_bytes())["actorname"] == "system"


def test_events_from_other_cloudevents_producers_are_read() -> None:
    envelope = Envelope.wrap(APPROVED, source="/phoi/requests", actor=OFFICER, correlation_id="c-1")
    body = {**json.loads(envelope.to_bytes()), "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    event = cloudevent_from_json(json.dumps(body).encode())
    assert Envelope.from_bytes(JSONFormat().write(event)) == envelope


def test_the_sdk_and_the_checks_refuse_the_legacy_form() -> None:
    """What the envelope used to be is not a CloudEvent: the checks used on every example must say so."""
    legacy = _legacy_body(Envelope.wrap(APPROVED, source="/phoi/requests", actor=OFFICER, correlation_id="c-1"))
    with pytest.raises(CloudEventValidationError, match="correlation_id"):
        cloudevent_from_json(json.dumps(legacy).encode())
    del legacy["correlation_id"]
    with pytest.raises(AssertionError, match="extension actor is a dict"):
        cloudevent_from_json(json.dumps(legacy).encode())


@pytest.mark.parametrize("actor", [OFFICER, SYSTEM_ACTOR, Actor(user_id="u-2", username="sgd-hni")])
@pytest.mark.parametrize("correlation_id", ["c-1", None])
def test_legacy_envelopes_are_read_and_converted(actor: Actor, correlation_id: str | None) -> None:
    envelope = Envelope.wrap(APPROVED, source="/phoi/requests", actor=actor, correlation_id=correlation_id)
    legacy = json.dumps(_legacy_body(envelope)).encode()

    assert Envelope.from_bytes(legacy) == envelope  # records still on the log
    assert (Envelope.from_bytes(legacy).actor, Envelope.from_bytes(legacy).correlation_id) == (actor, correlation_id)
    converted = conformant(legacy)  # outbox rows the relay has yet to publish
    assert converted == envelope.to_bytes()
    cloudevent_from_json(converted)


def test_conformant_leaves_everything_else_alone() -> None:
    current = Envelope.wrap(APPROVED, source="/phoi/requests", correlation_id="c-1").to_bytes()
    assert conformant(current) is current
    inner = json.dumps({"specversion": "1.0", "data": {"correlation_id": "x", "actor": {}}}).encode()
    assert conformant(inner) is inner
    for other in (b'not json "correlation_id"', b'["correlation_id"]', b'{"correlation_id": 1, "actor": 2}'):
        assert conformant(other) is other


def test_the_python_side_takes_an_actor_object() -> None:
    envelope = Envelope(
        type="request.approved.v1", source="/phoi/requests", subject="s", actor=OFFICER, correlation_id="c", data={}
    )
    assert (envelope.actor, envelope.correlation_id) == (OFFICER, "c")
    assert (envelope.actorid, envelope.actorname, envelope.actorrole, envelope.actorunit) == (
        "u-1",
        "canbo.qlcl",
        "qlcl_officer",
        "QLCL",
    )
    for bad in ("canbo.qlcl", None, {"user_id": 5}):
        with pytest.raises(ValueError, match=r"actor|user_id"):
            Envelope(type="request.approved.v1", source="/phoi/requests", subject="s", actor=bad, data={})
