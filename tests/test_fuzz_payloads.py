"""Every payload schema, fuzzed: any mutation is accepted whole or refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt import schema
from mqtt.client import topic_for
from tests.fuzz_helpers import EXTREME_TIMES, mutated, nested, padded
from tests.schema_samples import schema_samples

SAMPLES = schema_samples()
SEEDS = [(event, json.loads(schema.encode(event))) for event in SAMPLES]
NAMES = [type(event).__name__ for event in SAMPLES]


def topic_of(event: schema.Event) -> str:
    return topic_for(
        event, device="st-01" if isinstance(event, schema.Config | schema.Resend) else None
    )


def accepted_or_explained(payload: bytes, topic: str | None) -> schema.Event | None:
    try:
        event = schema.decode(payload, topic)
    except schema.PayloadError as exc:
        assert exc.reason.strip(), "a rejection without a reason"
        assert exc.reason.isprintable(), "a reason that would garble a terminal or a log"
        return None
    assert _no_controls(event), "control characters accepted in a text field"
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


def _no_controls(value: object) -> bool:
    if isinstance(value, str):
        return not any(0 <= ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)
    if isinstance(value, msgspec.Struct):
        return all(_no_controls(getattr(value, f)) for f in value.__struct_fields__)
    if isinstance(value, list | tuple):
        return all(map(_no_controls, value))
    if isinstance(value, dict):
        return all(_no_controls(k) and _no_controls(v) for k, v in value.items())
    return True


# -- what issue 13 found: nesting, the ends of time, padding, control characters -----------
@pytest.mark.parametrize(("sample", "seed"), SEEDS, ids=NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_nesting_of_any_depth_anywhere_is_refused_with_a_reason(sample, seed, data):
    assert accepted_or_explained(data.draw(nested(seed)), topic_of(sample)) is None


SHIFTS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@pytest.mark.parametrize(("sample", "seed"), SEEDS, ids=NAMES)
@settings(max_examples=60, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    | st.sampled_from([datetime.fromisoformat(t).replace(tzinfo=None) for t in EXTREME_TIMES]),
    zone=SHIFTS,
)
def test_any_time_is_accepted_in_the_contracts_years_and_refused_outside(
    sample, seed, moment, zone
):
    aware = moment.replace(tzinfo=zone)
    document = dict(seed, ts=aware.isoformat())
    event = accepted_or_explained(json.dumps(document).encode(), topic_of(sample))
    inside = datetime(2000, 1, 1, tzinfo=UTC) <= aware < datetime(2100, 1, 1, tzinfo=UTC)
    if not inside:
        assert event is None
    elif event is not None:  # (still refused if it breaks another rule: a leave's return)
        assert event.ts == aware


@pytest.mark.parametrize(("sample", "seed"), SEEDS, ids=NAMES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_padding_changes_nothing_but_the_size(sample, seed, data):
    payload = data.draw(padded(seed, schema.MAX_PAYLOAD_BYTES + 2000))
    event = accepted_or_explained(payload, topic_of(sample))
    if len(payload) > schema.MAX_PAYLOAD_BYTES:
        assert event is None
    else:
        plain = schema.decode(json.dumps(seed))
        assert event == plain and schema.encode(event) == schema.encode(plain)
