"""Office hours, one definition: which session a punch belongs to (station and engine),
the sessions of a day (seasons, holidays, make-up days), and the timetable on the wire."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import msgspec
import pytest

from base.config import ConfigError
from base.schedule import Session, Timetable, session_index
from edge.station.inference import LastPunch, infer_action
from mqtt import schema
from mqtt.schema import Action
from rules.policy import Policy
from tests.rules_helpers import full_day, replace, rules_of
from tests.schedule_helpers import SESSIONS, at

# -- which session a punch belongs to --------------------------------------------------


@pytest.mark.parametrize(
    ("hh", "mm", "index"),
    [(7, 0, 0), (11, 59, 0), (12, 44, 0), (12, 45, 1), (13, 20, 1), (18, 0, 1)],
)
def test_each_time_belongs_to_the_nearest_session(hh, mm, index):
    assert session_index(SESSIONS, at(hh, mm).time()) == index


def test_a_punch_near_lunch_belongs_to_the_nearer_session():
    # Clock-out at 12:40 is before the 12:45 midpoint: the morning's departure, not late.
    day = replace(full_day(), "12:01", "12:40")
    assert rules_of(day) == []


def test_the_middle_of_a_break_is_exact_to_the_microsecond():
    # 12:00 to 13:31: the middle is 12:45:30, which minutes of the day cannot express
    # (the station used to count 12:45:40 as the morning, the engine as the afternoon).
    sessions = [Session(start=time(9), end=time(12)), Session(start=time(13, 31), end=time(17))]
    assert session_index(sessions, time(12, 45, 29, 999_999)) == 0
    assert session_index(sessions, time(12, 45, 30)) == 1
    assert session_index(sessions, time(12, 45, 40)) == 1


def test_station_and_engine_put_a_punch_in_the_same_session():
    # The engine: a 12:46 clock-out is the afternoon's, so the morning lacks its clock-out;
    # the station: a 12:46 punch after a morning clock-in is the afternoon's clock-in, not
    # the morning's clock-out. At 12:44 both count it as the morning's.
    assert rules_of(replace(full_day(), "12:01", "12:46")) == ["missing_punch"]
    assert rules_of(replace(full_day(), "12:01", "12:44")) == []
    last = LastPunch(Action.CLOCK_IN, at(8, 55))
    assert infer_action(SESSIONS, last, at(12, 46)) is Action.CLOCK_IN
    assert infer_action(SESSIONS, last, at(12, 44)) is Action.CLOCK_OUT


def test_a_day_without_sessions_is_one_stretch():
    assert session_index([], time(9)) == session_index([], time(17)) == 0
    last = LastPunch(Action.CLOCK_IN, at(9))
    assert infer_action([], last, at(16)) is Action.CLOCK_OUT


def test_one_session_owns_the_whole_day():
    only = [Session(start=time(9), end=time(17))]
    assert {session_index(only, time(h)) for h in range(24)} == {0}


# -- the sessions of a day -------------------------------------------------------------

POLICY = Policy.model_validate(
    {
        "sites": {"hall-02": {"timezone": "Asia/Urumqi"}},
        "schedules": [
            {"from": "01-01", "sessions": [{"start": "09:00", "end": "12:00"}]},
            {"from": "06-01", "sessions": [{"start": "08:30", "end": "11:30"}]},
        ],
        "calendar": {"holidays": ["2026-10-01"], "workdays": ["2026-10-10"]},
    }
)


@pytest.mark.parametrize(
    ("day", "starts"),
    [
        (date(2026, 3, 3), [time(9)]),  # winter schedule
        (date(2026, 7, 7), [time(8, 30)]),  # summer schedule from 06-01
        (date(2026, 10, 1), []),  # a holiday on a Thursday
        (date(2026, 10, 10), [time(8, 30)]),  # a make-up working Saturday
        (date(2026, 10, 11), []),  # an ordinary Sunday
    ],
)
def test_the_policy_and_its_timetable_give_the_same_sessions(day, starts):
    timetable = POLICY.timetable("hall-02")
    assert [s.start for s in POLICY.sessions(day)] == starts
    assert [s.start for s in timetable.sessions(day)] == starts
    assert timetable.zone == ZoneInfo("Asia/Urumqi")
    assert POLICY.timetable("elsewhere").timezone == "Asia/Shanghai"  # the default site


def test_a_station_file_timetable_has_its_sessions_every_day():
    timetable = Timetable.every_day("Asia/Shanghai", SESSIONS)
    saturday, holiday = date(2026, 11, 28), date(2026, 10, 1)
    assert timetable.sessions(saturday) == timetable.sessions(holiday) == SESSIONS


# -- the timetable on the wire ---------------------------------------------------------


def test_a_timetable_crosses_the_wire_unchanged():
    timetable = POLICY.timetable("hall-02")
    wire = msgspec.json.encode(schema.timetable_spec(timetable))
    assert b'"from":"06-01"' in wire and b'"start":"08:30:00"' in wire
    assert schema.timetable_of(msgspec.json.decode(wire, type=schema.TimetableSpec)) == timetable


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"schedules": []}, "at least 1 item"),
        (
            {
                "schedules": [
                    {"from": "01-01", "sessions": [{"start": "12:00:00", "end": "09:00:00"}]}
                ]
            },
            "ends (09:00:00) before it starts (12:00:00)",
        ),
        (
            {
                "schedules": [
                    {
                        "from": "01-01",
                        "sessions": [
                            {"start": "09:00:00", "end": "12:00:00"},
                            {"start": "11:00:00", "end": "17:00:00"},
                        ],
                    }
                ]
            },
            "overlap",
        ),
        (
            {
                "schedules": [
                    {"from": "01-01", "sessions": [{"start": "09:00:00", "end": "12:00:00"}]},
                    {"from": "01-01", "sessions": [{"start": "08:00:00", "end": "12:00:00"}]},
                ]
            },
            "two schedules start on the same day",
        ),
        ({"schedules": [{"from": "13-01", "sessions": []}]}, "schedules.0.from"),
        (
            {"calendar": {"weekend": [8], "holidays": [], "workdays": []}},
            "calendar.weekend.0",
        ),
        (
            {"calendar": {"weekend": [], "holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}},
            "both holiday and make-up working day: 2026-10-01",
        ),
        (
            {
                "schedules": [
                    {"from": "01-01", "sessions": [{"start": "09:00:00+08:00", "end": "12:00:00"}]}
                ]
            },
            "a local time of day",
        ),
    ],
)
def test_a_timetable_breaking_a_rule_is_refused_with_the_reason(change, reason):
    good = msgspec.to_builtins(schema.timetable_spec(POLICY.timetable("hall-02")))
    spec = msgspec.convert(good | change, schema.TimetableSpec)
    with pytest.raises(ConfigError) as refused:
        schema.timetable_of(spec)
    assert reason in str(refused.value)
