"""The violation regime as a pure function: events + policy + directory + manager actions ->
violations.

No I/O and no wall clock ("now" is an argument), and every ordering is explicit, so the same
inputs give the same violations whatever order the events arrived in. The unit of work is a
person-month: a late event changes one person-day, and the month's correction numbering
(1/3, 2/3, 3/3, then escalation) is redone for that person. What the centre knows besides
the events (when a site went live, the numbers already announced, device clock reports) is
an input too (`Facts`), and so is who works where (a `Directory` snapshot, effective-dated:
each day is judged at the window the person works at that day, under its site's zone, go-live
and timetable). docs/rules.md states each decision in a line.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise

from base.schedule import session_index
from mqtt import schema
from mqtt.schema import Action, LeaveKind
from rules.attribution import SPOOF_ALERTS, refusal, workstation_staff
from rules.directory import Directory, ServiceWindow
from rules.manager_actions import LeaveRecord, ManagerAction, effective_leave, violation_marks
from rules.patrol import PatrolFinding
from rules.policy import UNREGISTERED_OUTING, Grace, Policy
from rules.rosters import DUTY_ABSENT, DutyAssignment, on_duty
from rules.spans import Span, clip, longest_overlap, merge, total

PRESENT_AFTER = (Action.CLOCK_IN, Action.LEAVE_RETURN)
# Gaps up to this between idle samples still make one idle stretch (sampling jitter).
IDLE_JOIN = timedelta(seconds=60)
Pair = tuple[schema.Punch, schema.Punch]  # a clock-out and the clock-in that follows it


@dataclass(frozen=True, slots=True)
class SessionPunches:
    """One session of a day as its arrival and departure are judged."""

    slot: str  # "s0", "s1", ...: part of the violation ids
    label: str  # "session 09:00-12:00", for the details
    due: Span  # the due start and end, after leave
    end: datetime  # the session's end (settling is counted from it)
    punches: list[schema.Punch]  # the punches the session claims, in order
    pairs: list[Pair]  # its out-and-backs


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
    given_id: str = ""  # a patrol finding's violation id (derived from the finding's)

    @property
    def violation_id(self) -> str:
        if self.given_id:
            return self.given_id
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


@dataclass(frozen=True, slots=True)
class Facts:
    """What the centre knows besides a person's events, given to the engine as input.

    `first_punch`: per site, its first punch ever received (`Store.first_punches`); None
    when not tracked, and then only the policy's go-live dates hold anyone back.
    `numbers`: per staff member, the correction numbers already announced (violation id
    -> number; withdrawn ones included, so their numbers stay retired).
    `statuses`: device heartbeats around the punches, for the clock check.
    """

    first_punch: Mapping[str, datetime] | None = None
    numbers: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    statuses: Sequence[schema.Status] = ()


NO_FACTS = Facts()  # nothing known besides the events: go-live from the policy only


def live_from(policy: Policy, site: str, facts: Facts) -> date | None:
    """The site's first judged day (None: every day, when go-live is not tracked)."""
    if facts.first_punch is None:
        return policy.site(site).go_live
    return policy.go_live_day(site, facts.first_punch.get(site)) or date.max


def judged_window(
    policy: Policy, directory: Directory, staff: str, day: date, facts: Facts
) -> ServiceWindow | None:
    """The window `staff` is judged at on `day`: where they are posted that day, while
    employed and that window's site is live; None: not judged that day."""
    window = directory.posting_on(staff, day)
    if window is None:
        return None
    first = live_from(policy, window.site, facts)
    return window if first is None or first <= day else None


def judged_workdays(
    policy: Policy, directory: Directory, staff: str, month: str, facts: Facts
) -> dict[str, int]:
    """Per window (in the order worked there), the working days of `month` that count for
    `staff` there: what each window's mean weighs them by."""
    days: dict[str, int] = {}
    for day in month_days(month):
        if policy.sessions(day) and (window := judged_window(policy, directory, staff, day, facts)):
            days[window.id] = days.get(window.id, 0) + 1
    return days


