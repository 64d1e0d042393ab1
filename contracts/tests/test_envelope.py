"""The envelope: wrapping, routing to topics, wire format."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from phoi_contracts import topics
from phoi_contracts.envelope import SYSTEM_ACTOR, Actor, Envelope
from phoi_contracts.events import AccessDenied, AuditCheckpoint, DataExported, RequestApproved
from phoi_contracts.examples import EXAMPLES
from pydantic import ValidationError

DENIED = AccessDenied.model_validate(EXAMPLES["security.access_denied.v1"])
APPROVED = RequestApproved.model_validate(EXAMPLES["request.approved.v1"])


@pytest.mark.parametrize("topic", topics.ALL)
def test_any_producer_events_go_to_the_producers_topic(topic: str) -> None:
    for event in (DENIED, DataExported.model_validate(EXAMPLES["data.exported.v1"])):
        envelope = Envelope.wrap(event, source=topics.SOURCES[topic])
        assert envelope.topic == topic
        assert Envelope.from_bytes(envelope.to_bytes()).topic == topic


def test_any_producer_event_from_an_unknown_source_has_no_topic() -> None:
    envelope = Envelope.wrap(DENIED, source="/phoi/portal")
    with pytest.raises(ValueError, match="unknown event source"):
        _ = envelope.topic
    with pytest.raises(ValueError, match="unknown event source"):
        AccessDenied.topic_for("/phoi/portal")


def test_fixed_topic_events_keep_their_topic_whatever_the_source() -> None:
    assert Envelope.wrap(APPROVED, source=topics.SOURCES[topics.REQUESTS]).topic == topics.REQUESTS
    assert Envelope.wrap(APPROVED, source="tests").topic == topics.REQUESTS
    assert RequestApproved.topic_for("/phoi/portal") == topics.REQUESTS


def test_wrap_defaults_and_overrides() -> None:
    envelope = Envelope.wrap(APPROVED, source="/phoi/requests")
    assert envelope.subject == str(APPROVED.request_id)
    assert envelope.key == str(APPROVED.request_id).encode()
    assert envelope.actor == SYSTEM_ACTOR
    assert envelope.time.tzinfo is not None
    assert envelope.id != Envelope.wrap(APPROVED, source="/phoi/requests").id

    event_id = uuid.uuid5(uuid.NAMESPACE_URL, "keycloak:abc")
    at = datetime(2025, 6, 1, 1, 2, 3, tzinfo=UTC)
    fixed = Envelope.wrap(APPROVED, source="/phoi/requests", subject="other", event_id=event_id, time=at)
    assert (fixed.id, fixed.time, fixed.subject) == (event_id, at, "other")

    checkpoint = AuditCheckpoint.model_validate(EXAMPLES["audit.checkpoint.v1"])
    assert Envelope.wrap(checkpoint, source="/phoi/audit").subject == "audit-chain"
    assert Envelope.wrap(DENIED, source="/phoi/inventory").subject == DENIED.user_id


def test_envelope_rejects_naive_time_and_bad_type() -> None:
    with pytest.raises(ValidationError):
        Envelope.wrap(APPROVED, source="/phoi/requests", time=datetime(2025, 6, 1))
    with pytest.raises(ValidationError):
        Envelope(type="RequestApproved", source="/phoi/requests", subject="s", data={})
    with pytest.raises(ValidationError):
        Envelope(type="request.approved.v1", source="/phoi/requests", subject="", data={})


def test_wire_format_is_cloudevents_json_and_tolerates_extensions() -> None:
    officer = Actor(user_id="u-1", username="canbo.qlcl", role="qlcl_officer", unit_code="QLCL")
    envelope = Envelope.wrap(APPROVED, source="/phoi/requests", actor=officer, correlation_id="c-1")
    body = json.loads(envelope.to_bytes())
    assert body["specversion"] == "1.0"
    assert body["datacontenttype"] == "application/json"
    assert {"id", "type", "source", "time", "subject", "correlationid", "data"} <= set(body)
    assert {k: body[k] for k in ("actorid", "actorname", "actorrole", "actorunit")} == {
        "actorid": "u-1",
        "actorname": "canbo.qlcl",
        "actorrole": "qlcl_officer",
        "actorunit": "QLCL",
    }
    assert (envelope.actor, envelope.correlation_id) == (officer, "c-1")
    body["someextension"] = "from a newer producer"
    assert Envelope.from_bytes(json.dumps(body).encode()) == envelope
    with pytest.raises(ValidationError):
        Envelope.from_bytes(b"not json")


def test_dead_letter_names() -> None:
    assert topics.dead_letter(topics.REQUESTS) == "phoi.requests.dlq"
    assert topics.is_dead_letter("phoi.requests.dlq")
    assert not topics.is_dead_letter(topics.REQUESTS)
    assert {topics.topic_for_source(topics.source_for(t)) for t in topics.ALL} == set(topics.ALL)
    with pytest.raises(ValueError, match="unknown topic"):
        topics.source_for("phoi.portal")
