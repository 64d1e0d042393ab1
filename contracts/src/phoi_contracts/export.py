"""Export the contracts: one JSON Schema per event type plus the envelope, and an AsyncAPI 3.0 document.

    python -m phoi_contracts.export           # write contracts/schemas/*.json, contracts/asyncapi.yaml
    python -m phoi_contracts.export --check   # exit 1 if the committed files differ from the models

Output is deterministic (sorted keys in schemas, fixed order in the AsyncAPI document, trailing
newline), so it diffs cleanly. `render_all` returns the texts without writing anything.
"""

import argparse
import inspect
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from phoi_contracts import __version__, topics
from phoi_contracts.catalogue import EVENT_TYPES, SUPERSEDED, event_class, types_for_topic
from phoi_contracts.envelope import ACTOR_ATTRIBUTES, CONTENT_TYPE, CONTENT_TYPE_HEADER, CORRELATION_ATTRIBUTE, Envelope
from phoi_contracts.examples import EXAMPLES, example_envelope

#: The ``contracts/`` folder of the repository (this file is contracts/src/phoi_contracts/export.py).
CONTRACTS_DIR: Final = Path(__file__).resolve().parents[2]
SCHEMAS_DIR: Final = "schemas"
ASYNCAPI_FILE: Final = "asyncapi.yaml"
ENVELOPE_FILE: Final = "envelope.json"
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION: Final = "0.5.0"
DEAD_LETTER_MESSAGE: Final = "dead_letter"

_SERVICE_OF_TOPIC: Final = {topic: topic.removeprefix("phoi.") for topic in topics.ALL}

_DLQ_HEADERS: Final[dict[str, str]] = {
    topics.DLQ_HEADER_ERROR: "Last error (repr of the exception, at most 2000 characters).",
    topics.DLQ_HEADER_ERROR_TYPE: "Class name of the last exception.",
    topics.DLQ_HEADER_ORIGINAL_TOPIC: "Topic the record was consumed from.",
    topics.DLQ_HEADER_ORIGINAL_PARTITION: "Partition it was consumed from.",
    topics.DLQ_HEADER_ORIGINAL_OFFSET: "Offset it was consumed at.",
    topics.DLQ_HEADER_CONSUMER_GROUP: "Consumer group that gave up on it.",
    topics.DLQ_HEADER_ATTEMPTS: "How many times processing was tried.",
}


def schema_file(event_type: str) -> str:
    """File name of the JSON Schema of `event_type`, inside ``schemas/``."""
    return f"{event_type}.json"


