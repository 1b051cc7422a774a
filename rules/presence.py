"""Who is where right now: each window of a site with its staff and their state at `now`.

Pure, like the engine, and judged by the engine's own reading of a day (`PersonDay`: the
punches of the day, sessions in the site's zone, leave, registered going-outs with their
allowed return, idle stretches of the workstation), so the live hall never says what the
inspection contradicts. States are plain codes; rules/words.py names them for people.

- `at_post`: clocked in (or back from going out), workstation not idle for `away_idle_min`;
- `away`: clocked in, and the workstation's latest report ends an idle stretch, while on
  duty, of `away_idle_min` or more (the engine's away-from-post);
- `out`: gone out (registered), with its kind, reason, expected and allowed return;
  overdue past the engine's cutoff (allowed return + `outing_overdue_min`);
- `on_leave`: approved leave covers now, or the session under way;
- `absent`: a session under way started more than `absent_late_min` ago, or an ended one
  was missed, without a punch (what the engine judges an absence, once settled);
- `not_in`: a session not started yet or started within the grace (`late`: past
  `late_min`, not yet an absence);
- `off_duty`: clocked out, after the last session, or not in on a day without sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from mqtt import schema
from mqtt.schema import Action, LeaveKind
from rules.directory import Directory, ServiceWindow
from rules.engine import (
    NO_FACTS,
    PRESENT_AFTER,
    Facts,
    PersonDay,
    PersonEvents,
    RegisteredOuting,
    group_by_person,
    idle_part,
    judged_window,
)
from rules.manager_actions import LeaveRecord
from rules.policy import Policy
from rules.spans import longest_overlap

State = Literal["at_post", "out", "away", "absent", "on_leave", "not_in", "off_duty"]
STATES: tuple[State, ...] = (
    "at_post",
    "out",
    "away",
    "absent",
    "on_leave",
    "not_in",
    "off_duty",
)


@dataclass(frozen=True, slots=True)
class GoneOut:
    """A registered going-out in progress."""

    kind: LeaveKind
    reason: str
    since: datetime
    expected_return: datetime  # what the person promised
    allowed_return: datetime  # the earlier of that and the kind's allowance
    overdue: bool


@dataclass(frozen=True, slots=True)
class PersonNow:
    """One person's row on the live hall."""

    staff_id: str
    window: str
    state: State
    punches: tuple[schema.Punch, ...]  # today's, in order, up to now
    outing: GoneOut | None = None  # with state `out`
    idle_since: datetime | None = None  # with state `away`
    late: bool = False  # with state `not_in`: past the grace, not yet an absence
    leave: LeaveRecord | None = None  # with state `on_leave`

    @property
    def last_punch(self) -> datetime | None:
        return self.punches[-1].ts if self.punches else None


@dataclass(frozen=True, slots=True)
class WindowNow:
    window: ServiceWindow
    staff: tuple[PersonNow, ...]


@dataclass(frozen=True, slots=True)
class HallNow:
    """A site at `now`: its windows (in id order), each with the staff posted there today."""

    site: str
    day: date
    now: datetime
    windows: tuple[WindowNow, ...]

    def person(self, staff_id: str) -> PersonNow | None:
        return next((p for w in self.windows for p in w.staff if p.staff_id == staff_id), None)

    def counts(self) -> dict[State, int]:
        """How many people are in each state (every state listed)."""
        counts = dict.fromkeys(STATES, 0)
        for window in self.windows:
            for person in window.staff:
                counts[person.state] += 1
        return counts


def local_day(policy: Policy, site: str, now: datetime) -> date:
    return now.astimezone(policy.zone(site)).date()


def posted_today(directory: Directory, site: str, day: date) -> dict[str, list[str]]:
    """Per window of `site` (in id order), the staff posted there on `day` (in id order)."""
    windows = sorted((w for w in directory.windows if w.site == site), key=lambda w: w.id)
    staff: dict[str, list[str]] = {w.id: [] for w in windows}
    for member in directory.judged_staff:
        window = directory.posting_on(member, day)
        if window is not None and window.id in staff:
            staff[window.id].append(member)
    return staff


def up_to(events: PersonEvents, now: datetime) -> PersonEvents:
    """What had happened by `now` (a replayed day shows the hall as it was then)."""
    return PersonEvents(
        [c for c in events.clocks if c.ts <= now],
        [a for a in events.activity if a.start <= now],
        [a for a in events.alerts if a.ts <= now],
    )


def person_presence(
    policy: Policy,
    directory: Directory,
    site: str,
    staff: str,
    events: PersonEvents,
    leaves: Sequence[LeaveRecord],
    now: datetime,
    facts: Facts = NO_FACTS,
) -> PersonNow | None:
    """One person's row at `now` (None: not posted at `site` today): what the live hall
    refreshes when an event about them arrives."""
    day = local_day(policy, site, now)
    window = directory.posting_on(staff, day)
    if window is None or window.site != site:
        return None
    return _row(policy, directory, window, staff, day, events, leaves, now, facts)


