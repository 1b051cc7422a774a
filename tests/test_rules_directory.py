"""The engine judges from the directory (issue 15): who works where, on which days, by name.

A person who moves windows on the 16th is judged at W01 for the 1st to the 15th and at W02
from the 16th; each window's score counts only their days there, their own month's score
counts all; a leaver is not judged after their end date; a replay with the same snapshot
gives the same; long-lived components ask their source for the directory each cycle; and
people read names beside ids.
"""

from __future__ import annotations

import random
from datetime import date

from mqtt import schema
from mqtt.client import topic_for
from mqtt.schema import Action, AlertKind
from rules import render
from rules.directory import Directory, Posting, ServiceWindow, StaffMember
from rules.engine import (
    Facts,
    PersonEvents,
    evaluate_month,
    evaluate_person_month,
    group_by_person,
    judged_workdays,
    month_days,
)
from rules.ingest import Ingest
from rules.inspection import inspect_day
from rules.publish import ResultPublisher
from rules.replay import replay, results_digest
from rules.scoring import load_sheet, score_month
from rules.store import SqliteStore
from tests.rules_helpers import SITE, at, clock, full_day, policy

MONTH = "2026-11"
MOVE = date(2026, 11, 16)  # a Monday
LEAVES = date(2026, 11, 20)
LATE_AT_W01, LATE_AT_W02 = date(2026, 11, 10), date(2026, 11, 17)
POLICY = policy(windows=[])  # the regime only: who works where is the directory's
WINDOWS = (
    ServiceWindow("W01", SITE, "综合受理窗口"),
    ServiceWindow("W02", SITE, "不动产登记窗口"),
)


def directory(*, moved: bool = True) -> Directory:
    """S1 张伟 at W01, moving to W02 on the 16th (unless not `moved`); S2 at W01 all month;
    S3 at W02 until leaving on the 20th."""
    s1 = (
        (Posting("W01", last_day=date(2026, 11, 15)), Posting("W02", first_day=MOVE))
        if moved
        else (Posting("W01"),)
    )
    return Directory(
        windows=WINDOWS,
        staff=(
            StaffMember("S1", "张伟", "Zhang Wei", postings=s1),
            StaffMember("S2", "李娜", postings=(Posting("W01"),)),
            StaffMember("S3", "王芳", end_date=LEAVES, postings=(Posting("W02"),)),
        ),
        sites=(SITE,),
    )


DIRECTORY = directory()


def workdays(first: int = 1, last: int = 30) -> list[date]:
    return [d for d in month_days(MONTH) if first <= d.day <= last and POLICY.sessions(d)]


def month_events() -> list[schema.Event]:
    """Blameless days for everyone but two lates of S1 (one at each window); nothing from
    S3 after leaving (they would be absent, were they judged)."""
    events: list[schema.Event] = []
    for day in workdays():
        for staff in ("S1", "S2") + (("S3",) if day <= LEAVES else ()):
            punches = full_day(staff, day)
            if staff == "S1" and day in (LATE_AT_W01, LATE_AT_W02):
                punches[0] = clock("09:20", Action.CLOCK_IN, staff, day)
            events += punches
    return events


EVENTS = month_events()


def test_each_day_is_judged_at_the_window_of_that_day():
    records = evaluate_month(POLICY, DIRECTORY, MONTH, EVENTS)
    lates = {(r.staff_id, r.day): r.window for r in records if r.rule == "late"}
    assert lates == {("S1", LATE_AT_W01): "W01", ("S1", LATE_AT_W02): "W02"}
    # The numbering is the person's, over the whole month: the second late is 2/3.
    assert [r.correction_no for r in records if r.staff_id == "S1"] == [1, 2]
    # Unmoved, the same late of the 17th is W01's.
    unmoved = evaluate_month(POLICY, directory(moved=False), MONTH, EVENTS)
    assert {r.window for r in unmoved if r.staff_id == "S1"} == {"W01"}


