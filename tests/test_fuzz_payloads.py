"""Every payload schema, fuzzed: any mutation is accepted whole or refused with a reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt import schema
from mqtt.client import topic_for
from tests.fuzz_helpers import mutated
from tests.schema_samples import schema_samples

SAMPLES = schema_samples()
SEEDS = [(event, json.loads(schema.encode(event))) for event in SAMPLES]
NAMES = [type(event).__name__ for event in SAMPLES]


def topic_of(event: schema.Event) -> str:
    return topic_for(event, device="st-01" if isinstance(event, schema.Config) else None)


def accepted_or_explained(payload: bytes, topic: str | None) -> schema.Event | None:
    try:
        event = schema.decode(payload, topic)
    except schema.PayloadError as exc:
        assert exc.reason.strip(), "a rejection without a reason"
        return None
    # What is accepted is a complete, valid event that survives a round trip.
    assert schema.decode(schema.encode(event)) == event
    return event


@pytest.mark.parametrize(("sample", "seed"), SEEDS, ids=NAMES)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_of_any_schema_is_accepted_or_explained(sample, seed, data):
    document = data.draw(mutated(seed))
    payload = json.dumps(document, allow_nan=True).encode()
    accepted_or_explained(payload, topic_of(sample))
    accepted_or_explained(payload, None)


@pytest.mark.parametrize("sample", SAMPLES, ids=NAMES)
def test_naive_timestamps_are_refused_with_the_rule(sample):
    document = json.loads(schema.encode(sample))
    document["ts"] = "2026-11-24T09:00:00"
    with pytest.raises(schema.PayloadError, match="time zone"):
        schema.decode(json.dumps(document), topic_of(sample))


@pytest.mark.parametrize("sample", SAMPLES, ids=NAMES)
def test_unknown_schema_versions_are_refused_naming_the_known_ones(sample):
    document = json.loads(schema.encode(sample))
    name, _, version = document["schema"].partition("/")
    document["schema"] = f"{name}/{int(version) + 1}"
    with pytest.raises(schema.PayloadError) as err:
        schema.decode(json.dumps(document), topic_of(sample))
    assert err.value.reason.startswith("unknown schema (known: ")
    assert f"{name}/{version}" in err.value.reason


@pytest.mark.parametrize("sample", SAMPLES, ids=NAMES)
def test_oversized_payloads_are_refused_before_parsing(sample):
    topic = topic_of(sample)
    limit = schema.MAX_PAYLOAD_BYTES
    document = json.loads(schema.encode(sample))
    document["pad"] = "x" * limit  # would also be an unknown field: size is checked first
    with pytest.raises(schema.PayloadError, match=f"exceeds the {limit}-byte limit"):
        schema.decode(json.dumps(document), topic)


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.device != "central"], ids=lambda s: type(s).__name__
)
def test_a_device_publishing_another_devices_events_is_refused(sample):
    forged = topic_of(sample).replace(f"/{sample.device}/", "/st-99/")
    with pytest.raises(schema.PayloadError, match="does not match the topic's publisher 'st-99'"):
        schema.decode(schema.encode(sample), forged)


@settings(max_examples=200, deadline=None)
@given(topic=st.text(max_size=80), sample=st.sampled_from(SAMPLES))
def test_any_topic_is_accepted_or_explained(topic, sample):
    accepted_or_explained(schema.encode(sample), topic)
