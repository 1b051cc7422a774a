"""Face and finger as a hall has them: someone enrolled with one factor only, a station
whose face pack is missing."""

from __future__ import annotations

import logging
import time

from edge.station.station import Station
from hallwatch.demo.stage import Stage
from mqtt import schema
from tests.station.conftest import (
    Central,
    RunningStation,
    Screen,
    enrol_fingers,
    make_config,
    sensor_table,
)


def test_face_and_finger_tells_a_person_without_a_finger_at_once(
    site, station_data, faces_dir, emulator, caplog
):
    enrol_fingers(emulator, station_data, ["S001"])  # S002 (李娜) has a face, no finger
    screen, stage = Screen(), Stage()
    config = make_config(
        site,
        station_data,
        identify="face_and_finger",
        language="en",
        fingerprint=sensor_table(emulator, station_data),
    )
    with caplog.at_level(logging.WARNING, logger="edge.station.station"):
        station = Station(config, feedback=screen, camera=stage)
        with Central(site) as central, RunningStation(station):
            warned = [r.getMessage() for r in caplog.records if "no finger" in r.getMessage()]
            stage.show(faces_dir / "identities/fr_obama/obama2.jpg")
            told = screen.wait_for("No fingerprint enrolled for 李娜", timeout_s=10)
            time.sleep(4)  # still in front of the camera
            stage.show(None)
            assert central.events(schema.Punch) == []
    assert told.kind == "fail"
    assert warned and "S002" in warned[0] and "S001" not in warned[0]
    assert "Now touch the sensor" not in screen.text()  # never asked for what cannot match
    repeats = [n for n in screen.shown if "No fingerprint enrolled" in n.title]
    assert 1 <= len(repeats) <= 3  # repeated now and then, not on every frame


def test_a_missing_face_pack_leaves_a_face_or_finger_station_on_fingers(tmp_path, site, emulator):
    data = tmp_path / "no-pack"  # no model pack installed here
    data.mkdir()
    enrol_fingers(emulator, data, ["S003"])
    screen = Screen()
    config = make_config(
        site,
        data,
        identify="face_or_finger",
        language="en",
        heartbeat_s=0.5,
        fingerprint=sensor_table(emulator, data),
    )
    with Central(site) as central, RunningStation(Station(config, feedback=screen)):
        screen.wait_for("Face recognition unavailable: touch the sensor")
        emulator.place_finger("finger-s003", touches=1)
        [punch] = central.wait_for(schema.Punch, 1)
        [alert] = central.wait_for(schema.Alert, 1)
        statuses = central.wait_for(schema.Status, 3)
    assert (punch.staff_id, punch.method) == ("S003", schema.Method.FINGER)
    assert alert.kind is schema.AlertKind.CAMERA_FAULT
    assert "identifying by finger only" in alert.message
    assert "model pack 'permissive' is not installed" in alert.message
    health = [s.health for s in statuses if s.health is not None][-1]
    assert health.camera.startswith("off:") and "not installed" in health.camera
    assert health.model_pack is None and health.sensor == "ok"
