"""A hall's first month, replayed with `hallwatch rules replay --now ...`, against the sheet
a hall manager computes by hand.

November 2026, hall-01, two windows. The site has no go-live date in its policy: it goes
live with its first punch, Wednesday the 11th (a heartbeat and some computer use on the
10th do not count). S3 starts on the 16th, S4 leaves after the 20th. A photo is held up to
the camera for S2 for four seconds. S1 clocks out and back in within a session, takes two
days of sick leave entered by dates, and some of S1's and S4's events arrive late, after
violations were announced: the numbers announced stay.

The manager's sheet (working days judged: 11th-13th, 16th-20th, 23rd-27th, 30th):

    staff  days  violations                                     score  veto  rating
    S1     14    late 11-12 (#1), early 11-27 (#2),            96     no    excellent
                 non-work 11-26 (#3, arrived last)
    S2     14    spoof 11-18 (one incident, five alerts)        90     yes   fail
    S3     11    missing clock-out 11-19 (#1)                   99     no    excellent
    S4      8    (late 11-13 announced as #1, withdrawn when    100    no    excellent
                 the earlier clock-in arrived)
    w1     (96*14 + 90*14) / 28 = 93.00, vetoed by S2                   fail
    w2     (99*11 + 100*8) / 19 = 99.42                                 excellent
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from click.testing import CliRunner

from hallwatch.cli import main
from mqtt import schema
from mqtt.ids import new_event_id
from mqtt.schema import Action, AlertKind
from rules.directory import Directory
from rules.manager_actions import LeaveRecord, ManagerAction, leave_kind, leave_span
from rules.policy import load_policy
from rules.scoring import load_sheet
from rules.store import SqliteStore
from tests.rules_helpers import SITE, TZ, activity, clock

POLICY = f"""
[sites.{SITE}]
timezone = "Asia/Shanghai"

[[windows]]
id = "w1"
site = "{SITE}"
staff = ["S1", "S2"]
workstations = {{ ws-1 = "S1" }}

