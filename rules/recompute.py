"""Bring stored violations in line with stored events, per person-month or per month.

Each cycle reads, besides the events, the facts the engine needs from the store (first
punches, numbers announced, heartbeats near the punches), the inspectors' findings and the
duty rosters of the month, and keeps the numbers it gives.
Who works where is the `Directory` snapshot the caller gives (the same for a whole cycle).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from mqtt import schema
from rules.directory import Directory
from rules.engine import (
    Facts,
    PersonEvents,
    ViolationRecord,
    evaluate_person_month,
    group_by_person,
    month_days,
    staff_of,
)
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


def affected(event: schema.Event, policy: Policy, directory: Directory) -> tuple[str, str] | None:
    """The person-month (staff id, YYYY-MM) whose results an event can change."""
    staff = staff_of(event, directory)
    window = directory.home_window(staff) if staff else None
    if staff is None or window is None:
        return None
    moment = event.start if isinstance(event, schema.Activity) else event.ts
    return staff, month_of(moment.astimezone(policy.zone(window.site)).date())


Change = tuple[list[ViolationRecord], list[ViolationRecord]]


def stored_facts(
    store: Store, policy: Policy, month: str, punches: Iterable[schema.Punch]
) -> Facts:
    """What the engine needs from the store besides the events: first punches, the numbers
    announced in `month`, the heartbeats of the punches' devices around them."""
    reach = timedelta(minutes=policy.clocks.reach_min)
    near = [(p.site, p.device, p.ts) for p in punches]
    return Facts(store.first_punches(), store.numbers(month), store.statuses_near(near, reach))


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


def recompute_person_month(
    store: Store,
    policy: Policy,
    directory: Directory,
    staff: str,
    month: str,
    now: datetime | None,
    *,
    if_pending: bool = False,
) -> Change:
    """Re-evaluate one person-month from the store; return (changed, withdrawn).

    `if_pending`: only if it is still marked pending and no other instance is on it (one
    sharing the store may have recomputed it since it was listed, or be doing so).
    """
    sites = directory.sites_of(staff)
    with store.recomputing(staff, month, wait=not if_pending) as pending:
        if (if_pending and not pending) or _final(store, month) or not sites:
            return [], []  # (a final month's mark is cleared all the same)
        start, end = month_span(policy, sites, month)
        workstations = directory.workstations_of(staff)
        events = store.events(
            start, end, staff=staff, workstations=workstations, kinds=PERSON_KINDS
        )
        person = group_by_person(events, directory).get(staff, PersonEvents())
        facts = stored_facts(store, policy, month, person.clocks)
        person.clocks += attested(store, start, end, staff).get(staff, [])
        patrol = store.findings(start, end, staff=staff)
        days = month_days(month)
        rosters = store.rosters(days[0], days[-1], staff=staff)
        records = evaluate_person_month(
            policy, directory, staff, month, person, store.actions(), now, facts, patrol, rosters
        )
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
        for person in chosen:
            records = evaluate_person_month(
                policy,
                directory,
                person,
                month,
                grouped.get(person, PersonEvents()),
                actions,
                now,
                facts,
                patrol,
                rosters,
            )
            more, gone = _replace(store, person, month, records)
            changed += more
            withdrawn += gone
    return changed, withdrawn
