"""The catalogue: every type registered once, lookups, topics, round trips through the envelope."""

import inspect
import json
import uuid
from typing import Any

import pytest
from phoi_contracts import events, topics
from phoi_contracts.catalogue import (
    EVENT_TYPES,
    TYPE_PATTERN,
    UnknownEventType,
    build_registry,
    event_class,
    parse_as,
    parse_data,
    types_for_topic,
)
from phoi_contracts.envelope import Actor, Envelope, EventData
from phoi_contracts.events import audit, identity, inventory, requests, security
from phoi_contracts.examples import EXAMPLES
from pydantic import ValidationError

EXPECTED_TYPES = {
    # identity
    "unit.created.v1",
    "unit.updated.v1",
    "unit.deactivated.v1",
    "unit.reactivated.v1",
    "account.created.v1",
    "account.handed_over.v1",
    "account.locked.v1",
    "account.unlocked.v1",
    "account.disabled.v1",
    "account.password_reset.v1",
    "incident.reported.v1",
    "incident.resolved.v1",
    "auth.login_succeeded.v1",
    "auth.login_failed.v1",
    "auth.login_failed_summary.v1",
    "auth.password_updated.v1",
    "auth.logout.v1",
    # requests
    "request.created.v1",
    "request.updated.v1",
    "request.submitted.v1",
    "request.approved.v1",
    "request.rejected.v1",
    "request.returned.v1",
    "request.cancelled.v1",
    "request.receipt_confirmed.v1",
    "request.closed.v1",
    # inventory
    "form_type.created.v1",
    "form_type.updated.v1",
    "print_batch.received.v1",
    "allocation.completed.v1",
    "allocation.waiting_for_stock.v1",
    "allocation.released.v1",
    "stock.received_by_unit.v1",
    "stock.movement_recorded.v1",
    "stock.movement_recorded.v2",
    # any service / audit
    "security.access_denied.v1",
    "security.access_denied_summary.v1",
    "data.exported.v1",
    "audit.checkpoint.v1",
}

MODULE_TOPICS = {
    identity: topics.IDENTITY,
    requests: topics.REQUESTS,
    inventory: topics.INVENTORY,
    audit: topics.AUDIT,
    security: None,
}


def test_catalogue_holds_exactly_the_expected_types() -> None:
    assert set(EVENT_TYPES) == EXPECTED_TYPES
    assert list(EVENT_TYPES) == sorted(EVENT_TYPES)


def test_every_event_class_defined_in_the_modules_is_listed() -> None:
    for module in MODULE_TOPICS:
        defined = {
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, EventData) and cls.__module__ == module.__name__ and "TYPE" in cls.__dict__
        }
        assert defined == set(module.EVENTS), module.__name__


def test_types_follow_the_naming_rule_and_the_key_matches(event_type: str) -> None:
    assert TYPE_PATTERN.match(event_type)
    assert event_type == event_class(event_type).TYPE


def test_topic_of_each_type_is_a_known_topic(event_type: str) -> None:
    cls = event_class(event_type)
    if cls.TOPIC is None:
        # published on the producer's own topic: every producer resolves to one of topics.ALL
        assert {cls.topic_for(topics.SOURCES[t]) for t in topics.ALL} == set(topics.ALL)
    else:
        assert cls.TOPIC in topics.ALL


def test_each_module_publishes_on_its_service_topic() -> None:
    for module, topic in MODULE_TOPICS.items():
        for cls in module.EVENTS:
            assert topic == cls.TOPIC, cls.TYPE


def test_build_registry_rejects_duplicates_and_bad_types() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        build_registry([events.RequestApproved, events.RequestApproved])

    class Badly(EventData):
        TYPE = "RequestApproved"
        TOPIC = topics.REQUESTS

    with pytest.raises(ValueError, match="TYPE must be"):
        build_registry([Badly])

    class Inherited(events.RequestApproved):  # TYPE only inherited: would shadow its parent
        pass

    with pytest.raises(ValueError, match="TYPE must be"):
        build_registry([Inherited])

    class Elsewhere(EventData):
        TYPE = "thing.happened.v1"
        TOPIC = "phoi.nowhere"

    with pytest.raises(ValueError, match="TOPIC"):
        build_registry([Elsewhere])


def test_unknown_type_raises_a_clear_error() -> None:
    with pytest.raises(UnknownEventType) as caught:
        event_class("request.teleported.v1")
    assert isinstance(caught.value, KeyError)
    assert caught.value.event_type == "request.teleported.v1"
    assert "unknown event type 'request.teleported.v1'" in str(caught.value)
    with pytest.raises(UnknownEventType):
        event_class("request.approved.v2")