def clock_fault(status: schema.Status, policy: Policy) -> str | None:
    """What is wrong with the device clock a heartbeat reports, if anything."""
    health = status.health
    if health is None or health.clock_synced is None:
        return None  # not reported (a platform without the kernel's NTP state)
    if not health.clock_synced:
        return "not synchronised"
    offset = health.clock_offset_s or 0.0
    if abs(offset) > policy.clocks.max_offset_s:
        return f"off by {offset:+.1f} s"
    return None


def clock_doubt(punch: schema.Punch, statuses: Iterable[schema.Status], policy: Policy) -> str:
    """Why the time of `punch` is in doubt ("" if it is not): a heartbeat of its device
    within `clocks.reach_min` of it reported a bad clock."""
    reach = timedelta(minutes=policy.clocks.reach_min)
    for status in statuses:
        if (status.site, status.device) != (punch.site, punch.device):
            continue
        fault = clock_fault(status, policy)
        if fault and abs(status.ts - punch.ts) <= reach:
            return f"{punch.device} clock {fault}"
    return ""


def staff_of(event: schema.Event, directory: Directory) -> str | None:
    """Who an event concerns: activity, the staff member at that workstation (whatever the
    payload claims); anything else, its staff id (see rules/attribution.py)."""
    if isinstance(event, schema.Activity):
        return workstation_staff(event, directory)
    return getattr(event, "staff_id", None)


def event_time(event: schema.Event) -> datetime:
    """The moment an event is about (an activity interval's start, else its timestamp)."""
    return event.start if isinstance(event, schema.Activity) else event.ts


def group_by_person(
    events: Iterable[schema.Event], directory: Directory
) -> dict[str, PersonEvents]:
    grouped: dict[str, PersonEvents] = defaultdict(PersonEvents)
    seen: set[str] = set()
    for event in events:
        staff = staff_of(event, directory)
        if staff is None or event.id in seen or refusal(event, directory):
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


def idle_part(activity: schema.Activity) -> Span:
    """The idle end of an activity interval: the agent reports the idle seconds at its end."""
    finish = activity.start + timedelta(seconds=activity.duration_s)
    return finish - timedelta(seconds=min(activity.idle_s, activity.duration_s)), finish


