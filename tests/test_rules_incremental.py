"""Incremental recomputation against a full replay, as a property: whatever arrives in
whatever order (late events, redeliveries), whatever managers do (void, correct, leave given
and cancelled, inspectors' findings, a posting moved mid-month, to a site of another zone)
and whenever it is judged, the service's path (stored by ingest with person-day marks,
recomputed by `flush` and by the managers' commands, re-judging only the marked days) gives
exactly the violations a full judgement of the month gives: after every step against a
store judged whole each time (`recompute_month`, the same history of numbers announced), and
at the end against a fresh store the month is replayed into.

CI runs 12 histories at a fixed seed; `pytest --incremental-examples N` runs more
(`--incremental-seed S` for another sequence).
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from datetime import date, datetime, timedelta
from unittest import mock

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from mqtt import schema
from mqtt.client import topic_for
from mqtt.schema import Action, AlertKind, LeaveKind, Method
from rules.acting import Actor, ManagementError
from rules.engine import ViolationRecord, month_days
from rules.ingest import Ingest
from rules.manage import Management
from rules.manager_actions import ActionRefused
from rules.recompute import recompute_month
from rules.store import SqliteStore, Store
from tests.rules_helpers import SITE, TZ, policy

MONTH = "2026-11"
EAST, WEST = SITE, "hall-02"  # Asia/Shanghai, Europe/Berlin
STATIONS = {EAST: "st-01", WEST: "st-02"}
POLICY = policy(
    sites={EAST: {"timezone": "Asia/Shanghai"}, WEST: {"timezone": "Europe/Berlin"}},
    windows=[
        {"id": "w1", "site": EAST, "staff": ["S1", "S2"], "workstations": {"ws-1": "S1"}},
        {"id": "w2", "site": EAST, "staff": ["S3"]},
        {"id": "w3", "site": WEST, "staff": []},
    ],
    grace={"settle_min": 30},
)
MANAGER = Actor("li", "cli")
START = datetime(2026, 10, 30, tzinfo=TZ)
END = datetime(2026, 12, 3, tzinfo=TZ)
TIMES = ["00:30", "08:40", "08:58", "09:20", "10:45", "11:30", "12:01", "13:25", "14:50"]
TIMES += ["16:30", "17:02", "17:40", "23:30"]
KINDS = ["in", "in", "out", "out", "going_out", "activity", "nonwork", "spoof", "fault"]
STAFF = ["S1", "S2", "S3"]

event_spec = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(STAFF),
    st.integers(0, 29),  # a day back from "now"
    st.sampled_from(TIMES),
    st.sampled_from([EAST, EAST, WEST]),
)
step = st.one_of(
    st.tuples(st.just("events"), st.lists(event_spec, min_size=1, max_size=10)),
    st.tuples(st.just("again"), st.lists(st.integers(0, 200), min_size=1, max_size=5)),
    st.tuples(st.just("advance"), st.integers(1, 96)),  # hours
    st.tuples(st.sampled_from(["void", "correct"]), st.integers(0, 50)),
    st.tuples(st.just("leave"), st.sampled_from(STAFF), st.integers(0, 29), st.integers(1, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 10)),
    st.tuples(st.just("finding"), st.sampled_from(STAFF), st.integers(0, 29)),
    st.tuples(st.just("move"), st.sampled_from(["w2", "w3", "w1"]), st.integers(0, 29)),
)


class Run:
    """One history: the service's store (incremental) and a store judged whole each step."""

    def __init__(self, tmp: object, store: Store | None = None) -> None:
        # The ids managers' commands give, in order: an example runs the same every time.
        ids = itertools.count()

        def next_id() -> str:
            return str(uuid.UUID(int=(0x0191 << 112) | next(ids)))

        self.ids = [
            mock.patch(f"{m}.new_event_id", next_id) for m in ("rules.acting", "rules.manage")
        ]
        for patch in self.ids:
            patch.start()
        self.now = datetime(2026, 11, 3, 9, 0, tzinfo=TZ)
        self.store = store or SqliteStore(f"{tmp}/incremental.db", synchronous="OFF")
        self.whole = SqliteStore(f"{tmp}/whole.db", synchronous="OFF")
        self.tmp = tmp
        ticks = iter(range(10**6))
        self.manage = Management(
            self.store, POLICY, now=lambda: self.now + timedelta(milliseconds=next(ticks))
        )
        self.ingest = Ingest(self.store, POLICY, self.store.directory, now=lambda: self.now)
        self.sent: list[schema.Event] = []
        self.event_ids = itertools.count()

    def close(self) -> None:
        for patch in self.ids:
            patch.stop()
        self.store.close()
        self.whole.close()

    def day(self, back: int) -> date:
        return max(self.now.date() - timedelta(days=back), date(2026, 11, 1))

    def event(self, kind: str, staff: str, back: int, hms: str, site: str) -> schema.Event:
        moment = datetime.combine(self.day(back), datetime.strptime(hms, "%H:%M").time(), TZ)
        event_id = str(uuid.UUID(int=(0x0190 << 112) | next(self.event_ids)))
        common = {"seq": 1, "event_id": event_id}
        station = STATIONS[site]
        if kind in ("in", "out", "going_out"):
            action = {"in": Action.CLOCK_IN, "out": Action.CLOCK_OUT}.get(kind, Action.LEAVE_OUT)
            leave = None
            if kind == "going_out":
                back_at = moment + timedelta(minutes=45)
                leave = schema.Leave(kind=LeaveKind.OUTING, reason="bank", expected_return=back_at)
            return schema.new_event(
                schema.Punch, site, station, moment, staff_id=staff, action=action,
                method=Method.FACE, score=0.8, leave=leave, **common,
            )  # fmt: skip
        if kind in ("activity", "nonwork"):
            return schema.new_event(
                schema.Activity, EAST, "ws-1", moment + timedelta(minutes=40), user="u1",
                start=moment, duration_s=2400, app="game" if kind == "nonwork" else "office",
                category="entertainment" if kind == "nonwork" else "work",
                idle_s=2400 if kind == "activity" else 0, **common,
            )  # fmt: skip
        if kind == "spoof":
            return schema.new_event(
                schema.Alert, site, station, moment, kind=AlertKind.SPOOF_SUSPECTED,
                severity=schema.Severity.SERIOUS, message="photo", staff_id=staff, **common,
            )  # fmt: skip
        health = schema.Health(clock_synced=False)
        return schema.new_event(
            schema.Status, site, station, moment, state="online", role="station",
            health=health, **common,
        )  # fmt: skip

    def deliver(self, events: list[schema.Event]) -> None:
        for event in events:
            self.ingest.handle(topic_for(event), schema.encode(event))
        while self.ingest.drain(timeout_s=0):
            pass

    def act(self, what: tuple) -> None:
        kind = what[0]
        if kind == "events":
            new = [self.event(*spec) for spec in what[1]]
            self.sent += new
            self.deliver(new)
        elif kind == "again" and self.sent:
            self.deliver([self.sent[n % len(self.sent)] for n in what[1]])
        elif kind == "advance":
            self.now = min(self.now + timedelta(hours=what[1]), END - timedelta(days=1))
        elif kind in ("void", "correct"):
            found = self.store.violations(month=MONTH)
            if found:
                target = found[what[1] % len(found)].violation_id
                with_reason = self.manage.void if kind == "void" else self.manage.correct
                self.attempt(with_reason, MANAGER, target, "核实")
        elif kind == "leave":
            start = datetime.combine(self.day(what[2]), datetime.min.time(), TZ)
            start += timedelta(hours=what[3] % 24)
            end = start + timedelta(hours=what[3])
            self.attempt(
                self.manage.add_leave, MANAGER, what[1], start, end, LeaveKind.PERSONAL, "事假"
            )
        elif kind == "cancel":
            granted = self.manage.leave()
            if granted:
                leave_id = granted[what[1] % len(granted)].leave_id
                self.attempt(self.manage.cancel_leave, MANAGER, leave_id, "取消")
        elif kind == "finding":
            at = datetime.combine(self.day(what[2]), datetime.min.time(), TZ) + timedelta(hours=10)
            site = sorted(self.store.directory().sites_of(what[1]))[0]
            self.attempt(
                self.manage.add_finding, MANAGER, site=site, rule="dress", note="未着装",
                staff=what[1], at=at,
            )  # fmt: skip
        elif kind == "move":
            self.attempt(
                self.manage.edit_staff, MANAGER, "S1", window=what[1], since=self.day(what[2])
            )

    @staticmethod
    def attempt(command, *args, **kwargs) -> None:
        # Refused: a serious violation's correction, a move to where they are, ...
        with contextlib.suppress(ManagementError, ActionRefused):
            command(*args, **kwargs)

    def judged_whole(self) -> list[tuple[ViolationRecord, str]]:
        """The month judged whole, on a store with the same events, actions and findings."""
        copy_into(self.store, self.whole)
        recompute_month(self.whole, POLICY, self.store.directory(), MONTH, self.now)
        return results(self.whole)

    def replayed(self) -> list[tuple[ViolationRecord, str]]:
        """The month replayed into a fresh store, with the numbers announced so far."""
        fresh = SqliteStore(f"{self.tmp}/fresh.db", synchronous="OFF")
        try:
            copy_into(self.store, fresh)
            for staff, numbers in self.store.numbers(MONTH).items():
                fresh.keep_numbers(staff, MONTH, numbers)
            recompute_month(fresh, POLICY, self.store.directory(), MONTH, self.now)
            return results(fresh)
        finally:
            fresh.close()