def test_parse_data_of_unknown_type_raises() -> None:
    envelope = Envelope(type="request.teleported.v1", source="/phoi/requests", subject="x", data={})
    with pytest.raises(UnknownEventType):
        parse_data(envelope)
    with pytest.raises(UnknownEventType):
        _ = envelope.topic


def test_types_for_topic() -> None:
    assert types_for_topic(topics.AUDIT) == (
        "audit.checkpoint.v1",
        "data.exported.v1",
        "security.access_denied.v1",
        "security.access_denied_summary.v1",
    )
    requests_types = types_for_topic(topics.REQUESTS)
    assert "request.approved.v1" in requests_types
    assert "allocation.completed.v1" not in requests_types
    assert "security.access_denied.v1" in requests_types
    assert "security.access_denied_summary.v1" in requests_types
    assert types_for_topic(topics.dead_letter(topics.REQUESTS)) == requests_types
    covered = {t for topic in topics.ALL for t in types_for_topic(topic)}
    assert covered == set(EVENT_TYPES)
    with pytest.raises(ValueError, match="unknown topic"):
        types_for_topic("phoi.nowhere")


def _source_for(cls: type[EventData]) -> str:
    return topics.SOURCES[cls.TOPIC if cls.TOPIC is not None else topics.INVENTORY]


def test_every_type_round_trips_through_the_envelope(event_type: str) -> None:
    cls = event_class(event_type)
    event = cls.model_validate(EXAMPLES[event_type])
    actor = Actor(user_id="u-1", username="qlcl.lan", role="qlcl_officer", unit_code="QLCL")
    correlation_id = str(uuid.uuid4())

    envelope = Envelope.wrap(event, source=_source_for(cls), actor=actor, correlation_id=correlation_id)
    raw = envelope.to_bytes()
    received = Envelope.from_bytes(raw)
    parsed = parse_data(received)

    assert received == envelope
    assert type(parsed) is cls
    assert parsed == event
    assert parse_as(received, cls) == event
    assert received.type == event_type
    assert received.subject == event.default_subject()
    assert received.actor == actor
    assert received.correlation_id == correlation_id
    assert received.topic in topics.ALL
    # the wire form is plain JSON whose data is exactly the example
    assert json.loads(raw)["data"] == EXAMPLES[event_type]


def test_examples_are_complete_and_canonical(event_type: str) -> None:
    """Each example lists every field, so the published schemas show the whole payload."""
    event = event_class(event_type).model_validate(EXAMPLES[event_type])
    assert event.model_dump(mode="json") == EXAMPLES[event_type]


def test_parse_data_rejects_invalid_payloads() -> None:
    data: dict[str, Any] = dict(EXAMPLES["request.approved.v1"])
    envelope = Envelope(type="request.approved.v1", source="/phoi/requests", subject="s", data=data)
    assert isinstance(parse_data(envelope), events.RequestApproved)

    for broken in (
        {k: v for k, v in data.items() if k != "lines"},  # missing field
        {**data, "surprise": 1},  # unknown field
        {**data, "request_id": "not-a-uuid"},
    ):
        with pytest.raises(ValidationError):
            parse_data(envelope.model_copy(update={"data": broken}))


def test_parse_as_refuses_another_type() -> None:
    envelope = Envelope(
        type="request.rejected.v1",
        source="/phoi/requests",
        subject="s",
        data=EXAMPLES["request.rejected.v1"],
    )
    with pytest.raises(ValueError, match=r"expected a request\.approved\.v1"):
        parse_as(envelope, events.RequestApproved)


def test_every_field_and_model_is_documented(event_type: str) -> None:
    schema = event_class(event_type).model_json_schema()
    objects = [schema, *schema.get("$defs", {}).values()]
    for obj in objects:
        assert obj.get("description"), f"{obj.get('title')} has no docstring"
        for name, prop in obj.get("properties", {}).items():
            assert prop.get("description"), f"{event_type}: {obj.get('title')}.{name} has no description"


def test_events_are_frozen_and_forbid_extra_fields() -> None:
    event = events.RequestRejected.model_validate(EXAMPLES["request.rejected.v1"])
    with pytest.raises(ValidationError):
        event.reason = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        events.RequestRejected.model_validate({**EXAMPLES["request.rejected.v1"], "extra": "x"})
    line = events.SerialRange(first=1, last=2)
    with pytest.raises(ValidationError):
        line.first = 3  # type: ignore[misc]
