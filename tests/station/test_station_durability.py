"""Nothing journaled is lost: SIGKILL at random points, a broker down for a while."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from edge.journal import Journal
from edge.station.station import Station
from mqtt import schema
from tests.conftest import REPO
from tests.station.conftest import (
    FINGERS,
    Central,
    RunningStation,
    enrol_fingers,
    face_config,
    finger_config,
)
from tests.support.mosquitto import anonymous_broker, free_port

STAFF = [f"S{n:03d}" for n in range(1, 13)]


def _station_file(path: Path, site: str, data: Path, port: str, broker_port: int = 1883) -> Path:
    path.write_text(
        f'site = "{site}"\ndevice = "st-01"\ndata_dir = "{data}"\nidentify = "finger"\n'
        "debounce_s = 0.5\nheartbeat_s = 3600\n"
        f'[fingerprint]\nport = "{port}"\ndata_dir = "{data}"\n'
        f"[broker]\nport = {broker_port}\nreconnect_min_s = 0.2\nreconnect_max_s = 1\n"
    )
    return path


def _start(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hallwatch", "station", "--config", str(config), "--no-keys"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_at_random_points_loses_nothing_and_duplicates_no_id(
    tmp_path, site, station_data, emulator
):
    FINGERS.update({s: f"finger-{s.lower()}" for s in STAFF})
    enrol_fingers(emulator, station_data, STAFF)
    config = _station_file(tmp_path / "station.toml", site, station_data, emulator.port)
    rng = random.Random(20261124)
    kills = 0
    with Central(site) as central:
        proc = _start(config)
        deadline = time.monotonic() + 40
        touches = 0
        while time.monotonic() < deadline and touches < 60:
            emulator.place_finger(FINGERS[rng.choice(STAFF)], touches=1)
            touches += 1
            time.sleep(rng.uniform(0.05, 0.6))
            if rng.random() < 0.2:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                kills += 1
                proc = _start(config)
        time.sleep(3)  # let the last process drain its journal
        proc.terminate()
        assert proc.wait(30) == 0, proc.stderr.read().decode()
        time.sleep(1)
        received = central.events(schema.Punch)
    with Journal(station_data / "journal.db", site, "st-01") as journal:
        journaled = [e for e in journal.events() if isinstance(e, schema.Punch)]
        seqs = [e.seq for e in journal.events()]
        assert journal.backlog() == 0
    assert kills >= 3 and len(journaled) >= 10
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({e.id for e in journaled}) == len(journaled)
    # Every journaled punch reached the subscriber; redeliveries carry the same id.
    assert {e.id for e in received} == {e.id for e in journaled}
    by_id = {e.id: e for e in journaled}
    assert all(by_id[e.id] == e for e in received)


def test_punches_made_while_the_broker_is_down_arrive_in_order(
    tmp_path, station_data, emulator, hardened_broker
):
    b = hardened_broker
    broker = {
        "port": b.port,
        "username": "hall-01.st-01",
        "password": b.password("hall-01.st-01"),
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1,
    }
    config = finger_config(
        "hall-01", station_data, emulator, ["S001", "S002", "S003"], broker=broker
    )
    auth = {"user": "rules", "password": b.password("rules")}
    with Central("hall-01", b.port, **auth) as central, RunningStation(Station(config)) as station:
        central.wait_for(schema.Status, 1)
        b.stop()
        for staff in ("S001", "S002", "S003", "S001"):
            emulator.place_finger(FINGERS[staff], touches=1)
            time.sleep(1.2)
        assert station.journal.backlog() >= 4
        b.start()
        punches = central.wait_for(schema.Punch, 4, timeout_s=30)
    assert [(p.staff_id, p.action) for p in punches] == [
        ("S001", schema.Action.CLOCK_IN),
        ("S002", schema.Action.CLOCK_IN),
        ("S003", schema.Action.CLOCK_IN),
        ("S001", schema.Action.CLOCK_OUT),
    ]
    assert [p.seq for p in punches] == sorted(p.seq for p in punches)


def test_after_a_broker_restart_the_station_is_online_at_once(tmp_path, site, station_data):
    """A broker that stops publishes every client's will and keeps it: a station that
    reconnects must replace it at once, not leave itself OFFLINE until its next heartbeat."""
    port = free_port()
    folder = tmp_path / "broker"
    broker = {"port": port, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}
    config = face_config(site, station_data, tmp_path / "no-camera", broker=broker)
    with anonymous_broker(folder, port, persistence=True):
        running = RunningStation(Station(config))
        station = running.__enter__()
        deadline = time.monotonic() + 10
        while station.journal.backlog() and time.monotonic() < deadline:
            time.sleep(0.1)  # online and its first health delivered, then the broker stops
    try:
        time.sleep(0.5)
        with anonymous_broker(folder, port, persistence=True):
            time.sleep(3)  # the station reconnects
            with Central(site, port) as central:  # what anyone subscribing now is told
                [status] = central.wait_for(schema.Status, 1, timeout_s=5)
    finally:
        running.__exit__()
    assert status.state == "online" and status.health is not None
