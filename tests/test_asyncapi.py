"""docs/asyncapi.json is the contract the code validates, not a description of it."""

from __future__ import annotations

import json

import jsonschema
import msgspec
import pytest

from mqtt import asyncapi, schema
from mqtt.topics import Kind
from tests.conftest import REPO
from tests.mqtt_helpers import clock_event, leave_event


def test_committed_document_matches_the_code():
    committed = (REPO / "docs" / "asyncapi.json").read_text()
    assert committed == asyncapi.render(), (
        "regenerate: hallwatch topics --asyncapi > docs/asyncapi.json"
    )


def test_every_payload_schema_is_documented_on_its_channel():
    doc = json.loads(asyncapi.render())
    assert doc["asyncapi"].startswith("3.")
    _, components = msgspec.json.schema_components(
        schema.EVENT_TYPES, ref_template="#/components/schemas/{name}"
    )
    for kind in Kind:
        struct = schema.TYPE_OF_KIND[kind]
        channel = doc["channels"][kind.value]
        assert channel["address"].endswith(f"/{kind.value}")
        message = doc["components"]["messages"][struct.__name__]
        assert message["name"] == schema.SCHEMA_NAMES[struct]
        documented = doc["components"]["schemas"][struct.__name__]
        assert documented == components[struct.__name__]
        assert documented["properties"]["schema"]["enum"] == [schema.SCHEMA_NAMES[struct]]


def _documented_payload(doc: dict, struct: type[schema.Event]) -> jsonschema.Validator:
    """A validator of the document's own payload schema for `struct`'s message."""
    root = {**doc, "$ref": f"#/components/messages/{struct.__name__}/payload"}
    return jsonschema.Draft202012Validator(root)


@pytest.mark.parametrize(
    ("changes", "expressible"),
    [
        ({"score": 1.5}, True),
        ({"method": "face+finger"}, True),
        ({"method": "face+finger", "finger_score": None}, True),
        ({"second_factor": "finger"}, True),  # a finger confirms only as face+finger
        ({"method": "face+finger", "finger_score": 60, "second_factor": "staff_number"}, True),
        ({"method": "finger", "score": 60, "second_factor": "staff_number"}, True),
        ({"action": "leave_out"}, True),
        (
            {
                "leave": {
                    "kind": "outing",
                    "reason": "bank",
                    "expected_return": "2027-01-01T10:00:00Z",
                }
            },
            True,
        ),
        (
            {
                "action": "leave_out",
                "leave": {
                    "kind": "outing",
                    "reason": "bank",
                    "expected_return": "2020-01-01T10:00:00Z",
                },
            },
            False,
        ),
    ],
)
def test_the_document_states_every_rule_the_validator_enforces(changes, expressible):
    """Each payload the validator refuses for a rule between fields is refused by the
    document's schema too, or (where JSON Schema cannot compare fields) named in words."""
    doc = json.loads(asyncapi.render())
    punch = json.loads(schema.encode(clock_event("hall-01", "st-01", 1)))
    payload = {**punch, **changes}
    with pytest.raises(schema.PayloadError) as refused:
        schema.decode(json.dumps(payload))
    documented = _documented_payload(doc, schema.Punch)
    assert documented.is_valid(punch)
    assert documented.is_valid(json.loads(schema.encode(leave_event("hall-01", "st-01", 2))))
    assert documented.is_valid(payload) is not expressible
    rules = doc["components"]["messages"]["Punch"]["x-hallwatch-rules"]
    stated = [r["rule"] for r in rules if r["rule"] in refused.value.reason]
    assert stated, f"{refused.value.reason!r} is not among the documented rules {rules}"
    assert stated[0] in doc["components"]["messages"]["Punch"]["description"]
