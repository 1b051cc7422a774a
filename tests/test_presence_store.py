"""The live hall read from a real store (SQLite and PostgreSQL): the day's events of the
site's zone, leave granted by managers, the directory kept in the store."""

from __future__ import annotations

from datetime import timedelta

from mqtt.schema import Action, LeaveKind
from rules.engine import Facts
from rules.manager_actions import LeaveRecord, ManagerAction
from rules.presence import hall_presence
from rules.presence_store import load_person, load_presence
from tests.rules_helpers import DAY, SITE, activity, at, clock, directory_of, going_out, policy

POLICY = policy()


def test_the_hall_as_the_store_has_it(store):
    assert store.seed_directory(directory_of(POLICY))
    directory = store.directory()
    yesterday = DAY - timedelta(days=1)
    events = [
        clock("08:50", staff="S1", day=yesterday),  # another day: not today's
        clock("08:55", staff="S1"),
        activity("09:00", 60, idle_min=40),  # S1's workstation, idle
        clock("08:58", staff="S3"),
        going_out("09:30", "10:30", staff="S3"),
    ]
    store.add_events(events)
    leave = LeaveRecord("lv-1", "S2", at("00:00"), at("23:59"), LeaveKind.SICK, "flu")
    store.add_action(
        ManagerAction("a-1", at("08:00"), "wang", "leave_add", "lv-1", "flu", leave=leave)
    )
    now = at("10:00")
    hall = load_presence(store, POLICY, directory, SITE, now)
    states = {p.staff_id: p.state for w in hall.windows for p in w.staff}
    assert states == {"S1": "away", "S2": "on_leave", "S3": "out"}
    assert hall.person("S1").punches == (events[1],)
    facts = Facts(first_punch=store.first_punches())
    assert hall == hall_presence(POLICY, directory, SITE, events, [leave], now, facts)
    s1 = load_person(store, POLICY, directory, SITE, "S1", now)
    assert s1 == hall.person("S1")
    assert load_person(store, POLICY, directory, SITE, "S2", now) == hall.person("S2")
    store.add_events([clock("10:05", Action.LEAVE_RETURN, staff="S3")])
    assert load_person(store, POLICY, directory, SITE, "S3", at("10:06")).state == "at_post"
