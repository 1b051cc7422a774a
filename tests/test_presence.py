"""Who is where now: situations of a day and the state the live hall shows, in agreement
with what the engine (the inspection) finds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mqtt.schema import Action, LeaveKind, Method, Punch, new_event
from rules.directory import Directory, Posting, ServiceWindow, StaffMember
from rules.engine import PersonEvents, evaluate_day, group_by_person
from rules.manager_actions import LeaveRecord
from rules.presence import STATES, hall_presence, person_presence
from tests.rules_helpers import (
    DAY,
    SITE,
    activity,
    at,
    clock,
    directory_of,
    full_day,
    going_out,
    policy,
)

POLICY = policy()
DIRECTORY = directory_of(POLICY)
MORNING = [clock("08:55"), clock("12:01", Action.CLOCK_OUT)]


def leave(start: str, end: str, staff: str = "S1") -> LeaveRecord:
    return LeaveRecord(f"lv-{staff}-{start}", staff, at(start), at(end), LeaveKind.PERSONAL, "x")


def row(events, now: str, leaves=(), staff: str = "S1", day: date = DAY):
    hall = hall_presence(POLICY, DIRECTORY, SITE, events, leaves, at(now, day))
    person = hall.person(staff)
    assert person is not None
    return person


SITUATIONS = [
    # (what happens, now, leaves) -> state, late
    ("no punch before the session", [], "08:30", (), "not_in", False),
    ("no punch within the grace", [], "09:05", (), "not_in", False),
    ("no punch past the grace", [], "09:20", (), "not_in", True),
    ("no punch at the absence threshold", [], "10:00", (), "not_in", True),
    ("no punch past the absence threshold", [], "10:00:01", (), "absent", False),
    ("clocked in", [clock("08:55")], "10:00", (), "at_post", False),
    ("clocked in late", [clock("09:30")], "10:00", (), "at_post", False),
    ("clocked out for lunch", MORNING, "12:30", (), "off_duty", False),
    ("lunch over, within the grace", MORNING, "13:33", (), "not_in", False),
    ("lunch over, past the grace", MORNING, "13:40", (), "not_in", True),
    ("back from lunch", [*MORNING, clock("13:25")], "14:00", (), "at_post", False),
    ("missed the morning, in the break", [], "12:30", (), "absent", False),
    ("a full day, evening", full_day(), "17:30", (), "off_duty", False),
    ("never clocked out, evening", [clock("08:55")], "17:30", (), "off_duty", False),
    ("left mid-session", [clock("08:55"), clock("10:00", Action.CLOCK_OUT)], "10:30", (),
     "off_duty", False),
    ("on leave all day", [], "10:00", (leave("00:00", "23:59"),), "on_leave", False),
    ("on leave in the morning, break", [], "12:30", (leave("09:00", "12:00"),), "not_in", False),
    ("on leave in the morning, afternoon late", [], "13:40", (leave("09:00", "12:00"),),
     "not_in", True),
    ("on leave from 10:00, now", [clock("08:55"), clock("10:00", Action.CLOCK_OUT)], "10:30",
     (leave("10:00", "17:00"),), "on_leave", False),
    ("no punch, evening", [], "17:30", (), "absent", False),
    ("back from going out", [clock("08:55"), going_out("10:00", "10:30"),
     clock("10:25", Action.LEAVE_RETURN)], "10:40", (), "at_post", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("events", "now", "leaves", "state", "late"),
    [s[1:] for s in SITUATIONS],
    ids=[s[0] for s in SITUATIONS],
)
def test_situations(events, now, leaves, state, late):
    person = row(events, now, leaves)
    assert (person.state, person.late) == (state, late)
    assert person.punches == tuple(sorted(events, key=lambda e: e.ts))


def test_the_last_punch_and_only_punches_up_to_now():
    person = row(full_day(), "12:30")
    assert person.last_punch == at("12:01")
    assert [p.ts for p in person.punches] == [at("08:55"), at("12:01")]


def test_going_out_shows_kind_reason_and_returns_and_turns_overdue():
    events = [clock("08:55"), going_out("10:00", "10:30")]
    inside = row(events, "10:40")
    assert inside.state == "out"
    assert inside.outing is not None
    assert (inside.outing.kind, inside.outing.reason) == (LeaveKind.OUTING, "bank")
    assert inside.outing.expected_return == at("10:30")
    assert inside.outing.allowed_return == at("10:30")
    assert not inside.outing.overdue
    over = row(events, "10:40:01")
    assert over.state == "out" and over.outing and over.outing.overdue
    # The engine agrees once the devices had time to deliver (settled).
    assert "outing_overdue" in engine_rules(events, "11:20")


def test_going_out_is_allowed_no_longer_than_its_kind():
    events = [clock("08:55"), going_out("09:30", "11:30")]  # an outing: 60 minutes at most
    person = row(events, "10:40:01")
    assert person.outing and person.outing.allowed_return == at("10:30")
    assert person.outing.overdue


def test_an_idle_workstation_is_away_and_working_again_is_at_post():
    idle = [clock("08:55"), activity("09:00", 60, idle_min=40)]
    person = row(idle, "10:00")
    assert (person.state, person.idle_since) == ("away", at("09:20"))
    assert "away_from_post" in engine_rules(idle, "10:00")
    short = [clock("08:55"), activity("09:00", 60, idle_min=20)]
    assert row(short, "10:00").state == "at_post"
    assert "away_from_post" not in engine_rules(short, "10:00")
    back = [*idle, activity("10:00", 5)]
    assert row(back, "10:05").state == "at_post"


def test_idle_in_the_lunch_break_is_not_away():
    events = [clock("08:55"), activity("12:00", 80, idle_min=80)]
    assert row(events, "13:20").state == "at_post"


def test_absent_agrees_with_the_engine():
    assert row([], "10:00:01").state == "absent"
    assert "absence" in engine_rules([], "18:00")
    late = [clock("10:30")]
    assert row(late, "10:40").state == "at_post"
    assert "absence" in engine_rules(late, "10:40")  # 90 minutes late: an absence


def test_a_day_without_sessions_is_off_duty():
    saturday = DAY + timedelta(days=4)
    assert row([], "10:00", day=saturday).state == "off_duty"
    assert row([clock("10:00", day=saturday)], "11:00", day=saturday).state == "at_post"


def engine_rules(events, now: str) -> list[str]:
    person = group_by_person(events, DIRECTORY).get("S1", PersonEvents())
    return sorted(f.rule for f in evaluate_day(POLICY, DIRECTORY, "S1", DAY, person, (), at(now)))


# -- the hall ---------------------------------------------------------------------------
BERLIN = "hall-02"
MOVED = Directory(
    windows=(
        ServiceWindow("w1", SITE, "一号窗口"),
        ServiceWindow("w2", SITE, "二号窗口"),
        ServiceWindow("wb", BERLIN, "Berlin"),
    ),
    staff=(
        StaffMember(
            "S1",
            "张伟",
            postings=(Posting("w1", None, DAY - timedelta(days=1)), Posting("w2", DAY, None)),
        ),
        StaffMember("S2", "李娜", postings=(Posting("w1"),)),
        StaffMember(
            "S3",
            "王芳",
            postings=(Posting("w2", None, DAY - timedelta(days=1)), Posting("wb", DAY)),
        ),
        StaffMember("S4", "Anna", postings=(Posting("wb"),)),
        StaffMember("S5", "刘洋", end_date=DAY - timedelta(days=1), postings=(Posting("w1"),)),
    ),
    sites=(SITE, BERLIN),
)
TWO_ZONES = policy(
    sites={SITE: {"timezone": "Asia/Shanghai"}, BERLIN: {"timezone": "Europe/Berlin"}}
)


def test_each_window_shows_who_is_posted_there_today():
    hall = hall_presence(TWO_ZONES, MOVED, SITE, full_day("S1"), [], at("10:00"))
    assert [(w.window.id, [p.staff_id for p in w.staff]) for w in hall.windows] == [
        ("w1", ["S2"]),  # S1 moved to w2 today, S3 to another site, S5 has left
        ("w2", ["S1"]),
    ]
    assert hall.person("S1").window == "w2"
    assert hall.counts() == dict.fromkeys(STATES, 0) | {"at_post": 1, "not_in": 1}
    yesterday = hall_presence(TWO_ZONES, MOVED, SITE, [], [], at("10:00", DAY - timedelta(days=1)))
    assert [[p.staff_id for p in w.staff] for w in yesterday.windows] == [
        ["S1", "S2", "S5"],
        ["S3"],
    ]


def test_a_site_in_another_zone_reads_its_own_day():
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)  # 08:30 in Berlin, 15:30 in Shanghai
    there = hall_presence(TWO_ZONES, MOVED, BERLIN, [], [], now)
    assert there.day == DAY
    assert {p.staff_id: p.state for w in there.windows for p in w.staff} == {
        "S3": "not_in",
        "S4": "not_in",
    }
    here = hall_presence(TWO_ZONES, MOVED, SITE, [], [], now)
    assert {p.state for w in here.windows for p in w.staff} == {"absent"}
    # A punch for S4 from a station of another site does not count (as for the engine).
    elsewhere = clock("08:55", staff="S4")
    morning = datetime(2026, 11, 24, 9, 30, tzinfo=berlin)
    assert person_state(BERLIN, [elsewhere], morning, "S4") == "not_in"
    there_in = new_event(
        Punch, BERLIN, "st-b", datetime(2026, 11, 24, 8, 55, tzinfo=berlin), seq=1,
        staff_id="S4", action=Action.CLOCK_IN, method=Method.FACE, score=0.9,
    )  # fmt: skip
    assert person_state(BERLIN, [there_in], morning, "S4") == "at_post"
    # Just after midnight in Berlin is the next day there, while Shanghai is at 07:00.
    midnight = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert hall_presence(TWO_ZONES, MOVED, BERLIN, [], [], midnight).day == DAY + timedelta(days=1)


def person_state(site, events, now, staff):
    return hall_presence(TWO_ZONES, MOVED, site, events, [], now).person(staff).state


def test_one_persons_row_for_a_live_refresh():
    events = group_by_person([clock("08:55")], MOVED)["S1"]
    person = person_presence(TWO_ZONES, MOVED, SITE, "S1", events, [], at("10:00"))
    assert person is not None and (person.window, person.state) == ("w2", "at_post")
    assert person_presence(TWO_ZONES, MOVED, SITE, "S3", PersonEvents(), [], at("10:00")) is None


def test_a_site_not_live_yet_has_nobody_absent():
    from rules.engine import Facts

    facts = Facts(first_punch={})  # go-live tracked, and no punch ever: not live
    hall = hall_presence(POLICY, DIRECTORY, SITE, [], [], at("11:00"), facts)
    assert {p.state for w in hall.windows for p in w.staff} == {"not_in"}
