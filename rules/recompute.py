"""Bring stored violations in line with stored events, per person-month or per month.

Each cycle reads, besides the events, the facts the engine needs from the store (first
punches, numbers announced, heartbeats near the punches), the inspectors' findings and the
duty rosters of the month, and keeps the numbers it gives. It keeps each day's judgement
too (rules/day_store.py), so a person-month's cycle re-judges only the days a change
touched and numbers the month from the kept days: the same results as judging it whole.
Who works where is the `Directory` snapshot the caller gives (the same for a whole cycle).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from mqtt import schema
from rules.day_store import PersonDayKey
from rules.directory import Directory, ServiceWindow
from rules.engine import (
    DayJudgement,
    Facts,
    PersonEvents,
    ViolationRecord,
    clock_fault,
    event_time,
    group_by_person,
    judge_days,
    judged_windows,
    month_days,
    number_days,
    staff_of,
)
from rules.manager_actions import effective_leave
from rules.policy import Policy
from rules.requests import attested_punches
from rules.store import Store

PERSON_KINDS = ("clock", "activity", "alert")


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def month_span(policy: Policy, sites: Iterable[str], month: str) -> tuple[datetime, datetime]:
    """From the month's first midnight to the midnight after it, of the sites' zones."""
    zones = {policy.zone(site) for site in sites}
    days = month_days(month)
    start = min(datetime.combine(days[0], datetime.min.time(), zone) for zone in zones)
    after = days[-1] + timedelta(days=1)
    return start, max(datetime.combine(after, datetime.min.time(), zone) for zone in zones)


def affected(event: schema.Event, policy: Policy, directory: Directory) -> list[PersonDayKey]:
    """The person-days whose judgement an event can change: its local day at each site the
    person works at (a day is judged under the zone of that day's site). A heartbeat that
    reports a bad clock puts the punches of its device around it in doubt: the days around
    it of everyone working at its site."""
    if isinstance(event, schema.Status):
        if clock_fault(event, policy) is None:
            return []
        reach = timedelta(minutes=policy.clocks.reach_min)
        span = (event.ts - reach, event.ts + reach)
        return sorted(
            {
                key
                for staff in directory.staff_at(event.site)
                for key in _days(policy, directory, staff, span)
            }
        )
    staff = staff_of(event, directory)
    if staff is None:
        return []
    return _days(policy, directory, staff, (event_time(event), event_time(event)))


def _days(
    policy: Policy, directory: Directory, staff: str, span: tuple[datetime, datetime]
) -> list[PersonDayKey]:
    """The person's local days from `span`'s start to its end, in the zone of each site."""
    keys = set()
    for zone in {policy.zone(site) for site in directory.sites_of(staff)}:
        first, last = (moment.astimezone(zone).date() for moment in span)
        keys.update((staff, first + timedelta(days=n)) for n in range((last - first).days + 1))
    return sorted(keys)


_POLICY_DIGEST: dict[int, tuple[Policy, str]] = {}


def judging_basis(policy: Policy, directory: Directory, staff: str) -> str:
    """What a person's days are judged on besides their own inputs: the policy, whose
    events count for whom (workstations) and the sites the person works at. A day judged
    on another basis is judged again."""
    held = _POLICY_DIGEST.get(id(policy))
    if held is None or held[0] is not policy:
        _POLICY_DIGEST.clear()  # one policy at a time, in practice
        digest = hashlib.sha1(policy.model_dump_json().encode()).hexdigest()
        held = _POLICY_DIGEST[id(policy)] = (policy, digest)
    sites = ",".join(sorted(directory.sites_of(staff)))
    text = f"{held[1]}|{directory.attribution_digest}|{sites}"
    return hashlib.sha1(text.encode()).hexdigest()


Change = tuple[list[ViolationRecord], list[ViolationRecord]]


def statuses_near(
    store: Store, policy: Policy, punches: Iterable[schema.Punch]
) -> list[schema.Status]:
    """The heartbeats of the punches' devices around them (the clock check)."""
    reach = timedelta(minutes=policy.clocks.reach_min)
    return store.statuses_near([(p.site, p.device, p.ts) for p in punches], reach)


def stored_facts(
    store: Store, policy: Policy, month: str, punches: Iterable[schema.Punch]
) -> Facts:
    """What the engine needs from the store besides the events: first punches, the numbers
    announced in `month`, the heartbeats of the punches' devices around them."""
    return Facts(store.first_punches(), store.numbers(month), statuses_near(store, policy, punches))


def attested(
    store: Store, start: datetime, end: datetime, staff: str | None = None
) -> dict[str, list[schema.Punch]]:
    """Per person, the approved punch corrections (补卡) timed in [start, end), as the
    attested punches the engine judges with the stations' (rules/requests.py)."""
    approved = store.requests(kind="punch", status="approved", staff=staff, start=start, end=end)
    punches: dict[str, list[schema.Punch]] = {}
    for punch in attested_punches(approved):
        punches.setdefault(punch.staff_id, []).append(punch)
    return punches


def _replace(store: Store, staff: str, month: str, records: list[ViolationRecord]) -> Change:
    """Store a person-month's results and keep the numbers they announce."""
    change = store.replace_violations(staff, month, records)
    numbered = {r.violation_id: r.correction_no for r in records if r.correction_no}
    store.keep_numbers(staff, month, numbered)
    return change


def _final(store: Store, month: str) -> bool:
    """A month past the retention horizon: its events are pruned, its results stand."""
    horizon = store.horizon()
    return horizon is not None and month < horizon


def _runs(days: Iterable[date]) -> list[list[date]]:
    """Days as runs of consecutive days."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] + timedelta(days=1) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _midnight(policy: Policy, window: ServiceWindow, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), policy.zone(window.site))


def read_days(
    store: Store,
    policy: Policy,
    directory: Directory,
    staff: str,
    windows: Mapping[date, ServiceWindow],
) -> tuple[PersonEvents, list[schema.Punch]]:
    """A person's events of the days in `windows` (each local to its window's site), and
    the approved punch corrections of those days (apart: they have no heartbeats)."""
    person = PersonEvents()
    corrections: list[schema.Punch] = []
    seen: set[str] = set()
    workstations = directory.workstations_of(staff)
    for run in _runs(windows):
        start = min(_midnight(policy, windows[day], day) for day in run)
        end = max(_midnight(policy, windows[day], day + timedelta(days=1)) for day in run)
        events = store.events(
            start, end, staff=staff, workstations=workstations, kinds=PERSON_KINDS
        )
        found = group_by_person(events, directory).get(staff, PersonEvents())
        person.clocks += [e for e in found.clocks if e.id not in seen]
        person.activity += [e for e in found.activity if e.id not in seen]
        person.alerts += [e for e in found.alerts if e.id not in seen]
        seen.update(e.id for e in events)
        corrections += [
            p for p in attested(store, start, end, staff).get(staff, []) if p.id not in seen
        ]
        seen.update(p.id for p in corrections)
    return person, corrections


def _holds(kept: DayJudgement | None, window: ServiceWindow, now: datetime | None) -> bool:
    return kept is not None and kept.site == window.site and kept.holds_at(now)


def recompute_person_month(
    store: Store,
    policy: Policy,
    directory: Directory,
    staff: str,
    month: str,
    now: datetime | None,
    *,
    if_pending: bool = False,
    days: Iterable[date] | None = None,
) -> Change:
    """Bring one person-month's violations in line with the store; return (changed,
    withdrawn).

    Judged again: the `days` given (None: every day of the month), the days marked pending,
    and the days whose kept judgement does not hold any more (a day not judged yet, judged
    at another site, on another basis (`judging_basis`), or for a "now" on the other side of
    a settling moment it depended on); the month is then numbered from every day's
    judgement, exactly as `evaluate_person_month` numbers it. A whole-month mark (a
    directory edit) judges every day again.

    `if_pending`: only if it is still marked pending and no other instance is on it (one
    sharing the store may have recomputed it since it was listed, or be doing so).
    """
    sites = directory.sites_of(staff)
    with store.recomputing(staff, month, wait=not if_pending) as marks:
        if (if_pending and not marks) or _final(store, month) or not sites:
            return [], []  # (a final month's marks are cleared all the same)
        first_punch = store.first_punches()
        windows = judged_windows(policy, directory, staff, month, Facts(first_punch))
        basis = judging_basis(policy, directory, staff)
        kept_basis, kept = store.day_judgements(staff, month)
        whole = days is None or marks.month is not None or kept_basis != basis
        touched = set(days or ()) | set(marks.days)
        stale = {
            day: window
            for day, window in windows.items()
            if whole or day in touched or not _holds(kept.get(day), window, now)
        }
        person, corrections = read_days(store, policy, directory, staff, stale)
        facts = Facts(
            first_punch,
            {staff: store.numbers_of(staff, month)},
            statuses_near(store, policy, person.clocks),
        )
        person.clocks += corrections
        rosters = store.rosters(min(stale), max(stale), staff=staff) if stale else []
        actions = store.judging_actions()
        leaves = effective_leave(policy, actions)
        judged = judge_days(policy, staff, stale, person, leaves, now, facts, rosters)
        start, end = month_span(policy, sites, month)
        patrol = store.findings(start, end, staff=staff)
        records = number_days(policy, staff, windows, kept | judged, actions, facts, patrol)
        store.keep_days(staff, month, basis, judged, set(kept) - set(windows), whole=whole)
        return _replace(store, staff, month, records)


def recompute_month(
    store: Store,
    policy: Policy,
    directory: Directory,
    month: str,
    now: datetime | None,
    staff: Iterable[str] = (),
) -> Change:
    """Re-evaluate a whole month (all staff, or those given) with one read of its events."""
    if _final(store, month):
        return [], []
    chosen = sorted(staff) or directory.judged_staff
    sites = {site for s in chosen for site in directory.sites_of(s)}
    if not sites:
        return [], []
    start, end = month_span(policy, sites, month)
    changed: list[ViolationRecord] = []
    withdrawn: list[ViolationRecord] = []
    with store.recomputing_month(month):
        grouped = group_by_person(store.events(start, end, kinds=PERSON_KINDS), directory)
        actions = store.actions()
        patrol = store.findings(start, end)
        days = month_days(month)
        rosters = store.rosters(days[0], days[-1])
        punches = [c for person in chosen if person in grouped for c in grouped[person].clocks]
        facts = stored_facts(store, policy, month, punches)
        for person, extra in attested(store, start, end).items():
            grouped.setdefault(person, PersonEvents()).clocks.extend(extra)
        leaves = effective_leave(policy, actions)
        for person in chosen:
            windows = judged_windows(policy, directory, person, month, facts)
            events = grouped.get(person, PersonEvents())
            judged = judge_days(policy, person, windows, events, leaves, now, facts, rosters)
            records = number_days(policy, person, windows, judged, actions, facts, patrol)
            basis = judging_basis(policy, directory, person)
            store.keep_days(person, month, basis, judged, whole=True)
            more, gone = _replace(store, person, month, records)
            changed += more
            withdrawn += gone
    return changed, withdrawn