def _hm(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class RegisteredOuting:
    """A registered going-out: its allowed return, and the next punch (the return)."""

    out: schema.Punch
    kind: LeaveKind
    allowed: datetime  # min(promised return, going-out time + the kind's allowance)
    back: schema.Punch | None
    until: datetime  # the return, or the end of the day

    def covers(self, moment: datetime) -> bool:
        return self.out.ts <= moment < self.until

    def returns_inside(self, session_end: datetime) -> bool:
        """Whether the allowed return falls inside the session gone out from: only then
        is not being back overdue (past it, the next session's arrival rules judge)."""
        return self.allowed <= session_end

    def cutoff(self, session_end: datetime, grace: Grace) -> datetime:
        """When being back becomes overdue: the allowed return plus the grace, no later
        than the end of the session gone out from when the return is due inside it."""
        cutoff = self.allowed + timedelta(minutes=grace.outing_overdue_min)
        return min(cutoff, session_end) if self.returns_inside(session_end) else cutoff


class PersonDay:
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
        facts: Facts,
        duties: Sequence[DutyAssignment] = (),
    ) -> None:
        self.policy, self.staff, self.day, self.now = policy, staff, day, now
        self.duties = duties
        self.zone = policy.zone(site)
        self.grace = policy.grace
        self.day_sessions = policy.sessions(day)
        self.sessions = policy.session_bounds(site, day)  # the same, as moments
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
        self.statuses = facts.statuses
        self.gone_out = self.registered_outings()
        self.findings: list[Finding] = []
        # Going-outs whose return was judged an absence: that stands in for being overdue.
        self.replaced: set[str] = set()
        # The findings hold for every "now" in [since, until): the latest settling moment
        # judged settled, the earliest judged not yet (None: no bound).
        self.since: datetime | None = None
        self.until: datetime | None = None

    def settled(self, moment: datetime) -> bool:
        """Whether every device has had time to deliver what happened before `moment`."""
        due = moment + self.policy.settle()
        if self.now is None or due <= self.now:
            self.since = due if self.since is None else max(self.since, due)
            return True
        self.until = due if self.until is None else min(self.until, due)
        return False

    def add(self, rule: str, slot: str, at: datetime, evidence: Iterable[str], detail: str) -> None:
        evidence = tuple(evidence)
        # A finding timed by a punch from a device whose clock was in doubt says so.
        doubts = sorted(
            {
                doubt
                for c in self.clocks
                if c.id in evidence and (doubt := clock_doubt(c, self.statuses, self.policy))
            }
        )
        if doubts:
            detail += f" (time in doubt: {'; '.join(doubts)})"
        self.findings.append(Finding(self.staff, self.day, rule, slot, at, evidence, detail))

    def run(self) -> list[Finding]:
        if self.sessions:
            self.attendance()
            self.outings()
            self.computer_use()
            self.duty()
        self.spoofs()
        return self.findings

    # -- sessions --------------------------------------------------------------------
    def session_at(self, moment: datetime) -> int:
        """The session a punch at `moment` of this day belongs to (the station's rule too)."""
        return session_index(self.day_sessions, moment.astimezone(self.zone).time())

    def leave_adjusted(self, start: datetime, end: datetime) -> Span | None:
        """The part of a session not covered by approved leave (None if all of it is)."""
        for lv in self.leaves:
            if lv.start <= start and lv.end > start:
                start = max(start, lv.end)
            if lv.start < end and lv.end >= end:
                end = min(end, lv.start)
        return (start, end) if start < end else None

    def attendance(self) -> None:
        for index, (start, end) in enumerate(self.sessions):
            due = self.leave_adjusted(start, end)
            if due is None:
                continue  # on leave for the whole session
            slot = f"s{index}"
            label = f"session {_hm(start, self.zone)}-{_hm(end, self.zone)}"
            punches = [c for c in self.clocks if self.session_at(c.ts) == index]
            # Gone out (registered) when the session starts: the outing covers the person up
            # to its allowed return, what lies beyond is judged as if they had not gone out.
            # Gone out when it ends: the outing rule judges that end.
            covering = next((o for o in self.gone_out if o.covers(due[0])), None)
            out_at_end = any(o.out.ts < due[1] <= o.until for o in self.gone_out)
            pairs = self.out_and_backs(punches, start, end)
            if covering is not None:
                self.beyond_allowed_return(covering, slot, label, due, end)
            elif not punches:
                if not out_at_end and self.settled(end):
                    self.add("absence", slot, due[0], (), f"no punch in the {label}")
                continue
            seen = SessionPunches(slot, label, due, end, punches, pairs)
            if covering is None:
                self.arrival(seen)
            if punches and not out_at_end:
                self.departure(seen)
            if self.policy.outing.unregistered is not None:
                self.unregistered(pairs)

    @staticmethod
    def out_and_backs(punches: list[schema.Punch], start: datetime, end: datetime) -> list[Pair]:
        """Clock-outs inside the session followed by a clock-in before it ends: out and back
        again, neither a departure nor an arrival. (A clock-out before the session starts,
        in the break, is the previous session's departure.)"""
        return [
            (a, b)
            for a, b in pairwise(punches)
            if a.action is Action.CLOCK_OUT
            and b.action is Action.CLOCK_IN
            and start <= a.ts
            and b.ts < end
        ]

    def arrival(self, seen: SessionPunches) -> None:
        slot, label, due, end, punches = seen.slot, seen.label, seen.due[0], seen.end, seen.punches
        backs = {b.id for _, b in seen.pairs}
        ins = [c for c in punches if c.action is Action.CLOCK_IN and c.id not in backs]
        if not ins:
            if self.settled(end):
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

    def departure(self, seen: SessionPunches) -> None:
        slot, label, due, end, punches = seen.slot, seen.label, seen.due[1], seen.end, seen.punches
        # Judged once the session has ended and devices have delivered: until then a
        # clock-out may still be followed by the person coming back.
        if not self.settled(end):
            return
        gone_and_back = {a.id for a, _ in seen.pairs}
        outs = [c for c in punches if c.action is Action.CLOCK_OUT and c.id not in gone_and_back]
        if not outs:
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

    def unregistered(self, pairs: list[Pair]) -> None:
        for out, back in pairs:
            self.add(
                UNREGISTERED_OUTING,
                f"ob-{out.id}",
                out.ts,
                [out.id, back.id],
                f"clocked out at {_hm(out.ts, self.zone)} and back at {_hm(back.ts, self.zone)} "
                "without registering a going-out",
            )

    def beyond_allowed_return(
        self, outing: RegisteredOuting, slot: str, label: str, due: Span, end: datetime
    ) -> None:
        """A session that starts while the person is gone out: due back by the allowed
        return (or the session's start, if later); absent if not back in the session or
        back later than that plus `absent_late_min`."""
        if outing.allowed >= due[1]:
            return  # the outing covers the rest of the session
        due_back = max(due[0], outing.allowed)
        back = outing.back
        allowed = f"going out ({outing.kind}) at {_hm(outing.out.ts, self.zone)}, allowed until "
        allowed += _hm(outing.allowed, self.zone)
        if back is None or back.ts >= due[1]:
            if self.settled(end):
                self.replaced.add(outing.out.id)
                self.add(
                    "absence",
                    slot,
                    due_back,
                    [outing.out.id],
                    f"{allowed}: not back in the {label}",
                )
            return
        late = back.ts - due_back
        if late > timedelta(minutes=self.grace.absent_late_min):
            self.replaced.add(outing.out.id)
            self.add(
                "absence",
                slot,
                due_back,
                [outing.out.id, back.id],
                f"{allowed}: back at {_hm(back.ts, self.zone)}, {late.total_seconds() / 60:.0f} "
                f"min late for the {label}",
            )

    def registered_outings(self) -> list[RegisteredOuting]:
        """Each registered going-out with its allowed return and the next punch that day
        (the proof of being back), if any."""
        outings = []
        for index, punch in enumerate(self.clocks):
            if punch.action is not Action.LEAVE_OUT or punch.leave is None:
                continue
            back = next((c for c in self.clocks[index + 1 :] if c.ts > punch.ts), None)
            allowance = self.policy.outing.allowed_min.get(punch.leave.kind, 0)
            allowed = min(punch.leave.expected_return, punch.ts + timedelta(minutes=allowance))
            until = back.ts if back else self.day_span[1]
            outings.append(RegisteredOuting(punch, punch.leave.kind, allowed, back, until))
        return outings

    def session_of(self, moment: datetime) -> Span:
        return self.sessions[self.session_at(moment)]

    def outings(self) -> None:
        g = self.grace
        for outing in self.gone_out:
            out, back, deadline, kind = outing.out, outing.back, outing.allowed, outing.kind
            if out.id in self.replaced:
                continue
            _, session_end = self.session_of(out.ts)
            # The return is the next punch that day.
            cutoff = outing.cutoff(session_end, g)
            inside = outing.returns_inside(session_end)
            slot = f"out-{out.id}"
            if back is not None and back.ts > cutoff:
                over = (back.ts - deadline).total_seconds() / 60
                self.add(
                    "outing_overdue",
                    slot,
                    cutoff,
                    [out.id, back.id],
                    f"going out ({kind}): back at {_hm(back.ts, self.zone)}, "
                    f"{over:.0f} min after the allowed {_hm(deadline, self.zone)}",
                )
            elif back is None and inside and self.settled(cutoff):
                self.add(
                    "outing_overdue",
                    slot,
                    cutoff,
                    [out.id],
                    f"going out ({kind}) at {_hm(out.ts, self.zone)}: not back "
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

    def duty(self) -> None:
        """On duty (rules/rosters.py): missing from a duty session, once it has settled,
        longer than `duty_absent_min` (not clocked in, clocked out or gone out; approved
        leave excuses its part) is one violation per duty and session."""
        presence = self.presence()
        limit = timedelta(minutes=self.grace.duty_absent_min)
        for duty in self.duties:
            for index in duty.session_indices(len(self.sessions)):
                start, end = self.sessions[index]
                due = self.leave_adjusted(start, end)
                if due is None or not self.settled(end):
                    continue
                present = total(clip(presence, due))
                missing = (due[1] - due[0]) - present
                if missing <= limit:
                    continue
                self.add(
                    DUTY_ABSENT,
                    f"duty-{duty.duty}-s{index}",
                    due[0],
                    [c.id for c in self.clocks if start <= c.ts < end],
                    f"on duty ({duty.duty}) in the session {_hm(start, self.zone)}-"
                    f"{_hm(end, self.zone)}: present {present.total_seconds() / 60:.0f} of "
                    f"{(due[1] - due[0]).total_seconds() / 60:.0f} min",
                )

    def idle(self) -> list[tuple[Span, str]]:
        """The idle part of each activity interval, with the interval's id."""
        parts = [(idle_part(a), a.id) for a in self.activity]
        return [(span, event_id) for span, event_id in parts if span[0] < span[1]]

    def idle_stretches(self) -> list[tuple[Span, tuple[str, ...]]]:
        """Idle time as continuous stretches (sampling jitter joined)."""
        return merge(self.idle(), IDLE_JOIN)

    def computer_use(self) -> None:
        categories = self.policy.categories
        nonwork: list[tuple[Span, str]] = []
        for a in self.activity:
            idle_from, _ = idle_part(a)
            if a.start < idle_from and categories.is_nonwork(a.app, a.category):
                nonwork.append(((a.start, idle_from), a.id))
        self.away()
        self.nonwork(nonwork)

    def away(self) -> None:
        presence = self.presence()
        limit = timedelta(minutes=self.grace.away_idle_min)
        stretches = self.idle_stretches()
        for index, session in enumerate(self.sessions):
            on_duty = clip(presence, session)
            for stretch, ids in stretches:
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
        """Spoof alerts of one kind from one device within `incident_min` of an incident's
        first alert are that one incident: one violation citing them all."""
        reach = timedelta(minutes=self.grace.incident_min)
        incidents: dict[tuple[str, str], list[list[schema.Alert]]] = defaultdict(list)
        for alert in self.alerts:
            if alert.kind not in SPOOF_ALERTS:
                continue
            same = incidents[(alert.kind, alert.device)]
            if same and alert.ts - same[-1][0].ts <= reach:
                same[-1].append(alert)
            else:
                same.append([alert])
        for (kind, device), found in sorted(incidents.items()):
            for incident in found:
                first, last = incident[0], incident[-1]
                many = (
                    f"{len(incident)} alerts from {first.ts.astimezone(self.zone):%H:%M:%S} "
                    f"to {last.ts.astimezone(self.zone):%H:%M:%S}, one incident: "
                    if len(incident) > 1
                    else ""
                )
                self.add(
                    "spoof",
                    f"alert-{first.id}",
                    first.ts,
                    [a.id for a in incident],
                    f"{kind} at {device}: {many}{first.message}",
                )


@dataclass(frozen=True, slots=True)
class DayJudgement:
    """One person-day's findings before numbering, and the "now"s they hold for: every
    moment in [since, until) (None: unbounded; a "now" of None is after every moment)."""

    site: str
    findings: tuple[Finding, ...]
    since: datetime | None = None
    until: datetime | None = None

    def holds_at(self, now: datetime | None) -> bool:
        if self.until is not None and (now is None or now >= self.until):
            return False
        return self.since is None or now is None or self.since <= now


def judge_day(
    policy: Policy,
    staff: str,
    window: ServiceWindow,
    day: date,
    events: PersonEvents,
    leaves: Sequence[LeaveRecord],
    now: datetime | None,
    facts: Facts,
    rosters: Sequence[DutyAssignment] = (),
) -> DayJudgement:
    """One judged person-day at `window` (its events, those of that day or more)."""
    person_day = PersonDay(
        policy, staff, window.site, day, events, leaves, now, facts, on_duty(rosters, staff, day)
    )
    findings = tuple(person_day.run())
    return DayJudgement(window.site, findings, person_day.since, person_day.until)


def evaluate_day(
    policy: Policy,
    directory: Directory,
    staff: str,
    day: date,
    events: PersonEvents,
    leaves: Sequence[LeaveRecord] = (),
    now: datetime | None = None,
    facts: Facts = NO_FACTS,
) -> list[Finding]:
    """Every breach of the regime by `staff` on `day` (local to the site of their window
    that day; nothing on a day they are posted nowhere)."""
    window = directory.posting_on(staff, day)
    if window is None:
        return []
    return PersonDay(policy, staff, window.site, day, events, leaves, now, facts).run()


def month_days(month: str) -> list[date]:
    """The days of a month given as YYYY-MM."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def number_month(
    policy: Policy,
    staff: str,
    findings: Iterable[Finding],
    marks: dict[str, ManagerAction],
    windows: Mapping[date, ServiceWindow],
    announced: Mapping[str, int] | None = None,
) -> list[ViolationRecord]:
    """Number minor violations in the order they became known; escalate beyond the
    allowance; veto on serious.

    `announced` holds the numbers given before (violation id -> number): they never change,
    and a withdrawn violation's number is not given again. Minor violations not numbered yet
    get the next numbers, in time order. A minor violation is escalated when more than
    `allowance` standing (not voided) minor violations, itself included, have a number up to
    its own; voided ones keep a number they were announced with but count for nothing.
    `windows`: the window of each judged day (a violation is of the window of its day).
    """
    allowance = policy.corrections.allowance
    numbers = dict(announced or {})
    ordered = sorted(findings, key=lambda f: (f.at, f.rule, f.slot))
    status_of = {
        f.violation_id: {"void": "voided", "correct": "corrected"}[mark.action]
        if (mark := marks.get(f.violation_id))
        else "open"
        for f in ordered
    }
    minor = [f.violation_id for f in ordered if policy.penalty(f.rule).severity == "minor"]
    following = max(numbers.values(), default=0) + 1
    for vid in minor:
        if vid not in numbers and status_of[vid] != "voided":
            numbers[vid] = following
            following += 1
    standing = sorted((numbers[vid], vid) for vid in minor if status_of[vid] != "voided")
    escalated_ids = {vid for rank, (_, vid) in enumerate(standing, start=1) if rank > allowance}
    records = []
    for f in ordered:
        penalty = policy.penalty(f.rule)
        mark = marks.get(f.violation_id)
        status = status_of[f.violation_id]
        severity, deduction = penalty.severity, penalty.deduction
        number = numbers.get(f.violation_id) if severity == "minor" else None
        escalated = f.violation_id in escalated_ids
        detail = f.detail
        if mark is not None and status == "voided":
            deduction = 0.0
            detail += f" [voided by {mark.by}: {mark.reason}]"
        if escalated:
            severity = "serious"
            if policy.corrections.escalated_deduction is not None:
                deduction = policy.corrections.escalated_deduction
        if mark is not None and status == "corrected":
            detail += f" [correction recorded by {mark.by}: {mark.reason}]"
        veto = status != "voided" and severity == "serious" and policy.veto.person
        window = windows.get(f.day)
        records.append(
            ViolationRecord(
                f.violation_id,
                staff,
                window.site if window else "",
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


def observed(
    policy: Policy,
    staff: str,
    patrol: Iterable[PatrolFinding],
    windows: Mapping[date, ServiceWindow],
) -> list[Finding]:
    """A person's patrol findings as breaches of the days they were observed on (days the
    person is not judged on count for nothing, like their events)."""
    breaches = []
    for finding in patrol:
        day = finding.day(policy)
        if finding.staff_id != staff or day not in windows:
            continue
        breaches.append(
            Finding(
                staff,
                day,
                finding.rule,
                f"finding-{finding.finding_id}",
                finding.at,
                (finding.finding_id,),
                finding.detail(),
                finding.violation_id,
            )
        )
    return breaches


def by_local_day(events: PersonEvents, zone: tzinfo) -> dict[date, PersonEvents]:
    """A person's events per local day of `zone`."""
    by_day: dict[date, PersonEvents] = defaultdict(PersonEvents)
    for clock in events.clocks:
        by_day[clock.ts.astimezone(zone).date()].clocks.append(clock)
    for activity in events.activity:
        by_day[activity.start.astimezone(zone).date()].activity.append(activity)
    for alert in events.alerts:
        by_day[alert.ts.astimezone(zone).date()].alerts.append(alert)
    return by_day


