"""The payload contract: what is accepted, and a precise reason for what is not."""

from __future__ import annotations

import json
from datetime import timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqtt import schema
from tests.mqtt_helpers import clock_event, leave_event
from tests.schema_samples import schema_samples

TOPIC = "hallwatch/v1/hall-01/st-01/clock"


def _mutated(event: schema.Event, **changes) -> bytes:
    data = json.loads(schema.encode(event))
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data).encode()


def test_every_schema_round_trips():
    samples = schema_samples()
    assert {type(s) for s in samples} == set(schema.EVENT_TYPES)
    for sample in samples:
        assert schema.decode(schema.encode(sample)) == sample


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"seq": "1"}, "Expected `int`, got `str` - at `$.seq`"),
        ({"seq": -1}, "at `$.seq`"),
        ({"staff_id": ...}, "missing required field `staff_id`"),
        ({"extra": 1}, "unknown field `extra`"),
        ({"ts": "2026-11-24T09:00:00"}, "timezone"),
        ({"schema": "hallwatch.clock/2"}, "unknown schema"),
        ({"action": "teleport"}, "at `$.action`"),
        ({"site": "Hall 01"}, "at `$.site`"),
        ({"id": "not-a-uuid"}, "at `$.id`"),
        ({"score": 1.5}, "cosine similarity"),
        ({"action": "leave_out"}, "`leave` is required"),
    ],
)
def test_rejections_say_why(changes, reason):
    with pytest.raises(schema.PayloadError) as err:
        schema.decode(_mutated(clock_event("hall-01", "st-01", 1), **changes))
    assert reason in err.value.reason


def test_leave_must_return_after_leaving():
    event = leave_event("hall-01", "st-01", 1)
    early = msgspec.structs.replace(event.leave, expected_return=event.ts - timedelta(minutes=1))
    with pytest.raises(schema.PayloadError, match="expected return"):
        schema.decode(_mutated(event, leave=json.loads(msgspec.json.encode(early))))


def test_topic_must_match_payload():
    payload = schema.encode(clock_event("hall-01", "st-01", 1))
    assert schema.decode(payload, TOPIC).device == "st-01"
    with pytest.raises(schema.PayloadError, match="does not match the topic's publisher 'st-02'"):
        schema.decode(payload, "hallwatch/v1/hall-01/st-02/clock")
    with pytest.raises(schema.PayloadError, match="site"):
        schema.decode(payload, "hallwatch/v1/hall-02/st-01/clock")
    with pytest.raises(schema.PayloadError, match="on the alert topic"):
        schema.decode(payload, "hallwatch/v1/hall-01/st-01/alert")
    with pytest.raises(schema.PayloadError, match="not a hallwatch topic"):
        schema.decode(payload, "other/topic")


def test_oversized_and_non_json_payloads():
    with pytest.raises(schema.PayloadError, match="exceeds"):
        schema.decode(b" " * (schema.MAX_PAYLOAD_BYTES + 1))
    for junk in (b"", b"\xff\xfe", b"[1,2]", b"null", b"{"):
        with pytest.raises(schema.PayloadError):
            schema.decode(junk)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512) | st.text(max_size=512).map(str.encode))
def test_arbitrary_bytes_never_crash(data):
    try:
        schema.decode(data, TOPIC)
    except schema.PayloadError as exc:
        assert exc.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(json.loads(schema.encode(clock_event("hall-01", "st-01", 1))))),
    json_values,
)
def test_any_field_replaced_by_any_json_is_accepted_or_explained(field, value):
    payload = _mutated(clock_event("hall-01", "st-01", 1), **{field: value})
    try:
        event = schema.decode(payload, TOPIC)
    except schema.PayloadError as exc:
        assert exc.reason
    else:
        assert isinstance(event, schema.Punch)