def copy_into(source: Store, target: Store) -> None:
    target.add_events(source.events(START, END))
    known = {a.action_id for a in target.actions()}
    for action in source.actions():
        if action.action_id not in known:
            target.add_action(action)
    kept = {f.finding_id for f in target.findings()}
    for finding in source.findings():
        if finding.finding_id not in kept:
            target.add_finding(finding)


def results(store: Store) -> list[tuple[ViolationRecord, str]]:
    """The month's violations, each with its time as stored (its offset included)."""
    found = sorted(store.violations(month=MONTH), key=lambda v: v.violation_id)
    return [(v, v.at.isoformat()) for v in found]


def test_incremental_recomputation_equals_a_full_replay(tmp_path_factory, pytestconfig):
    @seed(pytestconfig.getoption("--incremental-seed"))
    @settings(
        max_examples=pytestconfig.getoption("--incremental-examples"),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(step, min_size=4, max_size=14))
    def check(steps: list[tuple]) -> None:
        run = Run(tmp_path_factory.mktemp("run"))
        try:
            for n, what in enumerate(steps):
                run.act(what)
                run.ingest.flush()
                incremental = results(run.store)
                assert incremental == run.judged_whole(), f"after step {n}: {what}"
            assert results(run.store) == run.replayed()
        finally:
            run.close()

    check()