def judged_windows(
    policy: Policy, directory: Directory, staff: str, month: str, facts: Facts
) -> dict[date, ServiceWindow]:
    """The window of each day of `month` that `staff` is judged on (see `judged_window`)."""
    return {
        day: window
        for day in month_days(month)
        if (window := judged_window(policy, directory, staff, day, facts))
    }


def judge_days(
    policy: Policy,
    staff: str,
    windows: Mapping[date, ServiceWindow],
    events: PersonEvents,
    leaves: Sequence[LeaveRecord],
    now: datetime | None,
    facts: Facts,
    rosters: Sequence[DutyAssignment] = (),
) -> dict[date, DayJudgement]:
    """Each of the days in `windows` judged from `events` (split by each site's local day)."""
    days_of_site = {
        site: by_local_day(events, policy.zone(site)) for site in {w.site for w in windows.values()}
    }
    return {
        day: judge_day(
            policy, staff, window, day, days_of_site[window.site][day], leaves, now, facts, rosters
        )
        for day, window in sorted(windows.items())
    }


def number_days(
    policy: Policy,
    staff: str,
    windows: Mapping[date, ServiceWindow],
    days: Mapping[date, DayJudgement],
    actions: Sequence[ManagerAction],
    facts: Facts,
    patrol: Iterable[PatrolFinding],
) -> list[ViolationRecord]:
    """A person-month's violations from the judgement of each of its judged days: the days'
    findings in day order, then the inspectors', numbered and marked (`number_month`)."""
    findings = [finding for day in sorted(windows) for finding in days[day].findings]
    findings += observed(policy, staff, patrol, windows)
    marks = violation_marks(list(actions))
    return number_month(policy, staff, findings, marks, windows, facts.numbers.get(staff))