def test_a_leaver_is_not_judged_after_the_end_date():
    # No punches after the 20th: had S3 been judged, every later working day an absence.
    person = group_by_person(EVENTS, DIRECTORY).get("S3", PersonEvents())
    assert evaluate_person_month(POLICY, DIRECTORY, "S3", MONTH, person) == []
    days = judged_workdays(POLICY, DIRECTORY, "S3", MONTH, Facts())
    assert days == {"W02": len(workdays(last=LEAVES.day))}
    # Nobody posted that day is judged then: S1's days before the month's first posting
    # too (a directory where S1 starts at W02 on the 16th only).
    late_starter = Directory(
        WINDOWS, (StaffMember("S1", "张伟", postings=(Posting("W02", first_day=MOVE),)),)
    )
    assert judged_workdays(POLICY, late_starter, "S1", MONTH, Facts()) == {
        "W02": len(workdays(first=MOVE.day))
    }


def test_each_window_scores_only_its_days_and_the_person_all_of_theirs():
    records = evaluate_month(POLICY, DIRECTORY, MONTH, EVENTS)
    days = {s: judged_workdays(POLICY, DIRECTORY, s, MONTH, Facts()) for s in ("S1", "S2", "S3")}
    before, after = len(workdays(last=15)), len(workdays(first=16))
    assert days["S1"] == {"W01": before, "W02": after}
    people, windows = score_month(POLICY, DIRECTORY, records, days)
    person = {p.staff_id: p for p in people}
    assert person["S1"].score == 98  # both lates, one point each
    assert person["S1"].window == "W02"  # the last window of the month
    window = {w.window: w for w in windows}
    s3_days = len(workdays(last=LEAVES.day))
    # Each window: S1 counts one late there, by their days there.
    all_month = before + after
    assert window["W01"].score == round((99 * before + 100 * all_month) / (before + all_month), 2)
    assert window["W02"].score == round((99 * after + 100 * s3_days) / (after + s3_days), 2)
    assert (window["W01"].staff, window["W02"].staff) == (2, 2)


def test_a_veto_vetoes_the_window_where_it_happened():
    spoof = schema.new_event(
        schema.Alert,
        SITE,
        "st-01",
        at("10:00", LATE_AT_W01),
        seq=1,
        kind=AlertKind.SPOOF_SUSPECTED,
        severity=schema.Severity.SERIOUS,
        message="a photo held up",
        staff_id="S1",
    )
    records = evaluate_month(POLICY, DIRECTORY, MONTH, [*EVENTS, spoof])
    days = {s: judged_workdays(POLICY, DIRECTORY, s, MONTH, Facts()) for s in ("S1", "S2", "S3")}
    people, windows = score_month(POLICY, DIRECTORY, records, days)
    assert next(p for p in people if p.staff_id == "S1").vetoed
    vetoed = {w.window: w.vetoed_staff for w in windows if w.vetoed}
    assert vetoed == {"W01": ("S1",)}


def test_a_replay_with_the_same_snapshot_gives_the_same(store, tmp_path):
    lines = [schema.encode(e) for e in EVENTS]
    summary = replay(lines, POLICY, DIRECTORY, store)
    assert summary.months == {MONTH: len(evaluate_month(POLICY, DIRECTORY, MONTH, EVENTS))}
    stored = store.violations(month=MONTH)
    assert {(v.day, v.window) for v in stored if v.staff_id == "S1"} == {
        (LATE_AT_W01, "W01"),
        (LATE_AT_W02, "W02"),
    }
    people, windows = load_sheet(store, POLICY, DIRECTORY, MONTH)
    days = {s: judged_workdays(POLICY, DIRECTORY, s, MONTH, Facts()) for s in ("S1", "S2", "S3")}
    assert (people, windows) == score_month(POLICY, DIRECTORY, stored, days)
    # Another store, the lines in another order: the same results.
    random.Random(15).shuffle(lines)
    again = SqliteStore(tmp_path / "again.db", synchronous="OFF")
    assert replay(lines, POLICY, DIRECTORY, again).digest == summary.digest
    assert results_digest(again, [MONTH]) == results_digest(store, [MONTH])
    again.close()


