"""The exported JSON Schemas and AsyncAPI document: committed, current, and coherent."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from phoi_contracts import export, topics
from phoi_contracts.catalogue import EVENT_TYPES, SUPERSEDED, types_for_topic
from phoi_contracts.examples import EXAMPLES, example_envelope
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACTS_DIR = Path(__file__).resolve().parents[1]

BASE = "https://contracts.phoi.invalid/"
STALE_HINT = "run `make schemas` (python -m phoi_contracts.export) and commit the result"


def _committed_asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CONTRACTS_DIR / export.ASYNCAPI_FILE).read_text("utf-8"))
    return document


def _registry() -> Registry:
    """The committed schema files, addressed as BASE + their path relative to contracts/."""
    resources = [
        (f"{BASE}schemas/{path.name}", Resource.from_contents(json.loads(path.read_text("utf-8")), DRAFT202012))
        for path in sorted((CONTRACTS_DIR / "schemas").glob("*.json"))
    ]
    return Registry().with_resources(resources)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _pointer(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


# --- the committed files are what the models generate ----------------------------------------------


@pytest.mark.parametrize("rel", sorted(export.render_all()))
def test_committed_file_is_current(rel: str) -> None:
    path = CONTRACTS_DIR / rel
    assert path.is_file(), f"{rel} is missing: {STALE_HINT}"
    assert path.read_text("utf-8") == export.render_all()[rel], f"{rel} is out of date: {STALE_HINT}"


def test_no_stale_schema_files() -> None:
    expected = {Path(rel).name for rel in export.render_all() if rel.startswith("schemas/")}
    present = {p.name for p in (CONTRACTS_DIR / "schemas").glob("*.json")}
    assert present == expected, f"schemas/ holds files no model generates: {STALE_HINT}"


def test_one_schema_per_type_plus_the_envelope() -> None:
    names = set(export.render_schemas())
    assert names == {f"{t}.json" for t in EVENT_TYPES} | {"envelope.json"}


def test_rendering_is_deterministic_and_ends_with_a_newline() -> None:
    first, second = export.render_all(), export.render_all()
    assert first == second
    assert list(first) == sorted(first)
    for rel, text in first.items():
        assert text.endswith("\n"), rel
        assert not text.endswith("\n\n"), rel
        if rel.endswith(".json"):
            assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_check_and_write_detect_and_repair_drift(tmp_path: Path) -> None:
    assert export.check(tmp_path) == sorted(export.render_all())  # nothing there yet
    written = export.write(tmp_path)
    assert len(written) == len(export.render_all())
    assert export.check(tmp_path) == []
    assert export.main(["--check", "--out", str(tmp_path)]) == 0

    approved = tmp_path / "schemas" / "request.approved.v1.json"
    approved.write_text(approved.read_text("utf-8").replace("approved_quantity", "approved_qty"), "utf-8")
    stale = tmp_path / "schemas" / "request.teleported.v1.json"
    stale.write_text("{}\n", "utf-8")
    assert export.check(tmp_path) == ["schemas/request.approved.v1.json", "schemas/request.teleported.v1.json"]
    assert export.main(["--check", "--out", str(tmp_path)]) == 1

    assert set(export.write(tmp_path)) == {approved, stale}
    assert not stale.exists()
    assert export.check(tmp_path) == []
    assert export.write(tmp_path) == []


# --- the JSON Schemas agree with the models ----------------------------------------------------------


def test_schemas_are_valid_draft_2020_12() -> None:
    for path in sorted((CONTRACTS_DIR / "schemas").glob("*.json")):
        schema = json.loads(path.read_text("utf-8"))
        assert schema["$schema"] == export.JSON_SCHEMA_DIALECT
        Draft202012Validator.check_schema(schema)


def test_examples_validate_against_the_committed_schema(event_type: str) -> None:
    schema = json.loads((CONTRACTS_DIR / "schemas" / f"{event_type}.json").read_text("utf-8"))
    validator = Draft202012Validator(schema)
    validator.validate(EXAMPLES[event_type])
    assert schema["examples"] == [EXAMPLES[event_type]]
    assert schema["x-event-type"] == event_type
    # the schema is not vacuous: it refuses what the model refuses
    with pytest.raises(SchemaError):
        validator.validate({**EXAMPLES[event_type], "unexpected": 1})
    required = schema["required"]
    assert required, event_type
    with pytest.raises(SchemaError):
        validator.validate({k: v for k, v in EXAMPLES[event_type].items() if k != required[0]})


def test_envelope_schema_accepts_real_envelopes(event_type: str) -> None:
    schema = json.loads((CONTRACTS_DIR / "schemas" / "envelope.json").read_text("utf-8"))
    body = json.loads(example_envelope(event_type).to_bytes())
    Draft202012Validator(schema).validate(body)
    with pytest.raises(SchemaError):
        Draft202012Validator(schema).validate({k: v for k, v in body.items() if k != "subject"})


# --- the AsyncAPI document ----------------------------------------------------------------------------


def test_asyncapi_header() -> None:
    document = _committed_asyncapi()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert document["defaultContentType"] == "application/json"


def test_asyncapi_channels_are_the_topics_and_their_dead_letters() -> None:
    channels = _committed_asyncapi()["channels"]
    expected = {t for topic in topics.ALL for t in (topic, topics.dead_letter(topic))}
    assert set(channels) == expected
    for name, channel in channels.items():
        assert channel["address"] == name
    for topic in topics.ALL:
        assert set(channels[topic]["messages"]) == set(types_for_topic(topic))


def test_asyncapi_has_a_send_operation_per_producing_service() -> None:
    document = _committed_asyncapi()
    operations = document["operations"]
    for topic in topics.ALL:
        service = topic.removeprefix("phoi.")
        publish = operations[f"{service}.publish"]
        assert publish["action"] == "send"
        assert publish["channel"] == {"$ref": f"#/channels/{topic}"}
        sent = {_pointer(document, m["$ref"])["$ref"] for m in publish["messages"]}
        # a superseded type is still a message of the channel (older records), but no longer sent
        assert sent == {f"#/components/messages/{t}" for t in types_for_topic(topic) if t not in SUPERSEDED}
        dead = operations[f"{service}.deadLetter"]
        assert dead["action"] == "send"
        assert dead["channel"] == {"$ref": f"#/channels/{topics.dead_letter(topic)}"}


def test_superseded_types_are_marked_and_name_a_current_replacement() -> None:
    assert SUPERSEDED == {"stock.movement_recorded.v1": "stock.movement_recorded.v2"}
    for old, new in SUPERSEDED.items():
        assert new in EVENT_TYPES
        assert new not in SUPERSEDED
        assert EVENT_TYPES[old].TOPIC == EVENT_TYPES[new].TOPIC
        schema = json.loads((export.CONTRACTS_DIR / "schemas" / export.schema_file(old)).read_text("utf-8"))
        assert (schema["deprecated"], schema["x-superseded-by"]) == (True, new)
        current = json.loads((export.CONTRACTS_DIR / "schemas" / export.schema_file(new)).read_text("utf-8"))
        assert "deprecated" not in current


def test_every_internal_ref_resolves() -> None:
    document = _committed_asyncapi()
    internal = [ref for ref in _refs(document) if ref.startswith("#")]
    assert internal
    for ref in internal:
        assert _pointer(document, ref) is not None, ref


def test_every_message_payload_ref_is_an_existing_file() -> None:
    messages = _committed_asyncapi()["components"]["messages"]
    assert set(messages) == set(EVENT_TYPES) | {export.DEAD_LETTER_MESSAGE}
    for name, message in messages.items():
        refs = _refs(message["payload"])
        assert refs, f"{name} payload references no schema"
        for ref in refs:
            target = (CONTRACTS_DIR / ref).resolve()
            assert target.is_file(), f"{name}: {ref} does not exist"
            assert target.parent == (CONTRACTS_DIR / "schemas").resolve()
        if name != export.DEAD_LETTER_MESSAGE:
            assert f"./schemas/{name}.json" in refs
            assert "./schemas/envelope.json" in refs


def test_message_payloads_validate_their_examples_and_refuse_other_types(event_type: str) -> None:
    """Resolve each message payload against the committed files and validate real envelopes with it."""
    message = _committed_asyncapi()["components"]["messages"][event_type]
    schema = {"$id": f"{BASE}asyncapi", **copy.deepcopy(message["payload"])}
    validator = Draft202012Validator(schema, registry=_registry())

    body = json.loads(example_envelope(event_type).to_bytes())
    validator.validate(body)
    assert [example["payload"] for example in message["examples"]] == [body]

    other = next(t for t in EVENT_TYPES if t != event_type)
    with pytest.raises(SchemaError):
        validator.validate({**body, "type": other})
    with pytest.raises(SchemaError):
        validator.validate({**body, "data": {**body["data"], "unexpected": 1}})


def test_dead_letter_message_describes_its_headers() -> None:
    message = _committed_asyncapi()["components"]["messages"][export.DEAD_LETTER_MESSAGE]
    headers = message["headers"]["properties"]
    for name in (
        topics.DLQ_HEADER_ORIGINAL_TOPIC,
        topics.DLQ_HEADER_ORIGINAL_PARTITION,
        topics.DLQ_HEADER_ORIGINAL_OFFSET,
        topics.DLQ_HEADER_CONSUMER_GROUP,
        topics.DLQ_HEADER_ERROR,
        topics.DLQ_HEADER_ATTEMPTS,
        topics.DLQ_HEADER_ERROR_TYPE,
    ):
        assert headers[name]["description"]


def test_event_messages_declare_the_cloudevents_content_type_header(event_type: str) -> None:
    message = _committed_asyncapi()["components"]["messages"][event_type]
    validator = Draft202012Validator(message["headers"])
    for example in message["examples"]:
        validator.validate(example["headers"])
    with pytest.raises(SchemaError):
        validator.validate({"content-type": "application/json"})
    with pytest.raises(SchemaError):
        validator.validate({})
    assert message["correlationId"]["location"] == "$message.payload#/correlationid"
