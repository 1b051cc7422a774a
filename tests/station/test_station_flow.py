"""The station end to end: replay camera, emulated sensor, real Mosquitto."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from edge.station.keypad import KeyReader
from edge.station.station import Station
from mqtt import schema
from tests.station.conftest import (
    Central,
    RunningStation,
    face_config,
    finger_config,
    replay_folder,
)


def test_face_punch_arrives_once_with_the_right_payload(tmp_path, site, station_data, faces_dir):
    folder = replay_folder(
        tmp_path, faces_dir, "identities/deepface_p01/img2.jpg", "identities/deepface_p01/img4.jpg"
    )
    config = face_config(site, station_data, folder, fps=10)
    with Central(site) as central, RunningStation(Station(config)):
        punches = central.wait_for(schema.Punch, 1)
        time.sleep(2)  # the same person still in front of the camera: debounced, no second punch
    punches = central.events(schema.Punch)
    assert len(punches) == 1
    punch = punches[0]
    assert (punch.staff_id, punch.action, punch.method, punch.inferred) == (
        "S001",
        schema.Action.CLOCK_IN,
        schema.Method.FACE,
        True,
    )
    assert 0.455 <= punch.score <= 1 and punch.liveness is not None
    assert punch.site == site and punch.device == "st-01" and punch.ts.tzinfo is not None
    statuses = central.events(schema.Status)
    assert statuses[0].state == "online"


def test_finger_punches_infer_in_then_out(tmp_path, site, station_data, emulator):
    config = finger_config(site, station_data, emulator, ["S001", "S003"])
    with Central(site) as central, RunningStation(Station(config)):
        for finger in ("finger-s003", "finger-s003"):
            emulator.place_finger(finger, touches=1)
            time.sleep(1.5)
        punches = central.wait_for(schema.Punch, 2)
    assert [(p.staff_id, p.action, p.method) for p in punches] == [
        ("S003", schema.Action.CLOCK_IN, schema.Method.FINGER),
        ("S003", schema.Action.CLOCK_OUT, schema.Method.FINGER),
    ]
    assert punches[0].score >= 50 and punches[0].seq < punches[1].seq


def test_going_out_and_back_with_keys(tmp_path, site, station_data, emulator):
    config = finger_config(site, station_data, emulator, ["S001"], language="en")
    read_end, write_end = os.pipe()
    keypad = os.fdopen(write_end, "w", buffering=1)
    keys = KeyReader(os.fdopen(read_end))
    with Central(site) as central, RunningStation(Station(config, keys=keys)):
        keypad.write("g 2 3\n")  # going out: personal, the third reason
        time.sleep(0.3)
        emulator.place_finger("finger-s001", touches=1)
        central.wait_for(schema.Punch, 1)
        time.sleep(1)
        keypad.write("b\n")
        time.sleep(0.3)
        emulator.place_finger("finger-s001", touches=1)
        out, back = central.wait_for(schema.Punch, 2)
        keypad.close()
    assert out.action is schema.Action.LEAVE_OUT and not out.inferred
    assert out.leave.kind is schema.LeaveKind.PERSONAL
    assert out.leave.reason == config.leave.reasons[2]
    assert timedelta(minutes=119) < out.leave.expected_return - out.ts <= timedelta(minutes=120)
    assert back.action is schema.Action.LEAVE_RETURN and back.leave is None