def test_ingest_asks_its_source_for_the_directory_each_cycle(store):
    """A move a manager records in another process counts from the next recomputation."""
    current = [directory(moved=False)]
    ingest = Ingest(store, POLICY, lambda: current[0], now=lambda: at("18:00", date(2026, 12, 1)))
    for event in EVENTS:
        ingest.handle(topic_for(event), schema.encode(event))
    while ingest.drain(timeout_s=0):
        pass
    ingest.flush()
    assert {v.window for v in store.violations(staff="S1")} == {"W01"}
    current[0] = DIRECTORY
    ingest.dirty.add(("S1", MONTH))
    ingest.flush()
    assert {(v.day, v.window) for v in store.violations(staff="S1", month=MONTH)} == {
        (LATE_AT_W01, "W01"),
        (LATE_AT_W02, "W02"),
    }


def test_people_read_names_beside_ids_in_inspection_listings_and_the_sheet():
    records = evaluate_month(POLICY, DIRECTORY, MONTH, EVENTS)
    day_records = [r for r in records if r.day == LATE_AT_W02]
    now = at("10:00", LATE_AT_W02)
    events = [e for e in EVENTS if e.ts.date() == LATE_AT_W02]
    report = inspect_day(POLICY, DIRECTORY, LATE_AT_W02, None, events, day_records, [], [], now)
    shown = {w.window: [(line.staff_id, line.name) for line in w.staff] for w in report.windows}
    assert shown == {"W01": [("S2", "李娜")], "W02": [("S1", "张伟"), ("S3", "王芳")]}
    text = render.inspection_text(report)
    assert "窗口 不动产登记窗口 W02" in text and "张伟 S1" in text and "在岗" in text
    assert "Window 不动产登记窗口 W02" in render.inspection_text(report, "en")
    english = inspect_day(
        POLICY, DIRECTORY, LATE_AT_W02, None, events, day_records, [], [], now, language="en"
    )
    assert "Zhang Wei S1" in render.inspection_text(english)
    # The published summary names who needs attention, and where.
    sent: list[schema.Event] = []
    ResultPublisher(sent.append).inspections(report)
    [summary] = sent
    assert "张伟 S1 (不动产登记窗口 W02): 在岗, 迟到" in summary.summary
    assert summary.counts["late"] == 1  # the counts keep the codes, for machines
    # A violation listing and the monthly sheet (text, tables).
    line = render.named_violation_line(day_records[0], DIRECTORY, "zh")
    assert "张伟 S1" in line and "不动产登记窗口 W02" in line
    days = {s: judged_workdays(POLICY, DIRECTORY, s, MONTH, Facts()) for s in ("S1", "S2", "S3")}
    people, windows = score_month(POLICY, DIRECTORY, records, days)
    sheet = render.score_text(MONTH, people, windows, DIRECTORY, "zh")
    assert "张伟 S1" in sheet and "综合受理窗口 W01" in sheet and "姓名" in sheet
    [staff, window_table, violations] = render.score_tables(
        MONTH, people, windows, records, DIRECTORY, "en"
    )
    row = dict(zip(staff[1], next(r for r in staff[2] if r[2] == "S1"), strict=True))
    assert (row["name"], row["window_name"], row["window"]) == (
        "Zhang Wei",
        "不动产登记窗口",
        "W02",
    )
    assert window_table[1][:3] == ["rank", "window_name", "window"]
    assert {tuple(r[1:3]) for r in window_table[2]} == {(w.name, w.id) for w in WINDOWS}
    assert violations[1][:4] == ["violation_id", "name", "staff_id", "site"]
