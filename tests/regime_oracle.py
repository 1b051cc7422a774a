"""A deliberately simple evaluator of the core regime, written from docs/rules.md alone.

It shares nothing with `rules/engine.py` but the payload types, the policy's values and the
directory's records (who is posted where, when): it
reads the rules as numbered in the document (rules 1-17, 21, 23-25, 27) and applies them
one person-month at a time with plain loops, so that the differential test
(tests/test_rules_differential.py) can hold the engine to the document. Workstation
activity (rules 18-20) and clock doubts (rule 22) are left to the engine's own tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from mqtt import schema
from mqtt.schema import Action
from rules.directory import Directory
from rules.policy import Policy

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Verdict:
    """One violation as the document describes it."""

    day: date
    rule: str
    at: datetime
    evidence: frozenset[str]
    what: tuple  # which violation this is on its day (a session, a going-out, an incident)
    severity: str = ""
    deduction: float = 0.0
    number: int | None = None
    escalated: bool = False
    veto: bool = False


def days_of(month: str) -> list[date]:
    year, mon = (int(part) for part in month.split("-"))
    day, days = date(year, mon, 1), []
    while day.month == mon:
        days.append(day)
        day += timedelta(days=1)
    return days


def window_on(directory: Directory, staff: str, day: date):
    """The window the person is posted to on `day`, while employed (None: not judged)."""
    for member in directory.staff:
        if member.staff_id != staff:
            continue
        if member.start_date is not None and day < member.start_date:
            return None
        if member.end_date is not None and day > member.end_date:
            return None
        for posting in member.postings:
            if posting.first_day is not None and day < posting.first_day:
                continue
            if posting.last_day is not None and day > posting.last_day:
                continue
            return next(w for w in directory.windows if w.id == posting.window)
    return None


def is_judged(directory: Directory, staff: str, day: date, live_from: date | None) -> bool:
    """Rules 1-3."""
    if live_from is not None and day < live_from:
        return False
    return window_on(directory, staff, day) is not None


def judge_month(
    policy: Policy,
    directory: Directory,
    staff: str,
    month: str,
    events: list[schema.Event],
    leaves: list[tuple[datetime, datetime]],
    live_from: date | None,
    now: datetime | None,
    announced: dict[tuple, int] | None = None,
) -> list[Verdict]:
    """Every violation of `staff` in `month`, numbered (rules 23-25)."""
    unique = {e.id: e for e in events}  # a redelivered event counts once
    found: list[Verdict] = []
    for day in days_of(month):
        if not is_judged(directory, staff, day, live_from):
            continue
        zone = policy.zone(window_on(directory, staff, day).site)
        midnight = datetime.combine(day, datetime.min.time(), zone)
        tomorrow = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        mine = [e for e in unique.values() if getattr(e, "staff_id", None) == staff]
        punches = sorted(
            (e for e in mine if isinstance(e, schema.Punch) and midnight <= e.ts < tomorrow),
            key=lambda p: (p.ts, p.id),
        )
        alerts = sorted(
            (e for e in mine if isinstance(e, schema.Alert) and midnight <= e.ts < tomorrow),
            key=lambda a: (a.ts, a.id),
        )
        found += judge_day(policy, day, zone, punches, leaves, now, tomorrow)
        found += judge_alerts(policy, day, alerts)
    return number(policy, found, announced or {})


def judge_day(policy, day, zone, punches, leaves, now, tomorrow) -> list[Verdict]:
    g = policy.grace
    sessions = []
    if policy.calendar.is_workday(day):
        key = day.strftime("%m-%d")
        schedules = sorted(policy.schedules, key=lambda s: s.from_)
        chosen = schedules[-1]
        for schedule in schedules:
            if schedule.from_ <= key:
                chosen = schedule
        sessions = [
            (datetime.combine(day, s.start, zone), datetime.combine(day, s.end, zone))
            for s in chosen.sessions
        ]
    if not sessions:
        return []

    def settled(moment: datetime) -> bool:
        return now is None or moment + timedelta(minutes=g.settle_min) <= now

    # Rule 4: the boundaries between sessions are the middles of the breaks.
    edges = [
        sessions[i][1] + (sessions[i + 1][0] - sessions[i][1]) / 2 for i in range(len(sessions) - 1)
    ]

    def session_number(moment: datetime) -> int:
        n = 0
        for edge in edges:
            if moment >= edge:
                n += 1
        return n

    # Rules 12-13: each going-out, its allowed return and its return.
    outings = []
    for i, p in enumerate(punches):
        if p.action == Action.LEAVE_OUT:
            allowance = timedelta(minutes=policy.outing.allowed_min.get(p.leave.kind, 0))
            allowed = min(p.leave.expected_return, p.ts + allowance)
            back = None
            for q in punches[i + 1 :]:
                if q.ts > p.ts:
                    back = q
                    break
            outings.append({"out": p, "allowed": allowed, "back": back, "replaced": False})

    def gone_until(o) -> datetime:
        return o["back"].ts if o["back"] is not None else tomorrow

    out: list[Verdict] = []
    for n, (start, end) in enumerate(sessions):
        # Rule 11: leave moves the due start and end, or takes the whole session.
        due_start, due_end = start, end
        for lv_start, lv_end in sorted(leaves):
            if lv_start <= due_start < lv_end:
                due_start = lv_end
            if lv_start < due_end <= lv_end:
                due_end = lv_start
        if due_start >= due_end:
            continue
        mine = [p for p in punches if session_number(p.ts) == n]
        over_start = [o for o in outings if o["out"].ts <= due_start < gone_until(o)]
        over_end = [o for o in outings if o["out"].ts < due_end <= gone_until(o)]
        # Rule 5: out and back.
        backs, outs_back = set(), set()
        for a, b in pairwise(mine):
            if (
                a.action == Action.CLOCK_OUT
                and b.action == Action.CLOCK_IN
                and start <= a.ts
                and b.ts < end
            ):
                outs_back.add(a.id)
                backs.add(b.id)
        if over_start:
            o = over_start[0]
            # Rules 14-15.
            if o["allowed"] < due_end:
                due_back = max(due_start, o["allowed"])
                back = o["back"]
                if back is None or back.ts >= due_end:
                    if settled(end):
                        o["replaced"] = True
                        out.append(
                            Verdict(day, "absence", due_back, frozenset([o["out"].id]), (n,))
                        )
                elif back.ts - due_back > g.absent_late_min * MINUTE:
                    o["replaced"] = True
                    ids = frozenset([o["out"].id, back.id])
                    out.append(Verdict(day, "absence", due_back, ids, (n,)))
        elif not mine:
            # Rule 7.
            if not over_end and settled(end):
                out.append(Verdict(day, "absence", due_start, frozenset(), (n,)))
            continue
        else:
            # Rules 6 and 8.
            arrivals = [p for p in mine if p.action == Action.CLOCK_IN and p.id not in backs]
            if not arrivals:
                if settled(end):
                    out.append(
                        Verdict(
                            day, "missing_punch", mine[0].ts, frozenset([mine[0].id]), (n, "in")
                        )
                    )
            else:
                first = arrivals[0]
                late = first.ts - due_start
                if late > g.absent_late_min * MINUTE:
                    out.append(Verdict(day, "absence", first.ts, frozenset([first.id]), (n,)))
                elif late > g.late_min * MINUTE:
                    out.append(Verdict(day, "late", first.ts, frozenset([first.id]), (n,)))
        # Rules 9 and 16.
        if mine and not over_end and settled(end):
            departures = [p for p in mine if p.action == Action.CLOCK_OUT and p.id not in outs_back]
            if not departures:
                ids = frozenset([mine[-1].id])
                out.append(Verdict(day, "missing_punch", end, ids, (n, "out")))
            elif due_end - departures[-1].ts > g.early_min * MINUTE:
                last = departures[-1]
                out.append(Verdict(day, "early_departure", last.ts, frozenset([last.id]), (n,)))
    # Rule 17.
    for o in outings:
        if o["replaced"]:
            continue
        start, end = sessions[session_number(o["out"].ts)]
        allowed = o["allowed"]
        cutoff = allowed + g.outing_overdue_min * MINUTE
        inside = allowed <= end
        if inside and end < cutoff:
            cutoff = end
        back, what = o["back"], ("out", o["out"].id)
        if back is not None and back.ts > cutoff:
            ids = frozenset([o["out"].id, back.id])
            out.append(Verdict(day, "outing_overdue", cutoff, ids, what))
        elif back is None and inside and settled(cutoff):
            out.append(Verdict(day, "outing_overdue", cutoff, frozenset([o["out"].id]), what))
    return out


def judge_alerts(policy: Policy, day: date, alerts: list[schema.Alert]) -> list[Verdict]:
    """Rule 21."""
    open_incidents: dict[tuple[str, str], list[schema.Alert]] = {}
    incidents: list[list[schema.Alert]] = []
    for a in alerts:
        if a.kind not in (schema.AlertKind.SPOOF_SUSPECTED, schema.AlertKind.PROXY_PUNCH):
            continue
        key = (a.kind, a.device)
        current = open_incidents.get(key)
        if current and a.ts - current[0].ts <= policy.grace.incident_min * MINUTE:
            current.append(a)
        else:
            open_incidents[key] = [a]
            incidents.append(open_incidents[key])
    return [
        Verdict(day, "spoof", i[0].ts, frozenset(a.id for a in i), ("alert", i[0].id))
        for i in incidents
    ]


def number(policy: Policy, found: list[Verdict], announced: dict[tuple, int]) -> list[Verdict]:
    """Rules 23-25 (no voids here): numbers kept once given, the next ones in time order;
    escalation counts the standing minor violations up to each number."""
    numbers = dict(announced)
    following = max(numbers.values(), default=0) + 1
    result = []
    ordered = sorted(found, key=lambda v: (v.at, v.rule))
    for v in ordered:
        key = (v.day, v.rule, v.what)
        if policy.catalogue[v.rule].severity == "minor" and key not in numbers:
            numbers[key] = following
            following += 1
    standing = sorted(
        numbers[(v.day, v.rule, v.what)]
        for v in ordered
        if policy.catalogue[v.rule].severity == "minor"
    )
    for v in ordered:
        penalty = policy.catalogue[v.rule]
        severity, deduction, no, escalated = penalty.severity, penalty.deduction, None, False
        if severity == "minor":
            no = numbers[(v.day, v.rule, v.what)]
            if len([n for n in standing if n <= no]) > policy.corrections.allowance:
                severity, escalated = "serious", True
                if policy.corrections.escalated_deduction is not None:
                    deduction = policy.corrections.escalated_deduction
        veto = severity == "serious" and policy.veto.person
        result.append(
            Verdict(
                v.day, v.rule, v.at, v.evidence, v.what, severity, deduction, no, escalated, veto
            )
        )
    return result


def score(verdicts: list[Verdict]) -> tuple[float, bool]:
    """Rule 27 for one person: 100 minus the deductions (not below 0), and the veto."""
    return max(0.0, 100.0 - sum(v.deduction for v in verdicts)), any(v.veto for v in verdicts)
