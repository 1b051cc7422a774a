"""Keys at the station as a hall uses them: a wrong key never punches, the keypad speaks
the station's language, going out lists its reasons and takes the documented forms."""

from __future__ import annotations

import time

import pytest

from edge.station.keypad import InputError, KeyPress, parse
from edge.station.station import Station
from hallwatch.demo.stage import Stage
from mqtt import schema
from tests.station.conftest import (
    Central,
    Keypad,
    RunningStation,
    Screen,
    enrol_fingers,
    finger_config,
    make_config,
    sensor_table,
)

REASONS = ["business at another office", "bank", "document delivery", "meeting"]


@pytest.mark.parametrize(
    ("line", "kind", "reason"),
    [
        ("g", "outing", 0),
        ("g 2 3", "personal", 2),
        ("g outing bank", "outing", 1),
        ("go official meeting", "official", 3),
        ("G Sick 1", "sick", 0),
        ("g bank", "outing", 1),
        ("g 1 business at another office", "outing", 0),
        ("g 4 doc", "official", 2),  # a reason by the start of its text, when unique
        ("外出 事假 2", "personal", 1),
    ],
)
def test_going_out_takes_every_documented_form(line, kind, reason):
    request = parse(KeyPress(line, 1.0), REASONS)
    assert request.action is schema.Action.LEAVE_OUT
    assert (request.leave_kind.value, request.reason_index) == (kind, reason)


@pytest.mark.parametrize(
    ("line", "message_key"),
    [
        ("x", "key_unknown"),
        ("b 2", "key_no_options"),
        ("g 7", "kind_unknown"),
        ("g outing 9", "reason_unknown"),
        ("g outing cinema", "reason_unknown"),
    ],
)
def test_a_wrong_key_says_what_to_press(line, message_key):
    with pytest.raises(InputError) as err:
        parse(KeyPress(line, 1.0), REASONS)
    assert err.value.message_key == message_key
    if message_key == "reason_unknown":
        assert "1 business at another office  2 bank" in err.value.values["reasons"]


def _finger_station(site, data, emulator, keypad, screen, **overrides) -> Station:
    config = finger_config(site, data, emulator, ["S001"], **overrides)
    return Station(config, keys=keypad.reader, feedback=screen)


def test_going_out_by_names_shows_the_choice_then_punches(site, station_data, emulator):
    keypad, screen = Keypad(), Screen()
    station = _finger_station(site, station_data, emulator, keypad, screen, language="en")
    with Central(site) as central, RunningStation(station):
        keypad.press("g outing bank")
        chosen = screen.wait_for("Going out chosen: outing, bank")
        assert chosen.kind == "info"
        # The reasons are listed on screen, and nothing says "registered" before anyone is.
        assert "1 business at another office  2 bank  3 document delivery" in chosen.detail
        assert "registered" not in screen.text()
        emulator.place_finger("finger-s001", touches=1)
        [out] = central.wait_for(schema.Punch, 1)
        keypad.close()
    assert out.action is schema.Action.LEAVE_OUT and not out.inferred
    assert (out.leave.kind, out.leave.reason) == (schema.LeaveKind.OUTING, "bank")
    screen.wait_for("Going out registered")


def test_the_keypad_speaks_the_stations_language(site, station_data, emulator):
    keypad, screen = Keypad(), Screen()
    station = _finger_station(site, station_data, emulator, keypad, screen)  # zh, the default
    with Central(site) as central, RunningStation(station):
        keypad.press("x")
        wrong = screen.wait_for("无效按键 x")
        assert wrong.kind == "fail" and "o 下班" in wrong.title
        keypad.press("g 事假 银行")
        chosen = screen.wait_for("已选择外出：事假，银行")
        assert "1 到其他单位办事  2 银行" in chosen.detail
        emulator.place_finger("finger-s001", touches=1)
        [out] = central.wait_for(schema.Punch, 1)
        keypad.close()
    assert (out.leave.kind, out.leave.reason) == (schema.LeaveKind.PERSONAL, "银行")


