"""docs/asyncapi.json is the contract the code validates, not a description of it."""

from __future__ import annotations

import json

import msgspec

from mqtt import asyncapi, schema
from mqtt.topics import Kind
from tests.conftest import REPO


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
