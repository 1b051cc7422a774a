"""Broker restarts, a device cut off, duplicated and reordered deliveries, a skewed clock."""

from __future__ import annotations

import random
import time

from mqtt import schema
from mqtt.topics import device_topic
from tests.chaos.hall import SITE


def test_broker_restarted_mid_burst(hall):
    hall.start_rules(wait=True)
    hall.start_devices(pace_s=0.03)
    station = hall.devices["st-01"]
    for restart, journaled in enumerate((30, 60), start=1):
        station.wait_journaled(journaled)
        hall.broker.stop()  # SIGTERM: Mosquitto saves its queues and sessions
        time.sleep(1.0)
        hall.broker.start()
        deadline = time.monotonic() + 10
        while station.proxy.connections <= restart:  # the station is back
            assert time.monotonic() < deadline
            time.sleep(0.05)
    hall.finish_devices()
    hall.settle()
    assert hall.verify()["events"] >= 300


def test_a_device_cut_off_for_a_long_stretch_catches_up(hall):
    hall.start_rules(wait=True)
    station = hall.devices["st-01"]
    station.proxy.cut()
    hall.start_devices(pace_s=0.02)
    time.sleep(8)  # longer than its keepalive: the device knows it is offline
    stored = hall.central()
    journaled = hall.journaled()
    from_station = {i for i, p in journaled.items() if schema.decode(p).device == "st-01"}
    assert len(from_station) > 100 and not from_station & set(stored)  # all held back
    others = set(journaled) - from_station
    deadline = time.monotonic() + 20
    while not others <= set(hall.central()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert others <= set(hall.central())  # the other devices were not held up
    station.proxy.restore()
    hall.finish_devices()
    hall.settle()
    assert hall.verify()["events"] >= 300


def test_duplicated_and_reordered_deliveries_count_once(hall):
    """Every event of the month, each sent one to three times, in a shuffled order."""
    rng = random.Random(3)
    sends: list[tuple[str, bytes]] = []
    for name, device in hall.devices.items():
        for line in device.events_file.read_bytes().splitlines():
            hall.direct[schema.decode(line).id] = line
            sends += [(name, line)] * rng.randint(1, 3)
    rng.shuffle(sends)
    hall.start_rules(wait=True)
    clients = {name: hall.device_client(name).start() for name in hall.devices}
    try:
        infos = []
        for name, line in sends:
            kind = schema.kind_of(schema.decode(line))
            infos.append(clients[name].publish(device_topic(SITE, name, kind), line))
        for info in infos:
            info.wait_for_publish(20)
    finally:
        for client in clients.values():
            client.stop()
    hall.settle()
    assert len(sends) > 1.5 * len(hall.direct)
    assert hall.verify()["events"] == len(hall.direct) >= 300


def test_device_clocks_skewed_both_ways(hall):
    """A station three days ahead, an agent two hours behind: stored as they stamped them."""
    hall.devices["st-01"].skew_s = 3 * 86400
    hall.devices["ws-s00001"].skew_s = -2 * 3600
    hall.start_rules(wait=True)
    hall.start_devices(pace_s=0.005)
    hall.finish_devices()
    hall.settle()
    assert hall.verify()["events"] >= 300
    original = {
        schema.decode(line).id: schema.decode(line)
        for line in hall.devices["st-01"].events_file.read_bytes().splitlines()
    }
    stored = hall.central()
    shifts = {
        (schema.decode(stored[i][0]).ts - event.ts).total_seconds() for i, event in original.items()
    }
    assert shifts == {3 * 86400.0}


def test_the_broker_keeps_plain_subscriptions_across_a_restart_but_not_shared_ones(
    hardened_broker,
):
    """Why a single rules instance uses `group = ""` (docs/rules.md): a `$share` group's
    subscription is not kept, so what devices publish before its instances are back is
    dropped; the centre asks the devices for it again (tests/chaos/test_resend.py). If this
    starts to fail, Mosquitto restores `$share` too."""
    from tests.mqtt_helpers import Collector, client, clock_event

    b = hardened_broker
    received = {}
    # Two accounts: the broker names a session after its account.
    for name, account, topic_filter in (
        ("plain", "rules", "hallwatch/v1/+/+/clock"),
        ("shared", "rules-2", "$share/g/hallwatch/v1/+/+/clock"),
    ):
        seen = Collector()
        first = client(b.port, f"rules-{name}", account, b.password(account), on_message=seen)
        first.subscribe(topic_filter)
        first.start()
        time.sleep(0.3)
        first.stop()  # offline; its persistent session holds the subscription
        b.stop()
        b.start()
        with client(b.port, "st-01", "hall-01.st-01", b.password("hall-01.st-01")) as st01:
            st01.publish_event(clock_event("hall-01", "st-01", 1)).wait_for_publish(5)
        # Back without subscribing again: only what the broker kept is delivered.
        with client(b.port, f"rules-{name}", account, b.password(account), on_message=seen):
            received[name] = len(seen.wait_for(1, timeout_s=3))
    assert received == {"plain": 1, "shared": 0}
