"""The violation regime: each rule at its boundaries, numbering, escalation, veto, leave."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqtt.schema import Action, AlertKind, LeaveKind
from rules.engine import (
    evaluate_day,
    evaluate_month,
    evaluate_person_month,
    group_by_person,
)
from rules.manager_actions import LeaveRecord, ManagerAction
from tests.rules_helpers import (
    DAY,
    TZ,
    activity,
    alert,
    at,
    clock,
    directory_of,
    findings,
    full_day,
    going_out,
    policy,
    replace,
    rules_of,
    station_status,
)

POLICY = policy()


def test_a_blameless_day_has_no_violation():
    assert rules_of(full_day()) == []


@pytest.mark.parametrize(
    ("arrival", "expected"),
    [
        ("09:05:00", []),  # exactly the grace: not late
        ("09:05:01", ["late"]),
        ("10:00:00", ["late"]),  # exactly 60 minutes: still only late
        ("10:00:01", ["absence"]),  # more than 60 minutes late counts as absence
    ],
)
def test_late_arrival_boundaries(arrival, expected):
    assert rules_of(replace(full_day(), "08:55", arrival)) == expected


@pytest.mark.parametrize(
    ("departure", "expected"),
    [("16:55:00", []), ("16:54:59", ["early_departure"]), ("11:54:59", ["early_departure"])],
)
def test_early_departure_boundaries(departure, expected):
    day = full_day()
    old = "17:02" if departure.startswith("16") else "12:01"
    assert rules_of(replace(day, old, departure)) == expected


def test_missing_punches_and_absence():
    no_out = [e for e in full_day() if e.ts != at("17:02")]
    assert rules_of(no_out) == ["missing_punch"]
    no_in = [e for e in full_day() if e.ts != at("13:25")]
    assert rules_of(no_in) == ["missing_punch"]
    morning_only = full_day()[:2]
    found = findings(morning_only)
    assert [f.rule for f in found] == ["absence"]
    assert found[0].evidence == () and "13:30-17:00" in found[0].detail


def test_nothing_is_judged_before_devices_settle():
    morning_only = full_day()[:2]
    # 17:20: the afternoon session ended, but an offline device may still deliver.
    assert rules_of(morning_only, now=at("17:20")) == []
    assert rules_of(morning_only, now=at("17:30")) == ["absence"]


def test_approved_leave_excuses_whole_and_partial_sessions():
    leave = LeaveRecord("lv-1", "S1", at("13:30"), at("17:00"), LeaveKind.SICK)
    assert rules_of(full_day()[:2], leaves=[leave]) == []
    # Leave until 10:00: an arrival at 10:03 is on time for what is left of the session.
    morning = LeaveRecord("lv-2", "S1", at("09:00"), at("10:00"), LeaveKind.PERSONAL)
    late_day = replace(full_day(), "08:55", "10:03")
    assert rules_of(late_day, leaves=[morning]) == []
    assert rules_of(late_day) == ["absence"]  # 63 minutes late without the leave
    others = LeaveRecord("lv-3", "S2", at("09:00"), at("17:00"), LeaveKind.SICK)
    assert rules_of(full_day()[:2], leaves=[others]) == ["absence"]


def test_going_out_overdue():
    base = full_day()
    on_time = [*base, going_out("10:00", "10:30"), clock("10:40", Action.LEAVE_RETURN)]
    assert rules_of(on_time) == []  # 10 minutes over is tolerated
    overdue = [*base, going_out("10:00", "10:30"), clock("10:40:01", Action.LEAVE_RETURN)]
    found = findings(overdue)
    assert [f.rule for f in found] == ["outing_overdue"]
    assert set(found[0].evidence) == {overdue[-2].id, overdue[-1].id}
    # The kind's allowance caps a generous promise: outing allows 60 minutes.
    capped = [*base, going_out("10:00", "11:50"), clock("11:15", Action.LEAVE_RETURN)]
    assert rules_of(capped) == ["outing_overdue"]
    official = [
        *base,
        going_out("10:00", "11:50", LeaveKind.OFFICIAL),
        clock("11:55", Action.LEAVE_RETURN),
    ]
    assert rules_of(official) == []


def test_going_out_not_back_by_the_sessions_end():
    base = full_day()
    late_out = [*base, going_out("16:30", "16:55")]
    late_out = [e for e in late_out if e.ts != at("17:02")]
    # Not back: the outing rule judges it, not also a missing clock-out.
    assert rules_of(late_out) == ["outing_overdue"]
    back_after_end = [*base[:3], going_out("16:40", "16:55"), clock("17:03", Action.CLOCK_OUT)]
    assert rules_of(back_after_end) == ["outing_overdue"]


def test_away_from_post_needs_30_idle_minutes_while_clocked_in():
    base = full_day()
    assert rules_of([*base, activity("10:00", 29.9, idle_min=29.9)]) == []
    found = findings([*base, activity("10:00", 30, idle_min=30)])
    assert [f.rule for f in found] == ["away_from_post"]
    # Two idle samples a few seconds apart make one stretch.
    split = [activity("10:00", 15, idle_min=15), activity("10:15:30", 15, idle_min=15)]
    assert rules_of([*base, *split]) == ["away_from_post"]
    # Idle while gone out (registered) or after clocking out is not away from post.
    out = [*base, going_out("10:00", "10:50"), clock("10:50", Action.LEAVE_RETURN)]
    assert rules_of([*out, activity("10:00", 45, idle_min=45)]) == []
    assert rules_of([*base, activity("12:05", 60, idle_min=60)]) == []
    # Only the idle tail of a sample counts.
    assert rules_of([*base, activity("10:00", 40, idle_min=20)]) == []


def test_activity_without_staff_is_attributed_by_workstation():
    unassigned = activity("10:00", 40, idle_min=40, device="ws-9")
    assert rules_of([*full_day(), unassigned]) == []
    # A staff id claimed from a workstation nobody is mapped to counts for no one (issue
    # 13: the payload is the device's claim); from S1's own workstation it counts for S1.
    named = activity("10:00", 40, idle_min=40, device="ws-9", staff="S1")
    assert rules_of([*full_day(), named]) == []
    own = activity("10:00", 40, idle_min=40, device="ws-1", staff="S1")
    assert rules_of([*full_day(), own]) == ["away_from_post"]


def test_nonwork_use_per_session_and_per_day():
    base = full_day()
    assert rules_of([*base, activity("10:00", 4.9, app="steam", category="other")]) == []
    game = activity("10:00", 5, app="Steam.exe", category="other")
    assert rules_of([*base, game]) == ["nonwork_session"]
    # The agent's own category counts when no central pattern matches.
    assert rules_of([*base, activity("10:00", 6, app="x", category="video")]) == ["nonwork_session"]
    # Outside sessions it does not count.
    assert rules_of([*base, activity("12:10", 30, app="steam")]) == []
    day = [activity("10:00", 30, app="taobao"), activity("14:00", 30, app="wechat")]
    found = findings([*base, *day])
    assert [f.rule for f in found] == ["nonwork_day"]
    assert set(found[0].evidence) == {e.id for e in day}


def test_spoof_and_proxy_alerts_are_serious_and_others_are_not():
    events = [
        *full_day(),
        alert("09:30", AlertKind.PROXY_PUNCH),
        alert("09:40", AlertKind.SPOOF_SUSPECTED),
        alert("09:50", AlertKind.CAMERA_FAULT),
    ]
    assert rules_of(events) == ["spoof", "spoof"]


def test_make_up_working_day_and_holiday():
    saturday, national_day = date(2026, 9, 26), DAY
    pol = policy(
        calendar={"workdays": [saturday.isoformat()], "holidays": [national_day.isoformat()]}
    )
    assert rules_of([], pol=pol) == []  # a holiday on a Tuesday: nobody is absent
    assert rules_of([], day=date(2026, 9, 27), pol=pol) == []  # an ordinary Sunday
    assert rules_of([], day=saturday, pol=pol) == ["absence", "absence"]
    assert rules_of(full_day(day=saturday), day=saturday, pol=pol) == []


def test_seasonal_schedule():
    pol = policy(
        schedules=[
            {
                "from": "01-01",
                "sessions": [
                    {"start": "09:00", "end": "12:00"},
                    {"start": "13:30", "end": "17:00"},
                ],
            },
            {
                "from": "10-01",
                "sessions": [
                    {"start": "09:00", "end": "12:00"},
                    {"start": "13:30", "end": "17:00"},
                ],
            },
            {
                "from": "06-01",
                "sessions": [
                    {"start": "08:30", "end": "12:00"},
                    {"start": "14:30", "end": "17:30"},
                ],
            },
        ]
    )
    summer = date(2026, 7, 1)
    day = [
        clock("08:40", day=summer),
        clock("12:00", Action.CLOCK_OUT, day=summer),
        clock("14:25", day=summer),
        clock("17:10", Action.CLOCK_OUT, day=summer),
    ]
    assert rules_of(day, day=summer, pol=pol) == ["early_departure", "late"]
    assert rules_of(full_day(), pol=pol) == []  # November: the winter schedule again


def month_events(lates: int, extra=()):
    """A November where S1 is late on the first `lates` working days."""
    days = [date(2026, 11, d) for d in range(2, 31) if date(2026, 11, d).isoweekday() < 6]
    events = []
    for n, day in enumerate(days):
        arrival = "09:20" if n < lates else "08:50"
        events += [
            clock(arrival, day=day),
            clock("12:01", Action.CLOCK_OUT, day=day),
            clock("13:20", day=day),
            clock("17:01", Action.CLOCK_OUT, day=day),
        ]
    return [*events, *extra]


def month(events, actions=(), pol=POLICY, staff="S1"):
    directory = directory_of(pol)
    person = group_by_person(events, directory).get(staff)
    return evaluate_person_month(pol, directory, staff, "2026-11", person, actions)


def test_minor_violations_are_numbered_then_escalate_and_veto():
    records = month(month_events(5))
    assert [(r.correction_no, r.severity, r.escalated, r.veto) for r in records] == [
        (1, "minor", False, False),
        (2, "minor", False, False),
        (3, "minor", False, False),
        (4, "serious", True, True),
        (5, "serious", True, True),
    ]
    assert [r.day.day for r in records] == [2, 3, 4, 5, 6]  # numbered in time order
    assert all(r.deduction == 1 for r in records)


def test_escalated_deduction_and_allowance_are_configurable():
    pol = policy(corrections={"allowance": 1, "escalated_deduction": 10})
    records = month(month_events(2), pol=pol)
    assert [(r.correction_no, r.deduction, r.veto) for r in records] == [
        (1, 1, False),
        (2, 10, True),
    ]


def test_void_removes_a_violation_from_numbering_and_correct_keeps_it():
    records = month(month_events(4))
    first, second = records[0].violation_id, records[1].violation_id
    actions = [
        ManagerAction("a1", at("18:00"), "boss", "void", first, "bus strike"),
        ManagerAction("a2", at("18:01"), "boss", "correct", second, "notice given"),
    ]
    after = month(month_events(4), actions)
    assert after[0].status == "voided" and after[0].deduction == 0 and after[0].veto is False
    assert "bus strike" in after[0].detail
    assert [(r.correction_no, r.status, r.veto) for r in after[1:]] == [
        (1, "corrected", False),
        (2, "open", False),
        (3, "open", False),
    ]
    # A later correction cannot un-void.
    again = [*actions, ManagerAction("a3", at("18:02"), "boss", "correct", first, "x")]
    assert month(month_events(4), again)[0].status == "voided"


def test_violation_ids_are_stable_when_late_events_change_the_outcome():
    events = month_events(1)
    late = month(events)[0]
    # A forgotten earlier clock-in arrives from an offline device: no longer late.
    fixed = month([*events, clock("08:59", day=late.day)])
    assert late.violation_id not in {r.violation_id for r in fixed}
    assert month(events)[0].violation_id == late.violation_id


def test_arrival_order_and_duplicates_do_not_matter():
    events = month_events(
        5,
        extra=[
            activity("10:00", 40, idle_min=40, day=date(2026, 11, 10)),
            alert("11:00", AlertKind.PROXY_PUNCH),
        ],
    )
    expected = evaluate_month(POLICY, directory_of(POLICY), "2026-11", events)
    shuffled = events + events[:20]
    random.Random(7).shuffle(shuffled)
    assert evaluate_month(POLICY, directory_of(POLICY), "2026-11", shuffled) == expected
    assert any(r.rule == "spoof" for r in expected)


def test_unknown_staff_and_non_person_events_are_ignored():
    stranger = clock("09:30", staff="S999")
    status = station_status("09:00", "online")
    grouped = group_by_person([stranger, status], directory_of(POLICY))
    assert list(grouped) == ["S999"] and not grouped["S999"].activity
    assert evaluate_day(POLICY, directory_of(POLICY), "S999", DAY, grouped["S999"]) == []
    assert "S999" not in {
        r.staff_id for r in evaluate_month(POLICY, directory_of(POLICY), "2026-11", [stranger])
    }


def test_weekend_without_punches_is_quiet_and_day_boundaries_are_local():
    saturday = DAY + timedelta(days=4)
    assert rules_of([], day=saturday) == []
    # 00:30 local on the 24th is the 23rd in UTC: it still belongs to the 24th.
    assert at("00:30").astimezone(TZ).date() == DAY


def test_an_official_outing_across_lunch_is_neither_early_nor_absent():
    day = [
        clock("08:55"),
        going_out("11:00", "15:00", LeaveKind.OFFICIAL),
        clock("14:50", Action.LEAVE_RETURN),
        clock("17:02", Action.CLOCK_OUT),
    ]
    assert rules_of(day) == []
    # Back at 15:30 against a promised 15:00: overdue, and only that.
    late_back = [*day[:2], clock("15:30", Action.LEAVE_RETURN), day[3]]
    assert rules_of(late_back) == ["outing_overdue"]


minute_of_day = st.integers(min_value=7 * 60, max_value=19 * 60)


def random_event(kind: str, minute: int, extra: int):
    hms = f"{minute // 60:02d}:{minute % 60:02d}"
    if kind == "activity":
        return activity(
            hms, 1 + extra % 50, idle_min=extra % 3 * 10, app=["office", "steam"][extra % 2]
        )
    if kind == Action.LEAVE_OUT:
        back = min(minute + 10 + extra % 90, 23 * 60)
        return going_out(hms, f"{back // 60:02d}:{back % 60:02d}")
    return clock(hms, Action(kind))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([*Action, "activity"]), minute_of_day, st.integers(0, 1000)),
        max_size=14,
    ),
    st.randoms(use_true_random=False),
)
def test_any_day_gives_the_same_violations_in_any_order_with_redeliveries(spec, rnd):
    events = [random_event(kind, minute, extra) for kind, minute, extra in spec]
    expected = month([*events, *full_day(day=date(2026, 11, 3))])
    shuffled = events + events[: len(events) // 2]
    rnd.shuffle(shuffled)
    assert month([*shuffled, *full_day(day=date(2026, 11, 3))]) == expected
