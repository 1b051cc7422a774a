"""Node and staff ids: one rule each, the same wherever an id enters (topic, payload,
configuration file, fingerprint enrolment), and whole values only (issue 13, item 14:
a regular expression's `$` also matches before a final newline)."""

from __future__ import annotations

import re

import msgspec
import pytest

from base.config import ConfigError, validate
from base.identifiers import NODE_ID, STAFF_ID, IdError, check_staff_id
from edge.agent.config import AgentConfig
from edge.station.config import StationConfig
from mqtt import schema, topics
from mqtt.broker import Deployment
from mqtt.topics import Kind, TopicError
from rules.policy import Policy
from tests.mqtt_helpers import clock_event


@pytest.mark.parametrize("value", ["st-01\n", "st-01\r\n", "\nst-01", "St-01", "-st", "a" * 64, ""])
def test_a_node_id_is_the_whole_value(value):
    assert not NODE_ID.matches(value)
    with pytest.raises(TopicError, match="invalid device id"):
        topics.device_topic("hall-01", value, Kind.CLOCK)


@pytest.mark.parametrize("value", ["S001\n", " S001", "S 001", "张三", "a" * 65, ""])
def test_a_staff_id_is_the_whole_value(value):
    with pytest.raises(IdError, match="invalid staff id"):
        check_staff_id(value)


def test_the_rules_accept_what_they_should():
    assert all(NODE_ID.matches(v) for v in ("hall-01", "st_2", "0", "a" * 63))
    assert all(STAFF_ID.matches(v) for v in ("S001", "li.wei", "A-7", "a" * 64))


def test_the_schema_pattern_is_the_same_rule():
    # The pattern msgspec validates with (Python `re.search`) and AsyncAPI publishes.
    for rule, good, bad in ((NODE_ID, "st-01", "st-01\n"), (STAFF_ID, "S001", "S001\n")):
        assert re.search(rule.pattern, good) and not re.search(rule.pattern, bad)


def test_a_payload_with_a_trailing_newline_in_an_id_is_refused():
    punch = clock_event("hall-01", "st-01", 1)
    for field, value in (("staff_id", "S001\n"), ("site", "hall-01\n"), ("device", "st-01\n")):
        data = msgspec.json.encode(msgspec.structs.replace(punch, **{field: value}))
        with pytest.raises(schema.PayloadError, match=rf"\$\.{field}"):
            schema.decode(data)


@pytest.mark.parametrize(
    ("model", "data", "key"),
    [
        (StationConfig, {"site": "hall-01\n", "device": "st-01"}, "site"),
        (AgentConfig, {"site": "hall-01", "device": "ws-01", "users": {"li": "S1\n"}}, "users.li"),
        (Deployment, {"devices": [{"site": "hall-01", "id": "st-01\n"}]}, "devices.0.id"),
        (Policy, {"windows": [{"id": "w1", "site": "h", "staff": ["S1\n"]}]}, "windows.0.staff.0"),
    ],
)
def test_a_configuration_file_names_the_bad_id(model, data, key):
    with pytest.raises(ConfigError) as refused:
        validate(model, data, "file.toml")
    assert f"key '{key}': value error, invalid" in str(refused.value)
