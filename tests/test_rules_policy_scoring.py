"""The policy file (defaults and errors) and the monthly 100-point sheet."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, time

import pytest

from base.config import ConfigError
from rules.engine import ViolationRecord
from rules.policy import Policy, load_policy
from rules.scoring import score_month
from tests.rules_helpers import at, directory_of, policy


def test_defaults_mirror_the_brief():
    p = Policy()
    assert [(s.start, s.end) for s in p.sessions(date(2026, 11, 24))] == [
        (time(9), time(12)),
        (time(13, 30), time(17)),
    ]
    assert p.sessions(date(2026, 11, 28)) == []  # Saturday
    g = p.grace
    assert (g.late_min, g.early_min, g.absent_late_min, g.outing_overdue_min) == (5, 5, 60, 10)
    assert (g.away_idle_min, g.nonwork_session_min, g.nonwork_day_min) == (30, 5, 60)
    assert g.duty_absent_min == 15
    table = {rule: (pen.severity, pen.deduction) for rule, pen in p.catalogue.items()}
    assert table == {
        "late": ("minor", 1),
        "early_departure": ("minor", 1),
        "missing_punch": ("minor", 1),
        "absence": ("serious", 10),
        "outing_overdue": ("minor", 1),
        "away_from_post": ("minor", 2),
        "nonwork_session": ("minor", 2),
        "nonwork_day": ("serious", 5),
        "spoof": ("serious", 10),
        "observed_away": ("minor", 2),
        "dress": ("minor", 1),
        "eating_chatting": ("minor", 1),
        "phone_use": ("minor", 2),
        "attitude": ("minor", 2),
        "complaint_upheld": ("serious", 5),
        "window_untidy": ("minor", 1),
        "duty_absent": ("minor", 2),
    }
    assert {r for r, pen in p.catalogue.items() if pen.applies_to == "window"} == {"window_untidy"}
    assert p.corrections.allowance == 3
    assert [p.rating(s, False) for s in (100, 95, 94.9, 85, 70, 69.9)] == [
        "excellent",
        "excellent",
        "good",
        "good",
        "pass",
        "fail",
    ]
    assert p.rating(100, True) == "fail"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[default_site]\ntimezone = "Mars/Base"', "unknown time zone 'Mars/Base'"),
        ('[[schedules]]\nsessions = [{start="12:00", end="09:00"}]', "ends (09:00:00) before"),
        (
            '[[schedules]]\nsessions = [{start="09:00", end="12:00"}, {start="11:00", end="17:00"}]',
            "overlap",
        ),
        ("[grace]\nlate_mins = 5", "key 'grace.late_mins': unknown key"),
        ("[grace]\nlate_min = -1", "key 'grace.late_min'"),
        (
            '[[windows]]\nid = "w1"\nsite = "h"\nstaff = ["A"]\n[[windows]]\nid = "w2"\nsite = "h"\n'
            'staff = ["A"]',
            "staff A is in windows w1 and w2",
        ),
        (
            '[[windows]]\nid = "w1"\nsite = "h"\nstaff = ["A"]\nworkstations = {ws-1 = "B"}',
            "not in this window: ['B']",
        ),
        ('[[categories.rules]]\npattern = "(unclosed"\ncategory = "game"', "regular expression"),
        (
            "[calendar]\nholidays = [2026-10-01]\nworkdays = [2026-10-01]",
            "both holiday and make-up",
        ),
        ('[catalogue.late]\nseverity = "minor"\ndeduction = 1', "catalogue lacks rules"),
    ],
)
def test_bad_policies_are_refused_with_the_key_and_the_reason(tmp_path, toml, message):
    path = tmp_path / "policy.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_policy(tmp_path / "nope.toml")


_ids = itertools.count(1)


def violation(staff: str, deduction: float, severity="minor", veto=False, status="open"):
    return ViolationRecord(
        f"v-{next(_ids)}",
        staff,
        "hall-01",
        None,
        date(2026, 11, 2),
        at("09:10"),
        "late",
        severity,
        deduction,
        None,
        False,
        veto,
        (),
        status,
        "",
    )


def test_scores_floor_vetoes_ratings_and_ranking():
    pol = policy(
        windows=[
            {"id": "w1", "site": "hall-01", "staff": ["A", "B"]},
            {"id": "w2", "site": "hall-01", "staff": ["C", "D"]},
            {"id": "w3", "site": "hall-01", "staff": ["E"]},
        ]
    )
    rows = [
        violation("A", 3),
        violation("A", 2),
        violation("B", 1),
        violation("C", 60),
        violation("C", 60),  # floor at 0
        violation("D", 10, "serious", veto=True),
        replace(violation("E", 10, "serious", veto=True), status="voided"),
    ]
    people, windows = score_month(pol, directory_of(pol), rows)
    got = {p.staff_id: (p.rank, p.score, p.vetoed, p.rating) for p in people}
    assert got == {
        "E": (1, 100, False, "excellent"),  # the voided violation neither deducts nor vetoes
        "B": (2, 99, False, "excellent"),
        "A": (3, 95, False, "excellent"),
        "C": (4, 0, False, "fail"),
        "D": (5, 90, True, "fail"),  # vetoed ranks below everyone not vetoed
    }
    assert {w.window: (w.rank, w.score, w.vetoed, w.rating) for w in windows} == {
        "w3": (1, 100, False, "excellent"),
        "w1": (2, 97, False, "excellent"),
        "w2": (3, 45, True, "fail"),  # one member's veto fails the window (一票否决)
    }
    assert next(p for p in people if p.staff_id == "E").voided == 1


def test_ties_share_a_rank_and_the_window_veto_can_be_off():
    pol = policy(
        windows=[{"id": "w1", "site": "hall-01", "staff": ["A", "B", "C"]}],
        veto={"person": True, "window": False},
    )
    people, windows = score_month(
        pol, directory_of(pol), [violation("C", 1), violation("B", 5, "serious", veto=True)]
    )
    assert [(p.staff_id, p.rank) for p in people] == [("A", 1), ("C", 2), ("B", 3)]
    assert (windows[0].score, windows[0].vetoed, windows[0].rating) == (98, False, "excellent")
    tie, _ = score_month(pol, directory_of(pol), [])
    assert [p.rank for p in tie] == [1, 1, 1]


def test_the_documented_examples_load_and_show_the_defaults():
    from pathlib import Path

    from rules.service import load_config

    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    example = load_policy(examples / "policy.toml")
    defaults = Policy()
    for section in ("grace", "outing", "categories", "catalogue", "corrections", "veto", "bands"):
        assert getattr(example, section) == getattr(defaults, section), section
    assert example.calendar.is_workday(date(2026, 9, 27))  # a make-up Sunday
    assert not example.calendar.is_workday(date(2026, 10, 1))
    assert load_config(examples / "rules.toml").rules.group is None  # one instance: plain


def test_inspection_status_now_and_what_is_known_at_that_time():
    from mqtt import schema
    from mqtt.schema import Action, AlertKind
    from rules.inspection import inspect_day
    from rules.manager_actions import LeaveRecord
    from rules.store import DeviceSeen
    from tests.rules_helpers import DAY, activity, alert, clock, going_out, station_status

    pol = policy()
    events = [
        clock("08:55"),
        activity("09:30", 45, idle_min=45),  # S1 idle since 09:30
        clock("12:01", Action.CLOCK_OUT),  # after the inspection time: not known yet
        clock("08:50", staff="S2"),
        going_out("10:00", "10:30", staff="S2"),
        alert("09:40", AlertKind.UNKNOWN_FACE, staff=None),
    ]
    offline = station_status("07:00", "offline")
    leave = LeaveRecord("lv-1", "S3", at("08:00"), at("18:00"), schema.LeaveKind.SICK)
    seen = [DeviceSeen(offline, at("07:00"))]
    report = inspect_day(pol, directory_of(pol), DAY, None, events, [], seen, [leave], at("10:15"))
    lines = {line.staff_id: line for w in report.windows for line in w.staff}
    assert {s: line.status for s, line in lines.items()} == {
        "S1": "away",
        "S2": "out",
        "S3": "on leave",
    }
    assert [p.time for p in lines["S1"].punches] == ["08:55"]
    assert [(d.device, d.state) for d in report.offline] == [
        ("st-01", "offline"),
        ("ws-1", "never seen"),
    ]
    assert any("无法确定人员的告警“陌生人脸”" in i.text for i in report.open_items)
    late = inspect_day(pol, directory_of(pol), DAY, None, events, [], [], [], at("11:00"))
    assert {line.staff_id: line.status for w in late.windows for line in w.staff}["S3"] == "absent"


def test_a_device_fault_is_an_open_item_in_the_devices_own_words():
    from mqtt import schema
    from rules.inspection import inspect_day
    from tests.rules_helpers import DAY, alert

    fault = alert("09:40", schema.AlertKind.CLOCK_FAULT, staff=None)
    report = inspect_day(policy(), directory_of(), DAY, None, [fault], [], [], [], at("10:00"))
    assert [i.text for i in report.open_items] == [f"{fault.site}/st-01: 时钟故障: two faces"]