[[windows]]
id = "w2"
site = "{SITE}"
staff = ["S3", "S4"]
employment = {{ S3 = {{ first_day = 2026-11-16 }}, S4 = {{ last_day = 2026-11-20 }} }}
"""
MONTH = "2026-11"


def nov(day: int) -> date:
    return date(2026, 11, day)


def workdays(first: int, last: int) -> list[date]:
    return [nov(d) for d in range(first, last + 1) if nov(d).isoweekday() < 6]


def blameless(staff: str, day: date, skip: tuple[str, ...] = ()) -> list[schema.Punch]:
    times = [("08:55", Action.CLOCK_IN), ("12:01", Action.CLOCK_OUT)]
    times += [("13:25", Action.CLOCK_IN), ("17:02", Action.CLOCK_OUT)]
    return [clock(hms, action, staff, day) for hms, action in times if hms not in skip]


def photo_held_up(staff: str, day: date) -> list[schema.Alert]:
    start = datetime.combine(day, time(10), TZ)
    return [
        schema.Alert(
            id=new_event_id(),
            seq=n + 1,
            site=SITE,
            device="st-01",
            ts=start + timedelta(seconds=n),
            kind=AlertKind.SPOOF_SUSPECTED,
            severity=schema.Severity.SERIOUS,
            message=f"liveness check failed for a face matching {staff}",
            staff_id=staff,
        )
        for n in range(5)
    ]


def the_month() -> tuple[list[schema.Event], list[schema.Event]]:
    """(what arrives by Friday the 27th's evening, what arrives after it)."""
    first: list[schema.Event] = []
    later: list[schema.Event] = []
    # Installed on the 10th: a heartbeat and a game on S1's workstation, no punch yet.
    first.append(schema.status_for(SITE, "st-01", "station", "online", at(10, "16:00")))
    first.append(activity("15:00", 40, app="steam", day=nov(10)))
    for day in workdays(11, 27):
        for staff in ("S1", "S2"):
            if staff == "S1" and day in (nov(24), nov(25)):
                continue  # on sick leave, entered by dates
            if staff == "S1" and day == nov(12):
                first += [clock("09:20", staff="S1", day=day), *blameless("S1", day, ("08:55",))]
            elif staff == "S1" and day == nov(17):
                first += blameless("S1", day)
                first += [clock("15:48", Action.CLOCK_OUT, day=day), clock("15:52", day=day)]
            elif staff == "S1" and day == nov(27):
                first += blameless("S1", day, ("17:02",))
                first.append(clock("16:30", Action.CLOCK_OUT, day=day))  # left early
            else:
                first += blameless(staff, day)
        if day >= nov(16):
            first += blameless("S3", day, ("17:02",) if day == nov(19) else ())
        if day <= nov(20):
            if day == nov(13):
                first += [clock("09:40", staff="S4", day=day), *blameless("S4", day, ("08:55",))]
                later.append(clock("08:58", staff="S4", day=day))  # its station was offline
            else:
                first += blameless("S4", day)
    first += photo_held_up("S2", nov(18))
    later.append(activity("10:00", 6, app="steam", day=nov(26)))  # the agent was offline
    later += [p for staff in ("S1", "S2", "S3") for p in blameless(staff, nov(30))]
    return first, later


def at(day: int, hms: str) -> datetime:
    return datetime.combine(nov(day), time.fromisoformat(hms), TZ)


def write(path, events) -> None:
    path.write_bytes(b"".join(schema.encode(e) + b"\n" for e in events))


def replay(tmp_path, part: str, events, db, now: str) -> dict:
    write(tmp_path / f"{part}.jsonl", events)
    result = CliRunner().invoke(
        main,
        [
            "rules",
            "replay",
            "--events",
            str(tmp_path / f"{part}.jsonl"),
            "--policy",
            str(tmp_path / "policy.toml"),
            "--db",
            str(db),
            "--now",
            now,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def enter_sick_leave(db, policy) -> None:
    """The manager enters S1's leave by dates: the 24th to the 25th, both whole days."""
    start, end = leave_span("2026-11-24", "2026-11-25", policy.zone(SITE))
    record = LeaveRecord("lv-s1-sick", "S1", start, end, leave_kind("sick"), "flu")
    store = SqliteStore(db)
    store.add_action(
        ManagerAction(
            new_event_id(),
            at(24, "08:30"),
            "manager li",
            "leave_add",
            record.leave_id,
            "flu",
            record,
        )
    )
    store.close()


def sheet(db, policy):
    store = SqliteStore(db)
    try:
        people, windows = load_sheet(store, policy, Directory.from_policy(policy), MONTH)
        rows = store.violations(month=MONTH)
        numbers = {(v.staff_id, v.rule, v.day.day): v.correction_no for v in rows}
        return people, windows, numbers, store.first_punches()
    finally:
        store.close()


def test_a_first_month_replayed_gives_the_managers_sheet(tmp_path):
    (tmp_path / "policy.toml").write_text(POLICY)
    policy = load_policy(tmp_path / "policy.toml")
    db = tmp_path / "rules.db"
    enter_sick_leave(db, policy)
    first, later = the_month()

    replay(tmp_path, "first", first, db, "2026-11-27T18:00+08:00")
    _, _, announced, _ = sheet(db, policy)
    assert announced == {
        ("S1", "late", 12): 1,
        ("S1", "early_departure", 27): 2,
        ("S2", "spoof", 18): None,
        ("S3", "missing_punch", 19): 1,
        ("S4", "late", 13): 1,
    }

    summary = replay(tmp_path, "later", later, db, "2026-12-01T09:00+08:00")
    assert summary["stored"] == len(later)
    people, windows, numbers, first_punches = sheet(db, policy)
    assert first_punches == {SITE: at(11, "08:55")}  # live on the 11th, not on the 1st
    assert numbers == {
        ("S1", "late", 12): 1,
        ("S1", "early_departure", 27): 2,  # announced before the non-work use was known
        ("S1", "nonwork_session", 26): 3,
        ("S2", "spoof", 18): None,
        ("S3", "missing_punch", 19): 1,
    }
    by_staff = {p.staff_id: (p.rank, p.score, p.vetoed, p.rating) for p in people}
    assert by_staff == {
        "S4": (1, 100, False, "excellent"),
        "S3": (2, 99, False, "excellent"),
        "S1": (3, 96, False, "excellent"),
        "S2": (4, 90, True, "fail"),
    }
    by_window = {w.window: (w.rank, w.score, w.vetoed, w.rating) for w in windows}
    assert by_window == {"w2": (1, 99.42, False, "excellent"), "w1": (2, 93.0, True, "fail")}

    # The photo was one incident; before go-live nobody is judged, the inspection says so.
    env = {"HALLWATCH_RULES_DB": str(db), "HALLWATCH_POLICY": str(tmp_path / "policy.toml")}
    spoof = json.loads(
        CliRunner().invoke(main, ["violations", "--staff", "S2", "--json"], env=env).output
    )
    assert [(v["rule"], len(v["evidence"])) for v in spoof] == [("spoof", 5)]
    before = CliRunner().invoke(main, ["inspect", "--date", "2026-11-10", "--json"], env=env)
    report = json.loads(before.output)
    assert {line["status"] for w in report["windows"] for line in w["staff"]} == {"before go-live"}

    # Replayed in one go, the same events number in time order (no announcement to keep).
    again = tmp_path / "again.db"
    enter_sick_leave(again, policy)
    replay(tmp_path, "all", first + later, again, "2026-12-01T09:00+08:00")
    people_again, _, numbers_again, _ = sheet(again, policy)
    assert numbers_again[("S1", "nonwork_session", 26)] == 2
    assert numbers_again[("S1", "early_departure", 27)] == 3
    assert [(p.staff_id, p.score) for p in people_again] == [(p.staff_id, p.score) for p in people]
