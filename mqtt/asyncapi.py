"""The AsyncAPI 3 document of the MQTT contract, generated from the code's own schemas.

`docs/asyncapi.json` is this document, committed; a test regenerates it and compares, so
the documentation cannot drift from what publishers and consumers really validate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import msgspec

from base import __version__
from base.identifiers import NODE_ID
from mqtt import schema
from mqtt.topics import CENTRAL, RETAINED_KINDS, ROOT, Kind


@dataclass(frozen=True)
class TopicRow:
    kind: Kind
    address: str
    schema: str
    direction: str  # as seen by the central rules service: "receive" or "send"
    retained: bool
    note: str


_ROWS: tuple[tuple[Kind, str, str, str], ...] = (
    (Kind.STATUS, "{device}", "receive", "retained; the last will publishes state=offline"),
    (Kind.CLOCK, "{device}", "receive", "punches: clock in/out, going out and back"),
    (Kind.ACTIVITY, "{device}", "receive", "workstation intervals (merged samples)"),
    (
        Kind.ALERT,
        "{device}",
        "receive",
        "spoof, unknown face, sensor/camera fault, tamper, disk full",
    ),
    (Kind.ACK, "{device}", "receive", "device acknowledgement of a config message"),
    (Kind.ENROLMENT, "{device}", "receive", "templates of a person enrolled at a station"),
    (
        Kind.RESENT,
        "{device}",
        "receive",
        "a device's answer to a resend: what it sent, what it lost",
    ),
    (
        Kind.CONFIG,
        "{device}",
        "send",
        "retained; gallery, category and timetable updates for one device",
    ),
    (
        Kind.COMMAND,
        "{device}",
        "send",
        "not retained; resend a range of the device's journal the centre has not got",
    ),
    (Kind.VIOLATION, CENTRAL, "send", "violations with evidence, corrections and vetoes"),
    (Kind.CORRECTION, CENTRAL, "send", "manager corrections, voids and leave (audited)"),
    (Kind.INSPECTION, CENTRAL, "send", "daily inspection summaries"),
    (Kind.DEADLETTER, CENTRAL, "send", "rejected payloads with the reason"),
)


def topic_table() -> list[TopicRow]:
    return [
        TopicRow(
            kind=kind,
            address=f"{ROOT}/{{site}}/{source}/{kind}",
            schema=schema.SCHEMA_NAMES[schema.TYPE_OF_KIND[kind]],
            direction=direction,
            retained=kind in RETAINED_KINDS,
            note=note,
        )
        for kind, source, direction, note in _ROWS
    ]


def _message(struct: type[schema.Event], schema_name: str) -> dict:
    """A message: its payload schema, and the rules between fields the validator enforces
    beyond it, in words and (where JSON Schema can say them) in the payload schema."""
    payload: dict = {"$ref": f"#/components/schemas/{struct.__name__}"}
    rules = getattr(struct, "rules", ())
    message: dict = {"name": schema_name, "contentType": "application/json"}
    if rules:
        message["description"] = "Every consumer rejects a payload that breaks these: " + "; ".join(
            f"{rule.text} (at `{rule.at}`)" for rule in rules
        )
        payload = {"allOf": [payload, *(r.json_schema for r in rules if r.json_schema)]}
        message["x-hallwatch-rules"] = [{"at": rule.at, "rule": rule.text} for rule in rules]
    message["payload"] = payload
    return message


def document() -> dict:
    _, components = msgspec.json.schema_components(
        schema.EVENT_TYPES, ref_template="#/components/schemas/{name}"
    )
    channels, operations, messages = {}, {}, {}
    for row in topic_table():
        name = schema.TYPE_OF_KIND[row.kind].__name__
        params = ["site", "device"] if "{device}" in row.address else ["site"]
        channels[row.kind.value] = {
            "address": row.address,
            "description": row.note,
            "parameters": {
                p: {"description": f"{p} id, matching {NODE_ID.pattern}"} for p in params
            },
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"mqtt": {"bindingVersion": "0.2.0"}},
        }
        messages[name] = _message(schema.TYPE_OF_KIND[row.kind], row.schema)
        operations[f"{row.direction}{name}"] = {
            "action": row.direction,
            "channel": {"$ref": f"#/channels/{row.kind.value}"},
            "bindings": {"mqtt": {"qos": 1, "retain": row.retained, "bindingVersion": "0.2.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "hallwatch MQTT contract",
            "version": __version__,
            "description": (
                "Topics and payloads shared by hallwatch stations, workstation agents and the "
                "central rules service (operations are seen from the rules service). Every "
                "payload is JSON with `schema`, a UUIDv7 `id`, a per-publisher `seq`, `site`, "
                "`device` and a timezone-aware `ts`; all messages are QoS 1."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
