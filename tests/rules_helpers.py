"""Building blocks for rules tests: a small hall policy and events at local times."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from mqtt import schema
from mqtt.schema import Action, LeaveKind, Method
from rules.directory import Directory, DirectorySource
from rules.policy import Policy

SITE = "hall-01"
TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 24)  # a Tuesday


def policy(**overrides) -> Policy:
    data = {
        "sites": {SITE: {"timezone": "Asia/Shanghai"}},
        "windows": [
            {"id": "w1", "site": SITE, "staff": ["S1", "S2"], "workstations": {"ws-1": "S1"}},
            {"id": "w2", "site": SITE, "staff": ["S3"]},
        ],
    }
    return Policy.model_validate(data | overrides)


def at(hms: str, day: date = DAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hms), TZ)


def clock(
    hms: str, action: Action = Action.CLOCK_IN, staff: str = "S1", day: date = DAY, **fields
) -> schema.Punch:
    return schema.new_event(
        schema.Punch,
        SITE,
        "st-01",
        at(hms, day),
        seq=1,
        staff_id=staff,
        action=action,
        method=Method.FACE,
        score=0.8,
        **fields,
    )


def going_out(
    hms: str, expected: str, kind: LeaveKind = LeaveKind.OUTING, staff: str = "S1", day: date = DAY
) -> schema.Punch:
    leave = schema.Leave(kind=kind, reason="bank", expected_return=at(expected, day))
    return clock(hms, Action.LEAVE_OUT, staff, day, leave=leave)


def activity(
    start: str,
    minutes: float,
    *,
    app: str = "office",
    category: str = "work",
    idle_min: float = 0,
    device: str = "ws-1",
    staff: str | None = None,
    day: date = DAY,
) -> schema.Activity:
    begin = at(start, day)
    return schema.new_event(
        schema.Activity,
        SITE,
        device,
        begin + timedelta(minutes=minutes),
        seq=1,
        user="u1",
        start=begin,
        duration_s=minutes * 60,
        app=app,
        category=category,
        idle_s=idle_min * 60,
        staff_id=staff,
    )


def alert(hms: str, kind: schema.AlertKind, staff: str | None = "S1") -> schema.Alert:
    return schema.new_event(
        schema.Alert,
        SITE,
        "st-01",
        at(hms),
        seq=1,
        kind=kind,
        severity=schema.Severity.SERIOUS,
        message="two faces",
        staff_id=staff,
    )


def station_status(hms: str, state: Literal["online", "offline"]) -> schema.Status:
    """The station st-01 going online or offline at a local time."""
    return schema.new_event(
        schema.Status, SITE, "st-01", at(hms), seq=1, state=state, role="station"
    )


def full_day(staff: str = "S1", day: date = DAY) -> list[schema.Punch]:
    """A blameless day: in before each session, out after it."""
    return [
        clock("08:55", Action.CLOCK_IN, staff, day),
        clock("12:01", Action.CLOCK_OUT, staff, day),
        clock("13:25", Action.CLOCK_IN, staff, day),
        clock("17:02", Action.CLOCK_OUT, staff, day),
    ]


HALL_POLICY = policy()


def directory_of(pol: Policy = HALL_POLICY) -> Directory:
    """The directory a policy's [[windows]] seed: who works where in these tests."""
    return Directory.from_policy(pol)


def source_of(pol: Policy = HALL_POLICY) -> DirectorySource:
    """A directory source for long-lived components, always giving the policy's seed."""
    snapshot = directory_of(pol)
    return lambda: snapshot


def findings(events, *, leaves=(), now=None, day=DAY, staff="S1", pol=HALL_POLICY):
    """What the engine finds on one person-day."""
    from rules.engine import PersonEvents, evaluate_day, group_by_person

    directory = directory_of(pol)
    person = group_by_person(events, directory).get(staff)
    return evaluate_day(pol, directory, staff, day, person or PersonEvents(), leaves, now)


def rules_of(events, **kwargs) -> list[str]:
    return sorted(f.rule for f in findings(events, **kwargs))


def replace(day_events, old_time: str, new_time: str):
    return [clock(new_time, e.action) if e.ts == at(old_time) else e for e in day_events]
