"""The rules service keeps serving while fuzzed payloads arrive over MQTT."""

from __future__ import annotations

import json
import secrets
import time
from datetime import date

import msgspec
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient, topic_for
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.fuzz_helpers import mutated, nested, padded
from tests.rules_helpers import clock
from tests.schema_samples import schema_samples

PAST = date(2026, 10, 13)  # a settled Tuesday
SEEDS = [json.loads(schema.encode(e)) for e in schema_samples() if e.device != "central"]

fuzzed = st.one_of(
    st.sampled_from(SEEDS).flatmap(mutated).map(lambda d: json.dumps(d).encode()),
    st.sampled_from(SEEDS).flatmap(nested),  # the payload that once stopped ingestion
    st.sampled_from(SEEDS).flatmap(lambda d: padded(d, schema.MAX_PAYLOAD_BYTES)),
    st.binary(max_size=300),
)


def wait_until(condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    return condition()


def on(site: str, event: schema.Event, **changes) -> schema.Event:
    return msgspec.structs.replace(event, site=site, **changes)


@settings(
    max_examples=1,
    deadline=None,
    phases=[Phase.generate],  # one stream, not shrunk: each run starts a service
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(garbage=st.lists(fuzzed, min_size=150, max_size=150))
def test_the_service_keeps_serving_through_a_stream_of_bad_input(tmp_path_factory, garbage):
    tmp = tmp_path_factory.mktemp("fuzz-service")
    site = f"t-{secrets.token_hex(4)}"
    (tmp / "policy.toml").write_text(f'[[windows]]\nid = "w1"\nsite = "{site}"\nstaff = ["S1"]\n')
    config = ServiceConfig(
        broker=BrokerConfig(persistent_session=False),
        rules=RulesSettings(
            db=tmp / "rules.db",
            policy=tmp / "policy.toml",
            group="",
            client_id=f"rules-fuzz-{site}",
            sites=[site],
            recompute_every_s=0.2,
        ),
    )
    good = on(site, clock("09:20", day=PAST))  # late: a violation once stored
    unknown_staff = on(site, clock("09:00", day=PAST), staff_id="S999")
    unknown_device = on(site, clock("09:00", day=PAST), device="st-77", staff_id="S998")
    naive = json.loads(schema.encode(on(site, clock("09:01", day=PAST))))
    naive["ts"] = "2026-10-13T09:01:00"
    clock_topic = topic_for(good)
    sends: list[tuple[str, bytes]] = [
        *((clock_topic, payload) for payload in garbage),
        (clock_topic, b"{" + b" " * schema.MAX_PAYLOAD_BYTES + b"}"),  # oversized
        (clock_topic, json.dumps(naive).encode()),  # no time zone
        (clock_topic, schema.encode(unknown_device)),  # another device's event on st-01's topic
        (topic_for(unknown_device), schema.encode(unknown_device)),  # a device nobody knows
        (clock_topic, schema.encode(unknown_staff)),  # staff nobody knows
        (clock_topic, schema.encode(good)),
        (clock_topic, schema.encode(good)),  # a replay of an old event
    ]
    expected_rejections = 0
    for topic, payload in sends:
        try:
            schema.decode(payload, topic)
        except schema.PayloadError:
            expected_rejections += 1
    with RulesService(config) as service:
        device = MqttClient(BrokerConfig(persistent_session=False), f"fuzzer-{site}")
        with device:
            for info in [device.publish(topic, payload) for topic, payload in sends]:
                info.wait_for_publish(10)
            assert wait_until(
                lambda: any(v.rule == "late" for v in service.store.violations(staff="S1"))
            ), (service.ingest.stored, service.ingest.rejected, service.ingest.duplicates)
        assert service.alive()
        assert service.ingest.rejected == expected_rejections >= 150 * 0.8
        kept, dropped = service.store.dead_letter_counts()
        assert (kept, dropped) == (expected_rejections, 0)
        assert all(row.reason.strip() for row in service.store.dead_letters(limit=kept))
        assert service.ingest.duplicates >= 1  # the replayed event counted once
        stored = {
            e.id for e in service.store.events(good.ts.replace(hour=0), good.ts.replace(hour=23))
        }
        assert {good.id, unknown_staff.id, unknown_device.id} <= stored
        # Unknown staff and devices are kept as facts but judge no one.
        assert {v.staff_id for v in service.store.violations()} <= {"S1"}
        late = [v for v in service.store.violations(staff="S1") if v.rule == "late"]
        assert [v.evidence for v in late] == [(good.id,)]