def test_a_late_event_re_judges_its_day_only(tmp_path):
    """The kept judgement of the other days is used as it is: a day judged at another site
    is judged again, one whose judgement holds is not."""
    run = Run(tmp_path)
    try:
        run.now = datetime(2026, 11, 20, 20, 0, tzinfo=TZ)
        run.act(("events", [("in", "S2", 19, "08:58", EAST)]))  # the hall's first punch
        run.ingest.flush()
        recompute_month(run.store, POLICY, run.store.directory(), MONTH, run.now)
        _, kept = run.store.day_judgements("S1", MONTH)
        assert sorted(kept) == month_days(MONTH)
        absences = [v for v in run.store.violations(staff="S1") if v.rule == "absence"]
        assert {v.day for v in absences} == {
            d for d in month_days(MONTH) if d <= date(2026, 11, 20) and POLICY.sessions(d)
        }
        run.act(("events", [("in", "S1", 3, "09:20", EAST)]))  # late, on the 17th
        assert run.store.pending() == [("S1", MONTH)]
        run.ingest.flush()
        assert run.store.pending() == []
        _, after = run.store.day_judgements("S1", MONTH)
        assert [d for d in month_days(MONTH) if after[d] != kept[d]] == [date(2026, 11, 17)]
        assert {v.rule for v in run.store.violations(staff="S1", day=date(2026, 11, 17))} >= {
            "late"
        }
        assert results(run.store) == run.judged_whole()
    finally:
        run.close()


HISTORY = [
    ("events", [("in", "S1", 2, "09:20", EAST), ("out", "S1", 2, "11:30", EAST)]),
    ("events", [("going_out", "S2", 1, "10:45", EAST), ("nonwork", "S1", 1, "13:25", EAST)]),
    ("advance", 30),
    ("events", [("in", "S2", 1, "12:01", EAST), ("spoof", "S3", 0, "14:50", EAST)]),
    ("again", [0, 2, 3]),
    ("void", 1),
    ("correct", 0),
    ("leave", "S2", 0, 8),
    ("finding", "S1", 1),
    ("move", "w3", 0),
    ("events", [("in", "S1", 0, "08:40", WEST), ("fault", "S1", 0, "08:58", WEST)]),
    ("cancel", 0),
    ("advance", 50),
    ("events", [("in", "S1", 3, "08:58", EAST)]),  # late, at the first site
]


def test_a_history_on_each_backend_equals_a_full_replay(store, tmp_path):
    """The service's store on SQLite and on PostgreSQL (instances sharing it)."""
    run = Run(tmp_path, store)
    try:
        for n, what in enumerate(HISTORY):
            run.act(what)
            run.ingest.flush()
            assert results(run.store) == run.judged_whole(), f"after step {n}: {what}"
        assert results(run.store) == run.replayed()
        assert {v.rule for v, _ in results(run.store)} >= {"absence", "dress", "spoof"}
        assert any(v.status == "voided" for v, _ in results(run.store))
    finally:
        run.close()
