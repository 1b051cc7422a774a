"""A device cannot fill the central database (issue 13, finding 5).

One agent wrote 685 MB in 15 s: each 65,536-byte payload was stored with its padding
(its content was 217 bytes), and nothing bounded a device's rate or volume. Now events are
stored in their canonical encoding, each device has a quota beyond which its events are
dead letters, and events older than the retention period are pruned.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import msgspec

from mqtt import schema
from mqtt.client import BrokerConfig, topic_for
from rules.delivery import GRACE
from rules.ingest import Ingest
from rules.recompute import recompute_person_month
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.mqtt_helpers import client
from tests.rules_helpers import activity, clock, directory_of, full_day, policy, source_of


def _padded(event: schema.Event, size: int = schema.MAX_PAYLOAD_BYTES - 100) -> bytes:
    """The event with blanks after each value, up to `size` bytes: valid JSON, same content."""
    text = json.dumps(json.loads(schema.encode(event)))
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def _stored_bytes(store) -> int:
    [(total,)] = store._rows('SELECT SUM(LENGTH("payload")) FROM events')
    return total


def test_padding_is_not_stored(store):
    ingest = Ingest(store, policy(), source_of())
    events = [clock("09:00") for _ in range(50)]
    for event in events:
        ingest.handle(topic_for(event), _padded(event))
    ingest.drain(timeout_s=0)
    assert ingest.stored == 50
    assert _stored_bytes(store) == sum(len(schema.encode(e)) for e in events) < 50 * 400


def test_a_device_over_its_quota_gets_dead_letters_and_the_others_go_on(store):
    ingest = Ingest(
        store, policy(), source_of(), device_quota=(1e-9, 100)
    )  # no refill within the test
    flood = [activity("10:00", 1, device="ws-1") for _ in range(300)]
    punch = clock("09:00")
    for event in [*flood, punch]:
        ingest.handle(topic_for(event), schema.encode(event))
    while ingest.drain(timeout_s=0):
        pass
    assert ingest.stored == 101  # the burst of ws-1, and st-01's punch
    kept, _ = store.dead_letter_counts()
    assert kept == 200
    assert "hall-01/ws-1 is over its quota" in store.dead_letters(limit=1)[0].reason


def test_a_flooding_agent_fills_nothing_through_the_real_broker(hardened_broker, tmp_path):
    b = hardened_broker
    (tmp_path / "policy.toml").write_text(
        '[[windows]]\nid = "w1"\nsite = "hall-01"\nstaff = ["S001"]\n'
        'workstations = { ws-01 = "S001" }\n'
    )
    config = ServiceConfig(
        broker=BrokerConfig(port=b.port, username="rules", password=b.password("rules")),
        rules=RulesSettings(
            db=tmp_path / "rules.db",
            policy=tmp_path / "policy.toml",
            device_burst=200,
            recompute_every_s=0.5,
        ),
    )
    agent = "hall-01.ws-01"
    flood = [
        msgspec.structs.replace(activity("10:00", 1, device="ws-01"), site="hall-01")
        for _ in range(1000)
    ]
    with RulesService(config) as service:
        time.sleep(0.3)
        with client(b.port, agent, agent, b.password(agent), max_inflight=100) as device:
            for info in [device.publish(topic_for(e), _padded(e)) for e in flood]:
                info.wait_for_publish(30)
        deadline = time.monotonic() + 30
        while service.ingest.stored + service.ingest.rejected < 1000:
            assert time.monotonic() < deadline, (service.ingest.stored, service.ingest.rejected)
            time.sleep(0.1)
        assert (service.ingest.stored, service.ingest.rejected) == (200, 800)
        assert _stored_bytes(service.store) < 200 * 400  # 65 MB sent, under 80 KB kept


def _month_of_events(month: int) -> list[schema.Event]:
    day = date(2026, month, 10)
    return full_day("S1", day)


def test_events_past_the_retention_period_are_pruned_and_their_month_stands(store):
    old, recent = _month_of_events(1), _month_of_events(3)
    store.add_events([*old, *recent])
    pol = policy()
    now = datetime(2026, 3, 20, tzinfo=UTC)
    before = recompute_person_month(store, pol, directory_of(pol), "S1", "2026-01", now)
    assert before[0]  # January has its absences
    ingest = Ingest(store, pol, source_of(pol), keep_months=1)
    assert ingest.prune(now) == len(old)  # kept: this month and one before it
    assert store.horizon() == "2026-02"
    assert store.events(datetime(2026, 1, 1, tzinfo=UTC), now) == recent
    # January's results stand: recomputing it (its events gone) changes nothing.
    assert recompute_person_month(store, pol, directory_of(pol), "S1", "2026-01", now) == ([], [])
    assert store.violations(month="2026-01") == sorted(before[0], key=_order)
    # A late event for a pruned month is refused, not stored.
    late = clock("09:00", day=date(2026, 1, 12))
    ingest.handle(topic_for(late), schema.encode(late))
    ingest.drain(timeout_s=0)
    assert ingest.stored == 0 and "retention" in store.dead_letters(limit=1)[0].reason


def _order(record):
    return (record.staff_id, record.at, record.rule)


def test_the_answer_to_the_centres_own_request_is_not_held_to_the_quota(store):
    """A device that caught up on its burst is asked to send a gap again: what it sends of
    the range asked for is stored whole; anything else it sends is held to its quota."""
    ingest = Ingest(store, policy(), source_of(), device_quota=(1e-9, 3))
    numbered = [
        msgspec.structs.replace(activity("10:00", 1, device="ws-1"), seq=n) for n in range(1, 15)
    ]
    first = [numbered[0], numbered[1], numbered[12]]  # 1, 2 and 13: 3-12 missing
    for event in first:
        ingest.handle(topic_for(event), schema.encode(event))
    ingest.drain(timeout_s=0)
    ingest.note_received()
    now = datetime.now(UTC)
    store.fold_deliveries(now)
    asked = store.fold_deliveries(now + GRACE)
    assert asked == [("hall-01", "ws-1", 3, 12)]
    ingest.note_received()  # learns what was asked
    for event in [*numbered[2:12], numbered[13]]:  # 3-12 asked for, 14 not
        ingest.handle(topic_for(event), schema.encode(event))
    while ingest.drain(timeout_s=0):
        pass
    assert ingest.stored == 13  # the burst of 3, and the 10 asked for
    assert "hall-01/ws-1 is over its quota" in store.dead_letters(limit=1)[0].reason
