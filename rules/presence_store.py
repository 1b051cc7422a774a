"""What the live hall reads from the rules store: one site's day, judged by rules/presence.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from mqtt import schema
from rules.directory import Directory
from rules.engine import Facts, PersonEvents, group_by_person
from rules.manager_actions import effective_leave
from rules.policy import Policy
from rules.presence import HallNow, PersonNow, hall_presence, local_day, person_presence
from rules.store import Store

# What presence reads: punches, workstation activity, alerts (not statuses or verdicts).
PRESENCE_KINDS = ("clock", "activity", "alert")


def day_span(policy: Policy, site: str, now: datetime) -> tuple[datetime, datetime]:
    """The local day of `site` that `now` falls on, as instants."""
    start = datetime.combine(local_day(policy, site, now), time(), policy.zone(site))
    return start, start + timedelta(days=1)


def _facts(store: Store) -> Facts:
    return Facts(first_punch=store.first_punches())


def load_presence(
    store: Store, policy: Policy, directory: Directory, site: str, now: datetime
) -> HallNow:
    """The hall at `now`: the day's events (of every site: a person's punches count
    wherever the engine counts them), the leave in force and the site's go-live."""
    start, end = day_span(policy, site, now)
    events = store.events(start, end, kinds=PRESENCE_KINDS)
    leaves = effective_leave(policy, store.actions())
    return hall_presence(policy, directory, site, events, leaves, now, _facts(store))


def load_person(
    store: Store,
    policy: Policy,
    directory: Directory,
    site: str,
    staff: str,
    now: datetime,
    also: Iterable[schema.Event] = (),
) -> PersonNow | None:
    """One person's row at `now`, reading only their events (and their workstations').
    `also`: events just received that the store may not have yet (the live hall hears a
    punch as the rules service does); one already stored counts once (by its id)."""
    start, end = day_span(policy, site, now)
    events = store.events(
        start, end, staff=staff, workstations=directory.workstations_of(staff), kinds=PRESENCE_KINDS
    )
    person = group_by_person([*events, *also], directory).get(staff)
    leaves = [lv for lv in effective_leave(policy, store.actions()) if lv.staff_id == staff]
    return person_presence(
        policy, directory, site, staff, person or PersonEvents(), leaves, now, _facts(store)
    )