def test_a_key_not_understood_never_punches(site, station_data, emulator):
    keypad, screen = Keypad(), Screen()
    station = _finger_station(site, station_data, emulator, keypad, screen, language="en")
    with Central(site) as central, RunningStation(station):
        keypad.press("g outing cinema")
        screen.wait_for("No reason cinema")
        emulator.place_finger("finger-s001", touches=1)  # the person then touches the sensor
        time.sleep(1.5)
        emulator.place_finger("finger-s001", touches=1)  # and again
        time.sleep(1.5)
        assert central.events(schema.Punch) == []
        keypad.press("g outing bank")
        emulator.place_finger("finger-s001", touches=1)
        [out] = central.wait_for(schema.Punch, 1)
        keypad.close()
    assert (out.action, out.leave.reason) == (schema.Action.LEAVE_OUT, "bank")


def test_back_with_no_outing_keeps_the_turn_and_never_clocks_out(site, station_data, faces_dir):
    """The issue's case: "back" pressed with no outing open, then the person looks at the
    camera: refused, told what to press, and not clocked in or out a second later."""
    keypad, screen, stage = Keypad(), Screen(), Stage()
    config = make_config(
        site, station_data, identify="face", language="en", debounce_s=0.5, key_timeout_s=30
    )
    face = faces_dir / "identities/deepface_p01/img2.jpg"  # S001
    with (
        Central(site) as central,
        RunningStation(Station(config, keys=keypad.reader, feedback=screen, camera=stage)),
    ):
        keypad.press("b")
        chosen = screen.wait_for("Back from going out chosen")
        assert chosen.kind == "info" and "Welcome back" not in screen.text()
        stage.show(face)
        refused = screen.wait_for("You are not registered as out")
        assert refused.kind == "fail" and "Press i to clock in or o to clock out" in refused.detail
        time.sleep(4)  # still in front of the camera, identified again and again
        assert central.events(schema.Punch) == []
        keypad.press("o")  # the key they meant
        [punch] = central.wait_for(schema.Punch, 1)
        keypad.close()
    assert (punch.staff_id, punch.action, punch.inferred) == (
        "S001",
        schema.Action.CLOCK_OUT,
        False,
    )


def test_a_refused_turn_ends_when_the_person_walks_away(site, station_data, faces_dir):
    keypad, screen, stage = Keypad(), Screen(), Stage()
    config = make_config(
        site, station_data, identify="face", language="en", debounce_s=0.5, key_timeout_s=30
    )
    face = faces_dir / "identities/deepface_p01/img2.jpg"
    with (
        Central(site) as central,
        RunningStation(Station(config, keys=keypad.reader, feedback=screen, camera=stage)),
    ):
        keypad.press("b")
        stage.show(face)
        screen.wait_for("You are not registered as out")
        time.sleep(1)
        assert central.events(schema.Punch) == []
        stage.show(None)  # walks away: the camera sees nobody
        time.sleep(1.5)
        stage.show(face)  # comes back without a key: the action is inferred as usual
        [punch] = central.wait_for(schema.Punch, 1)
        keypad.close()
    assert (punch.action, punch.inferred) == (schema.Action.CLOCK_IN, True)


def test_face_and_finger_after_a_refusal_a_new_key_asks_for_the_finger_again(
    site, station_data, faces_dir, emulator
):
    enrol_fingers(emulator, station_data, ["S001"])
    keypad, screen, stage = Keypad(), Screen(), Stage()
    config = make_config(
        site,
        station_data,
        identify="face_and_finger",
        language="en",
        debounce_s=0.5,
        second_factor_s=30,
        key_timeout_s=30,
        fingerprint=sensor_table(emulator, station_data),
    )
    with (
        Central(site) as central,
        RunningStation(Station(config, keys=keypad.reader, feedback=screen, camera=stage)),
    ):
        keypad.press("b")
        stage.show(faces_dir / "identities/deepface_p01/img2.jpg")  # S001
        screen.wait_for("Now touch the sensor, 张伟")
        emulator.place_finger("finger-s001", touches=1)
        screen.wait_for("You are not registered as out")
        time.sleep(2)
        assert central.events(schema.Punch) == []
        asked = len([n for n in screen.shown if "Now touch the sensor" in n.title])
        keypad.press("o")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and asked == len(
            [n for n in screen.shown if "Now touch the sensor" in n.title]
        ):
            time.sleep(0.1)  # the face, seen again, asks for the finger again
        assert len([n for n in screen.shown if "Now touch the sensor" in n.title]) > asked
        emulator.place_finger("finger-s001", touches=1)
        [punch] = central.wait_for(schema.Punch, 1)
        keypad.close()
    assert (punch.action, punch.method, punch.inferred) == (
        schema.Action.CLOCK_OUT,
        schema.Method.FACE_FINGER,
        False,
    )
