"""Delivery that does not depend on the broker (issue 18), under faults: what a broker or a
restored store lost, the devices' journals send again when the centre asks."""

from __future__ import annotations

import time

from tests.chaos.hall import Hall


def _restart_broker(hall: Hall, device: str, at: int, restarts: int) -> None:
    """When `device` has journaled `at` events, restart the broker; until it is back."""
    station = hall.devices[device]
    station.wait_journaled(at)
    hall.broker.stop()
    time.sleep(1.0)
    hall.broker.start()
    deadline = time.monotonic() + 10
    while station.proxy.connections <= restarts:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_three_instances_in_a_shared_group_lose_nothing_across_a_broker_restart(
    tmp_path, test_ca, postgres_url
):
    """The hole tests/chaos/test_faults.py documents (Mosquitto does not keep `$share`
    subscriptions across a restart): three instances on one PostgreSQL store. The broker
    is restarted mid-burst while the instances are down (their sessions keep no `$share`
    subscription), the devices publish into the group before the instances are back and
    have their PUBACKs; then restarted again with the instances up. The centre asks, the
    journals send again: every journaled event stored exactly once, results equal to a
    clean replay."""
    hall = Hall(tmp_path, test_ca, instances=3, store=postgres_url)
    accounts = ("rules", "rules-2", "rules-3")
    services = [hall.service(a, group="chaos").start() for a in accounts]
    asked = 0
    try:
        time.sleep(0.3)  # their SUBACKs
        stop = tmp_path / "devices-stop"
        hall.start_devices(pace_s=0.02, linger_until=stop)
        hall.devices["st-01"].wait_journaled(30)
        for service in services:
            service.stop()
        _restart_broker(hall, "st-01", 40, restarts=1)
        time.sleep(1.0)  # the devices publish; the group has no subscriber
        services = [hall.service(a, group="chaos").start() for a in accounts]
        _restart_broker(hall, "st-01", 80, restarts=2)
        hall.wait_journaled_all()
        assert not hall.wait_central(timeout_s=20)
        stop.touch()
        hall.finish_devices()
        assert not hall.wait_central(timeout_s=10)  # the last beats and answers too
        asked = sum(s.delivery.asked for s in services)
        deliveries = services[0].store.deliveries()
    finally:
        for service in services:
            service.stop()
        hall.close()
    assert asked > 0, "the broker lost nothing: the test proves nothing"
    assert deliveries and all(d.lost == 0 and d.missing == 0 for d in deliveries)
    assert hall.verify()["events"] >= 300


def test_a_store_restored_from_a_backup_catches_up_from_the_devices_journals(tmp_path, test_ca):
    """Yesterday's backup put back after a failure: what came in since is in no store but
    still in the devices' journals; their next heartbeats show how far they are, the centre
    asks, they send it again."""
    hall = Hall(tmp_path, test_ca)
    stop = tmp_path / "devices-stop"
    service = hall.service().start()
    try:
        time.sleep(0.3)
        hall.start_devices(pace_s=0.02, linger_until=stop)
        hall.devices["st-01"].wait_journaled(30)
        assert not hall.wait_central(timeout_s=10)
        service.stop()
        backup = hall.backup()
        before = set(hall.central())
        service = hall.service().start()  # ingesting on
        hall.wait_journaled_all()
        assert not hall.wait_central(timeout_s=20)
        service.stop()
        hall.restore(backup)
        assert set(hall.central()) == before  # behind: the rest is on the devices only
        behind = len(hall.journaled()) - len(before)
        service = hall.service().start()
        assert not hall.wait_central(timeout_s=20)
        stop.touch()
        hall.finish_devices()
        assert not hall.wait_central(timeout_s=10)
        asked = service.delivery.asked
        deliveries = service.store.deliveries()
    finally:
        service.stop()
        hall.close()
    assert behind > 50 and asked > 0
    assert deliveries and all(d.lost == 0 and d.missing == 0 for d in deliveries)
    assert hall.verify()["events"] >= 300