def _topic_text(topic: str | None) -> str:
    return topic if topic is not None else "the producing service's own topic"


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `event_type`'s payload, with an example and routing notes."""
    cls = event_class(event_type)
    schema = cls.model_json_schema()
    subject = cls.SUBJECT_FIELD or "see default_subject()"
    schema.update(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "x-event-type": event_type,
            "x-topic": _topic_text(cls.TOPIC),
            "x-subject": subject,
            "examples": [EXAMPLES[event_type]],
        }
    )
    if event_type in SUPERSEDED:
        schema.update({"deprecated": True, "x-superseded-by": SUPERSEDED[event_type]})
    return schema


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the envelope every message body is."""
    schema = Envelope.model_json_schema()
    schema["$schema"] = JSON_SCHEMA_DIALECT
    return schema


def _json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_schemas() -> dict[str, str]:
    """File name -> JSON text, for ``envelope.json`` and every event type, sorted by name."""
    files = {schema_file(event_type): _json_text(event_schema(event_type)) for event_type in EVENT_TYPES}
    files[ENVELOPE_FILE] = _json_text(envelope_schema())
    return dict(sorted(files.items()))


def _schema_ref(file_name: str) -> dict[str, str]:
    return {"$ref": f"./{SCHEMAS_DIR}/{file_name}"}


def _message(event_type: str) -> dict[str, Any]:
    cls = event_class(event_type)
    doc = inspect.cleandoc(cls.__doc__ or event_type)
    subject = cls.SUBJECT_FIELD
    key_text = f"The envelope subject: the `{subject}` of the event." if subject else "The envelope subject."
    return {
        "name": event_type,
        "title": cls.__name__,
        "summary": doc.splitlines()[0],
        "description": (
            f"{doc}\n\nTopic: {_topic_text(cls.TOPIC)}. The body is an envelope whose `type` is "
            f"`{event_type}` and whose `data` follows `{SCHEMAS_DIR}/{schema_file(event_type)}`."
        ),
        "contentType": "application/json",
        "correlationId": {
            "description": "Id shared by all events of one business flow.",
            "location": f"$message.payload#/{CORRELATION_ATTRIBUTE}",
        },
        "headers": _event_headers(),
        "payload": {
            "allOf": [
                _schema_ref(ENVELOPE_FILE),
                {
                    "type": "object",
                    "required": ["type", "data"],
                    "properties": {
                        "type": {"const": event_type},
                        "data": _schema_ref(schema_file(event_type)),
                    },
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": key_text},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [
            {
                "name": "example",
                "headers": {CONTENT_TYPE_HEADER: CONTENT_TYPE},
                "payload": example_envelope(event_type).model_dump(mode="json"),
            }
        ],
    }


def _event_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "required": [CONTENT_TYPE_HEADER],
        "properties": {
            CONTENT_TYPE_HEADER: {
                "const": CONTENT_TYPE,
                "description": "CloudEvents structured mode: the value is the whole event in JSON.",
            }
        },
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "Dead letter",
        "summary": "A record a consumer could not process after retries.",
        "description": (
            "Key and value are copied byte for byte from the original record, so the value is usually an "
            "envelope but may be anything that failed to parse. The headers say where it came from and why."
        ),
        "headers": {
            "type": "object",
            "required": [topics.DLQ_HEADER_ORIGINAL_TOPIC, topics.DLQ_HEADER_ERROR],
            "properties": {name: {"type": "string", "description": text} for name, text in _DLQ_HEADERS.items()},
        },
        "payload": {
            "description": "The original record value.",
            "anyOf": [_schema_ref(ENVELOPE_FILE), {"description": "Bytes that are not a valid envelope."}],
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in topics.ALL:
        service = _SERVICE_OF_TOPIC[topic]
        channels[topic] = {
            "address": topic,
            "title": f"{service} events",
            "description": (
                f"Events published by the {service} service (source `{topics.SOURCES[topic]}`), "
                "keyed by the envelope subject."
            ),
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types_for_topic(topic)},
        }
        dlq = topics.dead_letter(topic)
        channels[dlq] = {
            "address": dlq,
            "title": f"{service} dead letters",
            "description": f"Records of `{topic}` that a consumer could not process after retries.",
            "messages": {DEAD_LETTER_MESSAGE: {"$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"}},
        }
    return channels


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in topics.ALL:
        service = _SERVICE_OF_TOPIC[topic]
        operations[f"{service}.publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "title": f"The {service} service publishes its events",
            "description": "Through its transactional outbox; at least once, in order per subject.",
            "messages": [
                {"$ref": f"#/channels/{topic}/messages/{t}"} for t in types_for_topic(topic) if t not in SUPERSEDED
            ],
        }
        dlq = topics.dead_letter(topic)
        operations[f"{service}.deadLetter"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{dlq}"},
            "title": f"A consumer of {topic} gives up on a record",
            "messages": [{"$ref": f"#/channels/{dlq}/messages/{DEAD_LETTER_MESSAGE}"}],
        }
    return operations


def _actor_attribute_text() -> str:
    return ", ".join(f"`{name}`" for name in ACTOR_ATTRIBUTES)


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document as a dict (payloads reference the files in ``schemas/``)."""
    messages: dict[str, Any] = {t: _message(t) for t in EVENT_TYPES}
    messages[DEAD_LETTER_MESSAGE] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Phôi issuance events",
            "version": __version__,
            "description": (
                "Kafka events of the blank diploma form (phôi) issuance system. Every message is a "
                "CloudEvents 1.0 event in structured mode: the body is the JSON envelope, whose `data` is "
                f"the event payload, and the `{CONTENT_TYPE_HEADER}` header is `{CONTENT_TYPE}`. Besides "
                "the context attributes the envelope carries the string extension attributes "
                f"`{CORRELATION_ATTRIBUTE}` (id shared by the events of one business flow) and "
                f"{_actor_attribute_text()} (who caused the event; `actorname` is `system` for a system "
                "action); an extension whose value is unknown is left out. The Kafka key is the envelope "
                "`subject`. A breaking change is a new `.vN` event type. Generated by "
                "`python -m phoi_contracts.export`; do not edit."
            ),
        },
        "defaultContentType": "application/json",
        "channels": _channels(),
        "operations": _operations(),
        "components": {"messages": messages},
    }


class _NoAliasDumper(yaml.SafeDumper):
    """A safe dumper that writes repeated objects out instead of as YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_NoAliasDumper.add_representer(str, _represent_str)


def render_asyncapi() -> str:
    """The AsyncAPI document as YAML text."""
    return yaml.dump(
        asyncapi_document(),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def render_all() -> dict[str, str]:
    """Path relative to ``contracts/`` -> text, for every generated file."""
    files = {f"{SCHEMAS_DIR}/{name}": text for name, text in render_schemas().items()}
    files[ASYNCAPI_FILE] = render_asyncapi()
    return dict(sorted(files.items()))


def _stale(root: Path, expected: dict[str, str]) -> list[Path]:
    schemas = root / SCHEMAS_DIR
    if not schemas.is_dir():
        return []
    return sorted(p for p in schemas.glob("*.json") if f"{SCHEMAS_DIR}/{p.name}" not in expected)


def check(root: Path = CONTRACTS_DIR) -> list[str]:
    """Relative paths whose committed content differs from the models (missing, changed or stale)."""
    expected = render_all()
    drifted = [
        rel
        for rel, text in expected.items()
        if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text
    ]
    drifted += [str(p.relative_to(root)) for p in _stale(root, expected)]
    return sorted(drifted)


def write(root: Path = CONTRACTS_DIR) -> list[Path]:
    """Write every generated file under `root`, delete stale schema files; returns the files changed."""
    expected = render_all()
    changed: list[Path] = []
    (root / SCHEMAS_DIR).mkdir(parents=True, exist_ok=True)
    for rel, text in expected.items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(path)
    for path in _stale(root, expected):
        path.unlink()
        changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m phoi_contracts.export",
        description="Export JSON Schemas and the AsyncAPI document of the event contracts.",
    )
    parser.add_argument("--out", type=Path, default=CONTRACTS_DIR, help="contracts folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    args = parser.parse_args(argv)
    root: Path = args.out
    if args.check:
        drifted = check(root)
        for rel in drifted:
            print(f"out of date: {rel}", file=sys.stderr)
        if drifted:
            print("run `make schemas` and commit the result", file=sys.stderr)
        return 1 if drifted else 0
    for path in write(root):
        print(f"wrote {path}" if path.exists() else f"deleted {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