def evaluate_person_month(
    policy: Policy,
    directory: Directory,
    staff: str,
    month: str,
    events: PersonEvents,
    actions: Sequence[ManagerAction] = (),
    now: datetime | None = None,
    facts: Facts = NO_FACTS,
    patrol: Iterable[PatrolFinding] = (),
    rosters: Sequence[DutyAssignment] = (),
) -> list[ViolationRecord]:
    """All violations of one person in one month (YYYY-MM), numbered and marked.

    `patrol`: inspectors' findings (those of other people and of windows are ignored).
    `rosters`: duty entries (those of other people and days are ignored); a duty is judged
    on a day the person is judged, under the timetable of their window's site.

    Each day is judged at the window the person works at that day (a move mid-month
    changes the window, and perhaps the site, from that day); days before the site's
    go-live, outside the person's employment or postings are not judged at all. The
    numbering runs over the whole month: the allowance is the person's, not a window's.
    Days are judged one by one (`judge_day`), so a change can re-judge only its days and
    number the month again from the others' judgements (rules/recompute.py)."""
    windows = judged_windows(policy, directory, staff, month, facts)
    leaves = effective_leave(policy, list(actions))
    days = judge_days(policy, staff, windows, events, leaves, now, facts, rosters)
    return number_days(policy, staff, windows, days, actions, facts, patrol)


def evaluate_month(
    policy: Policy,
    directory: Directory,
    month: str,
    events: Iterable[schema.Event],
    actions: Sequence[ManagerAction] = (),
    now: datetime | None = None,
    facts: Facts = NO_FACTS,
    patrol: Sequence[PatrolFinding] = (),
    rosters: Sequence[DutyAssignment] = (),
) -> list[ViolationRecord]:
    """Every staff member's violations in a month, in a stable order."""
    grouped = group_by_person(events, directory)
    records = []
    for staff in directory.judged_staff:
        person = grouped.get(staff, PersonEvents())
        records += evaluate_person_month(
            policy, directory, staff, month, person, actions, now, facts, patrol, rosters
        )
    return records