def hall_presence(
    policy: Policy,
    directory: Directory,
    site: str,
    events: Iterable[schema.Event],
    leaves: Sequence[LeaveRecord],
    now: datetime,
    facts: Facts = NO_FACTS,
) -> HallNow:
    """Every window of `site` with the staff posted there today and their state at `now`.

    `events`: the day's events (more is harmless: each person's day is cut in the site's
    zone, and activity is attributed to the workstation's user, as the engine does)."""
    day = local_day(policy, site, now)
    grouped = group_by_person(events, directory)
    windows = []
    for window_id, staff in posted_today(directory, site, day).items():
        window = directory.window[window_id]
        rows = tuple(
            _row(
                policy,
                directory,
                window,
                s,
                day,
                grouped.get(s, PersonEvents()),
                leaves,
                now,
                facts,
            )
            for s in staff
        )
        windows.append(WindowNow(window, rows))
    return HallNow(site, day, now, tuple(windows))


def _row(
    policy: Policy,
    directory: Directory,
    window: ServiceWindow,
    staff: str,
    day: date,
    events: PersonEvents,
    leaves: Sequence[LeaveRecord],
    now: datetime,
    facts: Facts,
) -> PersonNow:
    judged = judged_window(policy, directory, staff, day, facts) is not None
    person = PersonDay(policy, staff, window.site, day, up_to(events, now), leaves, now, facts)
    return _Reading(person, now, judged).row(window.id)


class _Reading:
    """One person-day read at `now`; a class only to share the context between steps."""

    def __init__(self, day: PersonDay, now: datetime, judged: bool) -> None:
        self.day, self.now, self.judged = day, now, judged
        self.grace = day.grace
        self.last = day.clocks[-1] if day.clocks else None

    def row(self, window: str) -> PersonNow:
        punches = tuple(self.day.clocks)
        leave = self.leave_now()
        if self.last is not None and self.last.action is Action.LEAVE_OUT:
            outing = self.gone_out(self.last)
            if outing is not None:
                return PersonNow(self.day.staff, window, "out", punches, outing=outing)
        if self.last is not None and self.last.action in PRESENT_AFTER:
            if self.after_last_session():
                return PersonNow(self.day.staff, window, "off_duty", punches)
            idle_since = self.idle_since()
            state: State = "away" if idle_since else "at_post"
            return PersonNow(self.day.staff, window, state, punches, idle_since=idle_since)
        if leave is not None:
            return PersonNow(self.day.staff, window, "on_leave", punches, leave=leave)
        state, late = self.not_clocked_in()
        if state == "absent" and not self.judged:
            state = "not_in"  # the site is not live yet: nobody is judged absent
        return PersonNow(self.day.staff, window, state, punches, late=late)

    def leave_now(self) -> LeaveRecord | None:
        return next((lv for lv in self.day.leaves if lv.start <= self.now < lv.end), None)

    def after_last_session(self) -> bool:
        return bool(self.day.sessions) and self.now >= self.day.sessions[-1][1]

    def gone_out(self, punch: schema.Punch) -> GoneOut | None:
        outing: RegisteredOuting | None = next(
            (o for o in self.day.gone_out if o.out.id == punch.id), None
        )
        if outing is None or punch.leave is None:
            return None
        overdue = False
        if self.day.sessions:
            _, session_end = self.day.session_of(punch.ts)
            overdue = self.now > outing.cutoff(session_end, self.grace)
        return GoneOut(
            outing.kind,
            punch.leave.reason,
            punch.ts,
            punch.leave.expected_return,
            outing.allowed,
            overdue,
        )

    def idle_since(self) -> datetime | None:
        """When the idle stretch the workstation reports now began, if it makes the person
        away: it is the latest thing reported, and lasts `away_idle_min` while on duty."""
        stretches = self.day.idle_stretches()
        if not stretches:
            return None
        (start, end), _ = stretches[-1]
        if end < max(idle_part(a)[1] for a in self.day.activity):
            return None  # used again since
        limit = timedelta(minutes=self.grace.away_idle_min)
        return start if longest_overlap((start, end), self.day.presence()) >= limit else None

    def not_clocked_in(self) -> tuple[State, bool]:
        """Not clocked in now (no punch today, or clocked out): due, late, missed or done."""
        if not self.day.sessions:
            return "off_duty", False  # a day off
        clocked_out = self.last is not None and self.last.action is Action.CLOCK_OUT
        for index, (start, end) in enumerate(self.day.sessions):
            if not start <= self.now < end:
                continue
            due = self.day.leave_adjusted(start, end)
            if due is None:
                return "on_leave", False
            if clocked_out and self.day.session_at(self.last.ts) == index:
                return "off_duty", False  # left during this session
            waited = self.now - due[0]
            if waited > timedelta(minutes=self.grace.absent_late_min):
                return "absent", False
            return "not_in", waited > timedelta(minutes=self.grace.late_min)
        if clocked_out or (self.after_last_session() and self.day.clocks):
            return "off_duty", False
        if self.missed_a_session():
            return "absent", False
        return ("off_duty" if self.after_last_session() else "not_in"), False

    def missed_a_session(self) -> bool:
        """An ended session was due (not all on leave) and has no punch of this person."""
        for index, (start, end) in enumerate(self.day.sessions):
            if end > self.now or self.day.leave_adjusted(start, end) is None:
                continue
            if not any(self.day.session_at(c.ts) == index for c in self.day.clocks):
                return True
        return False
