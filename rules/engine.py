"""The violation regime as a pure function: events + policy + manager actions -> violations.

No I/O and no wall clock ("now" is an argument), and every ordering is explicit, so the same
inputs give the same violations whatever order the events arrived in. The unit of work is a
person-month: a late event changes one person-day, and the month's correction numbering
(1/3, 2/3, 3/3, then escalation) is redone for that person.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise

from mqtt import schema
from mqtt.schema import Action
from rules.attribution import SPOOF_ALERTS, refusal, workstation_staff
from rules.manager_actions import LeaveRecord, ManagerAction, effective_leave, violation_marks
from rules.policy import Policy
from rules.spans import Span, clip, longest_overlap, merge, total

PRESENT_AFTER = (Action.CLOCK_IN, Action.LEAVE_RETURN)
# Gaps up to this between idle samples still make one idle stretch (sampling jitter).
IDLE_JOIN = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Finding:
    """One breach of the regime on one person-day, before monthly numbering."""

    staff_id: str
    day: date
    rule: str
    slot: str  # what makes it unique within the day: a session, an outing, an alert
    at: datetime  # when it happened, for chronological numbering
    evidence: tuple[str, ...]
    detail: str

    @property
    def violation_id(self) -> str:
        key = f"{self.staff_id}|{self.day.isoformat()}|{self.rule}|{self.slot}"
        return "v-" + hashlib.sha1(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ViolationRecord:
    """A violation as managers see it: numbered, escalated or vetoing, with its status."""

    violation_id: str
    staff_id: str
    site: str
    window: str | None
    day: date
    at: datetime
    rule: str
    severity: str
    deduction: float
    correction_no: int | None
    escalated: bool
    veto: bool
    evidence: tuple[str, ...]
    status: str  # open | corrected | voided
    detail: str


@dataclass(slots=True)
class PersonEvents:
    """The events that concern one person, already attributed (activity via workstations)."""

    clocks: list[schema.Punch] = field(default_factory=list)
    activity: list[schema.Activity] = field(default_factory=list)
    alerts: list[schema.Alert] = field(default_factory=list)


def staff_of(event: schema.Event, policy: Policy) -> str | None:
    """Who an event concerns: activity, the staff member at that workstation (whatever the
    payload claims); anything else, its staff id (see rules/attribution.py)."""
    if isinstance(event, schema.Activity):
        return workstation_staff(event, policy)
    return getattr(event, "staff_id", None)


def event_time(event: schema.Event) -> datetime:
    """The moment an event is about (an activity interval's start, else its timestamp)."""
    return event.start if isinstance(event, schema.Activity) else event.ts


def group_by_person(events: Iterable[schema.Event], policy: Policy) -> dict[str, PersonEvents]:
    grouped: dict[str, PersonEvents] = defaultdict(PersonEvents)
    seen: set[str] = set()
    for event in events:
        staff = staff_of(event, policy)
        if staff is None or event.id in seen or refusal(event, policy):
            continue  # nobody's, a redelivery, or a claim its device may not make
        seen.add(event.id)
        if isinstance(event, schema.Punch):
            grouped[staff].clocks.append(event)
        elif isinstance(event, schema.Activity):
            grouped[staff].activity.append(event)
        elif isinstance(event, schema.Alert):
            grouped[staff].alerts.append(event)
    return grouped


def event_order(event: schema.Event) -> tuple[datetime, str]:
    return (event_time(event), event.id)


def _hm(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


class _Day:
    """The evaluation of one person-day; a class only to share its context between rules."""

    def __init__(
        self,
        policy: Policy,
        staff: str,
        site: str,
        day: date,
        events: PersonEvents,
        leaves: Sequence[LeaveRecord],
        now: datetime | None,
    ) -> None:
        self.policy, self.staff, self.day, self.now = policy, staff, day, now
        self.zone = policy.zone(site)
        self.grace = policy.grace
        self.sessions = policy.session_bounds(site, day)
        day_start = datetime.combine(day, datetime.min.time(), self.zone)
        self.day_span = (day_start, day_start + timedelta(days=1))
        in_day = self.day_span[0].__le__
        self.clocks = sorted(
            (c for c in events.clocks if in_day(c.ts) and c.ts < self.day_span[1]), key=event_order
        )
        self.activity = sorted(
            (a for a in events.activity if in_day(a.start) and a.start < self.day_span[1]),
            key=event_order,
        )
        self.alerts = sorted(
            (a for a in events.alerts if in_day(a.ts) and a.ts < self.day_span[1]), key=event_order
        )
        self.leaves = [lv for lv in leaves if lv.staff_id == staff]
        self.findings: list[Finding] = []

    def settled(self, moment: datetime) -> bool:
        """Whether every device has had time to deliver what happened before `moment`."""
        return self.now is None or moment + self.policy.settle() <= self.now

    def add(self, rule: str, slot: str, at: datetime, evidence: Iterable[str], detail: str) -> None:
        self.findings.append(Finding(self.staff, self.day, rule, slot, at, tuple(evidence), detail))

    def run(self) -> list[Finding]:
        if self.sessions:
            self.attendance()
            self.outings()
            self.computer_use()
        self.spoofs()
        return self.findings

    # -- sessions --------------------------------------------------------------------
    def segments(self) -> list[Span]:
        """Each session claims the punches nearer to it than to its neighbours."""
        bounds = [self.day_span[0]]
        for (_, end), (start, _) in pairwise(self.sessions):
            bounds.append(end + (start - end) / 2)
        bounds.append(self.day_span[1])
        return list(pairwise(bounds))

    def leave_adjusted(self, start: datetime, end: datetime) -> Span | None:
        """The part of a session not covered by approved leave (None if all of it is)."""
        for lv in self.leaves:
            if lv.start <= start and lv.end > start:
                start = max(start, lv.end)
            if lv.start < end and lv.end >= end:
                end = min(end, lv.start)
        return (start, end) if start < end else None

    def attendance(self) -> None:
        for index, ((start, end), (lo, hi)) in enumerate(
            zip(self.sessions, self.segments(), strict=True)
        ):
            due = self.leave_adjusted(start, end)
            if due is None:
                continue  # on leave for the whole session
            slot = f"s{index}"
            label = f"session {_hm(start, self.zone)}-{_hm(end, self.zone)}"
            punches = [c for c in self.clocks if lo <= c.ts < hi]
            # On a registered outing when the session starts or ends: the outing rule judges
            # that part, not lateness, early departure or a missing punch.
            outside = self.outing_spans()
            out_at_start = any(a <= due[0] < b for a, b in outside)
            out_at_end = any(a < due[1] <= b for a, b in outside)
            if not punches and not (out_at_start or out_at_end):
                if self.settled(end):
                    self.add("absence", slot, due[0], (), f"no punch in the {label}")
                continue
            if not out_at_start:
                self.arrival(slot, label, due[0], end, punches)
            if not out_at_end:
                self.departure(slot, label, due[1], end, punches)

    def arrival(
        self, slot: str, label: str, due: datetime, end: datetime, punches: list[schema.Punch]
    ) -> None:
        ins = [c for c in punches if c.action is Action.CLOCK_IN]
        if not ins:
            if self.settled(end) and punches:
                self.add(
                    "missing_punch",
                    slot + "-in",
                    punches[0].ts,
                    [punches[0].id],
                    f"no clock-in for the {label}",
                )
            return
        late = ins[0].ts - due
        minutes = f"arrived {late.total_seconds() / 60:.0f} min late for the {label}"
        if late > timedelta(minutes=self.grace.absent_late_min):
            self.add("absence", slot, ins[0].ts, [ins[0].id], minutes)
        elif late > timedelta(minutes=self.grace.late_min):
            self.add("late", slot, ins[0].ts, [ins[0].id], minutes)

    def departure(
        self, slot: str, label: str, due: datetime, end: datetime, punches: list[schema.Punch]
    ) -> None:
        outs = [c for c in punches if c.action is Action.CLOCK_OUT]
        if not outs:
            if self.settled(end) and punches:
                self.add(
                    "missing_punch",
                    slot + "-out",
                    end,
                    [punches[-1].id],
                    f"no clock-out for the {label}",
                )
            return
        early = due - outs[-1].ts
        if early > timedelta(minutes=self.grace.early_min):
            self.add(
                "early_departure",
                slot,
                outs[-1].ts,
                [outs[-1].id],
                f"left {early.total_seconds() / 60:.0f} min before the end of the {label}",
            )

    def returns(self) -> list[tuple[schema.Punch, schema.Punch | None]]:
        """Each registered going-out with the next punch (proof of being back), if any."""
        pairs = []
        for index, punch in enumerate(self.clocks):
            if punch.action is Action.LEAVE_OUT:
                back = next((c for c in self.clocks[index + 1 :] if c.ts > punch.ts), None)
                pairs.append((punch, back))
        return pairs

    def outing_spans(self) -> list[Span]:
        return [(out.ts, back.ts if back else self.day_span[1]) for out, back in self.returns()]

    def session_of(self, moment: datetime) -> Span:
        for (start, end), (lo, hi) in zip(self.sessions, self.segments(), strict=True):
            if lo <= moment < hi:
                return start, end
        return self.sessions[-1]

    def outings(self) -> None:
        g = self.grace
        for out, back in self.returns():
            if out.leave is None:
                continue
            allowed = timedelta(minutes=self.policy.outing.allowed_min.get(out.leave.kind, 0))
            deadline = min(out.leave.expected_return, out.ts + allowed)
            cutoff = deadline + timedelta(minutes=g.outing_overdue_min)
            _, session_end = self.session_of(out.ts)
            if deadline <= session_end:
                cutoff = min(cutoff, session_end)
            slot = f"out-{out.id}"
            if back is not None and back.ts > cutoff:
                over = (back.ts - deadline).total_seconds() / 60
                self.add(
                    "outing_overdue",
                    slot,
                    cutoff,
                    [out.id, back.id],
                    f"going out ({out.leave.kind}): back at {_hm(back.ts, self.zone)}, "
                    f"{over:.0f} min after the allowed {_hm(deadline, self.zone)}",
                )
            elif back is None and self.settled(cutoff):
                self.add(
                    "outing_overdue",
                    slot,
                    cutoff,
                    [out.id],
                    f"going out ({out.leave.kind}) at {_hm(out.ts, self.zone)}: not back "
                    f"(allowed until {_hm(deadline, self.zone)})",
                )

    # -- workstation activity --------------------------------------------------------
    def presence(self) -> list[Span]:
        """When the person was clocked in and neither out nor gone out, within sessions."""
        spans: list[Span] = []
        since: datetime | None = None
        for punch in self.clocks:
            if punch.action in PRESENT_AFTER:
                since = since or punch.ts
            elif since is not None:
                spans.append((since, punch.ts))
                since = None
        if since is not None:
            spans.append((since, self.day_span[1]))
        return [part for s in self.sessions for part in clip(spans, s)]

    def computer_use(self) -> None:
        categories = self.policy.categories
        idle: list[tuple[Span, str]] = []
        nonwork: list[tuple[Span, str]] = []
        for a in self.activity:
            finish = a.start + timedelta(seconds=a.duration_s)
            idle_from = finish - timedelta(seconds=min(a.idle_s, a.duration_s))
            if idle_from < finish:
                idle.append(((idle_from, finish), a.id))
            if a.start < idle_from and categories.is_nonwork(a.app, a.category):
                nonwork.append(((a.start, idle_from), a.id))
        self.away(idle)
        self.nonwork(nonwork)

    def away(self, idle: list[tuple[Span, str]]) -> None:
        presence = self.presence()
        limit = timedelta(minutes=self.grace.away_idle_min)
        for index, session in enumerate(self.sessions):
            on_duty = clip(presence, session)
            for stretch, ids in merge(idle, IDLE_JOIN):
                longest = longest_overlap(stretch, on_duty)
                if longest >= limit:
                    self.add(
                        "away_from_post",
                        f"s{index}",
                        stretch[0],
                        ids,
                        f"workstation idle {longest.total_seconds() / 60:.0f} min from "
                        f"{_hm(stretch[0], self.zone)} while clocked in",
                    )
                    break

    def nonwork(self, used: list[tuple[Span, str]]) -> None:
        g = self.grace
        per_session = []
        for session in self.sessions:
            parts = [(clipped, eid) for span, eid in used for clipped in clip([span], session)]
            per_session.append((session, total(s for s, _ in parts), sorted({e for _, e in parts})))
        day_total = sum((t for _, t, _ in per_session), timedelta())
        if day_total >= timedelta(minutes=g.nonwork_day_min):
            # One serious violation for the day stands in for the per-session minor ones.
            evidence = sorted({e for _, _, ids in per_session for e in ids})
            self.add(
                "nonwork_day",
                "day",
                per_session[0][0][0],
                evidence,
                f"non-work computer use {day_total.total_seconds() / 60:.0f} min in the day",
            )
            return
        for index, ((start, end), used_time, ids) in enumerate(per_session):
            if used_time >= timedelta(minutes=g.nonwork_session_min):
                self.add(
                    "nonwork_session",
                    f"s{index}",
                    start,
                    ids,
                    f"non-work computer use {used_time.total_seconds() / 60:.0f} min in the "
                    f"session {_hm(start, self.zone)}-{_hm(end, self.zone)}",
                )

    def spoofs(self) -> None:
        for alert in self.alerts:
            if alert.kind in SPOOF_ALERTS:
                self.add(
                    "spoof",
                    f"alert-{alert.id}",
                    alert.ts,
                    [alert.id],
                    f"{alert.kind} at {alert.device}: {alert.message}",
                )


def evaluate_day(
    policy: Policy,
    staff: str,
    day: date,
    events: PersonEvents,
    leaves: Sequence[LeaveRecord] = (),
    now: datetime | None = None,
) -> list[Finding]:
    """Every breach of the regime by `staff` on `day` (local to their site)."""
    window = policy.window_of.get(staff)
    if window is None:
        return []
    return _Day(policy, staff, window.site, day, events, leaves, now).run()


def month_days(month: str) -> list[date]:
    """The days of a month given as YYYY-MM."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def number_month(
    policy: Policy, staff: str, findings: Iterable[Finding], marks: dict[str, ManagerAction]
) -> list[ViolationRecord]:
    """Number minor violations 1/3, 2/3, 3/3 in order; escalate beyond; veto on serious."""
    window = policy.window_of.get(staff)
    site = window.site if window else ""
    allowance = policy.corrections.allowance
    minors = 0
    records = []
    for f in sorted(findings, key=lambda f: (f.at, f.rule, f.slot)):
        penalty = policy.penalty(f.rule)
        mark = marks.get(f.violation_id)
        status = {"void": "voided", "correct": "corrected"}[mark.action] if mark else "open"
        severity, deduction, number, escalated = penalty.severity, penalty.deduction, None, False
        detail = f.detail
        if status == "voided":
            deduction = 0.0
            detail += f" [voided by {mark.by}: {mark.reason}]"
        elif severity == "minor":
            minors += 1
            number = minors
            if minors > allowance:
                severity, escalated = "serious", True
                if policy.corrections.escalated_deduction is not None:
                    deduction = policy.corrections.escalated_deduction
        if status == "corrected":
            detail += f" [correction recorded by {mark.by}: {mark.reason}]"
        veto = status != "voided" and severity == "serious" and policy.veto.person
        records.append(
            ViolationRecord(
                f.violation_id,
                staff,
                site,
                window.id if window else None,
                f.day,
                f.at,
                f.rule,
                severity,
                deduction,
                number,
                escalated,
                veto,
                f.evidence,
                status,
                detail,
            )
        )
    return records


def evaluate_person_month(
    policy: Policy,
    staff: str,
    month: str,
    events: PersonEvents,
    actions: Sequence[ManagerAction] = (),
    now: datetime | None = None,
) -> list[ViolationRecord]:
    """All violations of one person in one month (YYYY-MM), numbered and marked."""
    window = policy.window_of.get(staff)
    if window is None:
        return []
    zone = policy.zone(window.site)
    by_day: dict[date, PersonEvents] = defaultdict(PersonEvents)
    for clock in events.clocks:
        by_day[clock.ts.astimezone(zone).date()].clocks.append(clock)
    for activity in events.activity:
        by_day[activity.start.astimezone(zone).date()].activity.append(activity)
    for alert in events.alerts:
        by_day[alert.ts.astimezone(zone).date()].alerts.append(alert)
    leaves = effective_leave(policy, list(actions))
    findings = [
        finding
        for day in month_days(month)
        for finding in evaluate_day(policy, staff, day, by_day[day], leaves, now)
    ]
    return number_month(policy, staff, findings, violation_marks(list(actions)))


def evaluate_month(
    policy: Policy,
    month: str,
    events: Iterable[schema.Event],
    actions: Sequence[ManagerAction] = (),
    now: datetime | None = None,
) -> list[ViolationRecord]:
    """Every staff member's violations in a month, in a stable order."""
    grouped = group_by_person(events, policy)
    records = []
    for staff in sorted(policy.window_of):
        person = grouped.get(staff, PersonEvents())
        records += evaluate_person_month(policy, staff, month, person, actions, now)
    return records
