"""A face in the grey zone at the real station: confirmed by the person's finger on the
emulated sensor or by their staff number on the keypad; a wrong finger, a wrong number
or none at all records nothing and says why; a stranger below the lower threshold is not
recognised and asked for nothing.

Thresholds from measured scores (tests/face/test_face_grey_zone.py): obama2.jpg scores
0.775 against 李娜 (S002, enrolled from obama.jpg) and 0.001 against 张伟 (S001); the
unknown Tom Hanks scores 0.18. Accept at 0.9, lower 0.6, 1:1 at 0.7.
"""

from __future__ import annotations

import time

from edge.station.station import Station
from hallwatch.demo.stage import Stage
from mqtt import schema
from tests.station.conftest import (
    Central,
    Keypad,
    RunningStation,
    Screen,
    enrol_fingers,
    make_config,
    sensor_table,
)

GREY = {"threshold": 0.9, "lower_threshold": 0.6, "verify_threshold": 0.7}
PROBE = "identities/fr_obama/obama2.jpg"  # 李娜 (S002), in the grey zone


def test_a_grey_zone_face_is_confirmed_by_the_candidates_own_finger(
    site, station_data, faces_dir, emulator
):
    enrol_fingers(emulator, station_data, ["S001", "S002"])
    screen, stage, keypad = Screen(), Stage(), Keypad()
    config = make_config(
        site,
        station_data,
        identify="face_or_finger",
        face=GREY,
        fingerprint=sensor_table(emulator, station_data),
    )
    station = Station(config, keys=keypad.reader, feedback=screen, camera=stage)
    with Central(site) as central, RunningStation(station):
        stage.show(faces_dir / PROBE)
        asked = screen.wait_for("人脸无法确认身份")
        mark = len(screen.shown)
        emulator.place_finger("finger-s001", touches=1)  # 张伟's finger, 1:1 against 李娜's
        refused = screen.wait_for("指纹与人脸不符", after=mark)
        screen.wait_for("人脸无法确认身份", after=mark)  # still in the grey zone: asked again
        time.sleep(0.5)
        assert central.events(schema.Punch) == []  # nothing recorded
        emulator.place_finger("finger-s002", touches=1)
        [punch] = central.wait_for(schema.Punch, 1)
        done = screen.wait_for("指纹确认")
    keypad.close()
    assert (asked.kind, asked.title) == ("info", "人脸无法确认身份，请按指纹或输入工号")
    assert asked.detail == "请在 10 秒内完成"
    assert "李娜" not in asked.title + asked.detail  # an uncertain face is not named
    assert (refused.kind, refused.title) == ("fail", "指纹与人脸不符，未记录")
    assert (punch.staff_id, punch.method) == ("S002", schema.Method.FACE_FINGER)
    assert punch.second_factor is schema.SecondFactor.FINGER
    assert 0.7 < punch.score < 0.85 and punch.finger_score is not None  # the face's score
    assert done.kind == "ok" and "李娜" in done.detail


def test_a_grey_zone_face_is_confirmed_by_a_staff_number_or_refused(site, station_data, faces_dir):
    screen, stage, keypad = Screen(), Stage(), Keypad()
    config = make_config(
        site,
        station_data,
        identify="face",
        face=GREY,
        language="en",
        second_factor_s=3,
        debounce_s=0.5,
    )
    station = Station(config, keys=keypad.reader, feedback=screen, camera=stage)
    with Central(site) as central, RunningStation(station):
        stage.show(faces_dir / PROBE)
        asked = screen.wait_for("Not sure it is you")
        mark = len(screen.shown)
        keypad.press("S001")  # 张伟's number: the face is checked 1:1 against 张伟's templates
        wrong = screen.wait_for("does not match staff number", after=mark)
        screen.wait_for("Not sure it is you", after=mark)
        mark = len(screen.shown)
        keypad.press("S999")
        unknown = screen.wait_for("No face enrolled for staff number", after=mark)
        screen.wait_for("Not sure it is you", after=mark)
        assert central.events(schema.Punch) == []  # nothing recorded
        keypad.press("S002")
        [punch] = central.wait_for(schema.Punch, 1)
        done = screen.wait_for("confirmed by staff number")
        mark = len(screen.shown)
        timed_out = screen.wait_for("No finger or staff number within 3 s", after=mark)
        stage.show(faces_dir / "unknown/Tom_Hanks_54745.png")
        mark = len(screen.shown)
        screen.wait_for("Not recognised", after=mark)
        time.sleep(1)
        shown_for_stranger = screen.shown[mark:]
        assert len(central.events(schema.Punch)) == 1
    keypad.close()
    assert asked.title == "Not sure it is you: type your staff number"  # no sensor here
    assert wrong.title == "The face does not match staff number S001: nothing recorded"
    assert unknown.title == "No face enrolled for staff number S999: nothing recorded"
    assert (punch.staff_id, punch.method) == ("S002", schema.Method.FACE)
    assert punch.second_factor is schema.SecondFactor.STAFF_NUMBER
    assert 0.7 < punch.score < 0.85  # the 1:1 score against 李娜's own templates
    assert done.kind == "ok"
    assert timed_out.kind == "fail" and "nothing recorded" in timed_out.title
    told = [(n.kind, n.title) for n in shown_for_stranger]
    assert ("fail", "Not recognised: ask an administrator to enrol you") in told
    assert not any("Not sure it is you" in title for _, title in told)
