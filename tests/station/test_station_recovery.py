"""A station whose fingerprint worker fails, and whose sensor is unplugged and replugged
again and again: it says so, comes back, and fingers keep punching (real station, real
driver over pyfingerprint, the emulated sensor on a pty)."""

from __future__ import annotations

import itertools
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from base.supervise import Restarts
from drivers.fingerprint.emulator import Fault, SensorEmulator
from edge.station.config import StationConfig
from edge.station.station import Station
from mqtt import schema
from tests.station.conftest import FINGERS, RunningStation, enrol_fingers, make_config, sensor_table

STAFF = ["S001", "S002", "S003"]
STRANGER = "finger-of-a-visitor"  # enrolled nowhere: a touch that punches nobody


def finger_station(site: str, data: Path, emulator: SensorEmulator) -> StationConfig:
    """A finger-only station whose driver gives up on a silent sensor after 0.5 s."""
    enrol_fingers(emulator, data, STAFF)
    fingerprint = sensor_table(emulator, data) | {"reply_timeout_s": 0.5}
    return make_config(site, data, identify="finger", debounce_s=0.5, fingerprint=fingerprint)


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s:g} s: {what}"
        time.sleep(0.05)


def punches(station: Station) -> list[schema.Punch]:
    return [e for e in station.journal.events() if isinstance(e, schema.Punch)]


def punch_by_finger(station: Station, emulator: SensorEmulator, staff_id: str) -> None:
    """The person touches the sensor (again every 3 s, as people do) until it punches."""
    before = len(punches(station))
    deadline = time.monotonic() + 20
    while len(punches(station)) == before:
        assert time.monotonic() < deadline, f"{staff_id}'s finger no longer punches"
        emulator.place_finger(FINGERS[staff_id], touches=1)
        for _ in range(60):
            if len(punches(station)) > before:
                break
            time.sleep(0.05)
    assert punches(station)[-1].staff_id == staff_id


def sensor_healths(station: Station) -> list[str]:
    return [
        e.health.sensor
        for e in station.journal.events()
        if isinstance(e, schema.Status) and e.health is not None and e.health.sensor
    ]


def test_a_failed_finger_worker_is_alerted_shown_in_the_status_and_restarted(
    site, station_data, emulator
):
    config = finger_station(site, station_data, emulator)
    # A damaged row of the device's finger database: reading S001's match fails outright.
    with sqlite3.connect(station_data / "fingers.db") as db:
        db.execute("UPDATE finger_slots SET enrolled_at = 'not a time' WHERE staff_id = 'S001'")
    db.close()
    station = Station(config, restarts=Restarts(first_s=1.0))
    with RunningStation(station):
        wait_until(lambda: "ok" in sensor_healths(station), 10, "a status saying ok")
        emulator.place_finger(FINGERS["S001"], touches=1)
        wait_until(
            lambda: any("worker failed" in sensor for sensor in sensor_healths(station)),
            10,
            "a status saying the worker is down",
        )
        assert station.alive()  # one failure: brought back here, the watchdog still fed
        wait_until(lambda: station.fingers.status == "ok", 10, "the worker restarted")
        punch_by_finger(station, emulator, "S003")
        wait_until(lambda: sensor_healths(station)[-1] == "ok", 5, "a status saying ok again")
        alerts = [e for e in station.journal.events() if isinstance(e, schema.Alert)]
        healths = sensor_healths(station)
    [alert] = alerts
    assert alert.kind == schema.AlertKind.SENSOR_FAULT
    assert alert.message.startswith(
        "fingerprint failed, restarting: ValueError: Invalid isoformat string"
    )
    down = next(i for i, sensor in enumerate(healths) if "worker failed" in sensor)
    assert "ok" in healths[:down] and "ok" in healths[down:]  # ok, then down, then ok again
    assert healths[down].startswith("fault: the fingerprint worker failed (ValueError: ")


def test_fingers_keep_punching_through_unplugs_and_replugs(
    site, station_data, emulator, request: pytest.FixtureRequest
):
    """Unplugged while idle, in the middle of reading a finger, and after the sensor went
    silent mid-read (the port then hangs up under the driver's resynchronisation); after
    every replug a finger punches. --replug-seconds sets how long (60 for acceptance)."""
    seconds = request.config.getoption("replug_seconds")
    rng = random.Random(18)
    station = Station(finger_station(site, station_data, emulator))
    ways = itertools.cycle(["idle", "reading", "silent"])
    replugs = 0
    with RunningStation(station):
        wait_until(lambda: station.fingers.status == "ok", 10, "the sensor opened")
        until = time.monotonic() + seconds
        while time.monotonic() < until or replugs < 3:
            way = next(ways)
            if way == "silent":
                emulator.inject(Fault.SILENCE)
            if way != "idle":
                emulator.place_finger(STRANGER)
                time.sleep(rng.uniform(0.05, 0.8 if way == "silent" else 0.3))
            emulator.unplug()
            time.sleep(rng.uniform(0.0, 0.5))
            emulator.clear_faults()
            emulator.lift_finger()
            emulator.plug_in()
            punch_by_finger(station, emulator, STAFF[replugs % len(STAFF)])
            replugs += 1
        assert station.alive() and station.fingers.status == "ok"
        recorded = punches(station)
        alerts = [e for e in station.journal.events() if isinstance(e, schema.Alert)]
    assert len(recorded) == replugs
    assert [p.staff_id for p in recorded] == [STAFF[i % len(STAFF)] for i in range(replugs)]
    assert {a.kind for a in alerts} == {schema.AlertKind.SENSOR_FAULT}
    assert any("disconnected" in a.message or "no fingerprint sensor" in a.message for a in alerts)
    # The driver reopened the port each time: the worker itself never failed.
    assert not [a.message for a in alerts if a.message.startswith("fingerprint failed")]
