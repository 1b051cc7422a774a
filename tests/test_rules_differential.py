"""The engine against an independent evaluator written from docs/rules.md alone.

Random person-months, each under a random policy (grace periods, allowances, the
correction allowance), go-live and employment dates: arrivals and departures at and
around every boundary, out-and-backs, going-outs with every kind of return (none, early,
on the tolerance, overdue, beyond the absence limit, after the session, as a clock-in or a
clock-out), leave, spoofing bursts, stray punches, judged at a random "now" or as settled,
redelivered and shuffled; half of them arrive in two parts, the numbers announced after
the first kept for the second. Zero disagreements.

CI runs `DEFAULT_MONTHS` at a fixed seed; `pytest --differential-months N` runs more
(`--differential-seed S` for another sequence).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest

from mqtt import schema
from mqtt.ids import new_event_id
from mqtt.schema import Action, AlertKind, LeaveKind, Method
from rules.directory import Directory
from rules.engine import (
    Facts,
    PersonEvents,
    evaluate_person_month,
    group_by_person,
    judged_workdays,
)
from rules.manager_actions import LeaveRecord, ManagerAction
from rules.policy import Policy
from rules.scoring import score_month
from tests import regime_oracle as oracle

DEFAULT_MONTHS = 1500
SITE = "hall-01"
STAFF = "S1"
MONTHS = ["2026-11", "2026-10", "2026-02"]


def random_policy(rng: random.Random) -> Policy:
    employment = {}
    if rng.random() < 0.3:
        employment["first_day"] = f"2026-{rng.choice(['02', '10', '11'])}-{rng.randint(1, 28):02d}"
    if rng.random() < 0.3:
        employment["last_day"] = f"2026-{rng.choice(['02', '10', '11'])}-{rng.randint(1, 28):02d}"
    if employment.get("last_day", "9") < employment.get("first_day", "0"):
        employment.pop("last_day")
    return Policy.model_validate(
        {
            "sites": {SITE: {"timezone": rng.choice(["Asia/Shanghai", "Europe/Berlin"])}},
            "windows": [
                {"id": "w1", "site": SITE, "staff": [STAFF], "employment": {STAFF: employment}}
            ],
            "grace": {
                "late_min": rng.choice([5, 10]),
                "early_min": rng.choice([5, 15]),
                "absent_late_min": rng.choice([60, 30]),
                "outing_overdue_min": rng.choice([10, 0]),
                "settle_min": rng.choice([30, 5]),
                "incident_min": rng.choice([5, 1]),
            },
            "outing": {
                "allowed_min": {"outing": 60, "personal": 120, "sick": 240, "official": 480}
            },
            "corrections": {
                "allowance": rng.choice([3, 1, 0]),
                "escalated_deduction": rng.choice([None, 10]),
            },
            "calendar": {"holidays": ["2026-10-01", "2026-10-02"], "workdays": ["2026-10-10"]},
        }
    )


class PersonMonth:
    """One random person-month: events, leave, go-live and the moment it is judged."""

    def __init__(self, rng: random.Random, policy: Policy, month: str) -> None:
        self.rng, self.policy, self.month = rng, policy, month
        self.zone = policy.zone(SITE)
        self.events: list[schema.Event] = []
        self.leaves: list[LeaveRecord] = []
        days = oracle.days_of(month)
        # None: the site never received a punch (and has no go-live date): not live.
        starts = [days[0] - timedelta(days=3)] * 5 + [rng.choice(days)] * 4 + [None]
        self.live_from = rng.choice(starts)
        for day in days:
            if policy.calendar.is_workday(day) and rng.random() < 0.85:
                self.day(day)
        self.now = None if rng.random() < 0.6 else self.moment(rng.choice(days), 7 * 60, 22 * 60)

    # -- building blocks -----------------------------------------------------------------
    def moment(self, day: date, lo_min: float, hi_min: float) -> datetime:
        seconds = self.rng.randint(int(lo_min * 60), int(hi_min * 60))
        return datetime.combine(day, time(), self.zone) + timedelta(seconds=seconds)

    def punch(self, ts: datetime, action: Action, leave: schema.Leave | None = None) -> None:
        self.events.append(
            schema.Punch(
                id=new_event_id(),
                seq=1,
                site=SITE,
                device="st-01",
                ts=ts,
                staff_id=STAFF,
                action=action,
                method=Method.FINGER,
                score=80,
                leave=leave,
            )
        )

    def near(self, moment: datetime, grace_min: float, limit_min: float) -> datetime:
        """A moment at or around the boundaries after `moment` (grace and limit)."""
        g, lim = timedelta(minutes=grace_min), timedelta(minutes=limit_min)
        second = timedelta(seconds=1)
        choices = [
            -timedelta(minutes=10),
            timedelta(0),
            g,
            g + second,
            (g + lim) / 2,
            lim,
            lim + second,
            lim + timedelta(minutes=30),
        ]
        return moment + self.rng.choice(choices)

    # -- a day -----------------------------------------------------------------------------
    def day(self, day: date) -> None:
        rng, g = self.rng, self.policy.grace
        bounds = [
            (datetime.combine(day, s.start, self.zone), datetime.combine(day, s.end, self.zone))
            for s in self.policy.sessions(day)
        ]
        for start, end in bounds:
            if rng.random() < 0.08:
                continue  # skipped the session
            if rng.random() < 0.93:
                self.punch(self.near(start, g.late_min, g.absent_late_min), Action.CLOCK_IN)
            if rng.random() < 0.12:
                out = start + timedelta(minutes=rng.randint(10, 200))
                self.punch(out, Action.CLOCK_OUT)
                self.punch(out + timedelta(minutes=rng.choice([1, 4, 30, 400])), Action.CLOCK_IN)
            if rng.random() < 0.3:
                self.outing(day, start, end, bounds)
            if rng.random() < 0.93:
                leaving = end - (self.near(start, g.early_min, 40) - start)
                self.punch(leaving, Action.CLOCK_OUT)
        if rng.random() < 0.1:
            self.punch(self.moment(day, 6 * 60, 20 * 60), rng.choice(list(Action)[:2]))
        if rng.random() < 0.06:
            self.leave(day, bounds)
        if rng.random() < 0.05:
            self.spoofing(day)

    def outing(self, day: date, start: datetime, end: datetime, bounds) -> None:
        rng, g = self.rng, self.policy.grace
        kind = rng.choice(list(LeaveKind))
        out = rng.choice([start + (end - start) * rng.random(), end - timedelta(minutes=10)])
        promised = rng.choice(
            [
                *(out + timedelta(minutes=m) for m in (15, 45, 90, 200, 300, 500)),
                end,  # exactly the end of the session gone out from
                *(moment for bound in bounds for moment in bound if moment > out),
            ]
        )
        allowance = timedelta(minutes=self.policy.outing.allowed_min[kind])
        allowed = min(promised, out + allowance)
        leave = schema.Leave(kind=kind, reason="errand", expected_return=promised)
        self.punch(out, Action.LEAVE_OUT, leave)
        returns = [
            None,
            allowed - timedelta(minutes=5),
            self.near(allowed, g.outing_overdue_min, g.absent_late_min),
            end + timedelta(minutes=5),
            bounds[-1][0] + timedelta(minutes=rng.choice([0, 20, 70])),
        ]
        back = rng.choice(returns)
        if back is not None and back.date() == out.date() and back > out:
            self.punch(back, rng.choice([Action.LEAVE_RETURN, Action.CLOCK_IN, Action.CLOCK_OUT]))

    def leave(self, day: date, bounds) -> None:
        start, end = self.rng.choice(bounds)
        span = self.rng.choice(
            [(start, end), (start, start + (end - start) / 3), (end - (end - start) / 4, end)]
        )
        self.leaves.append(LeaveRecord(f"lv-{new_event_id()[-12:]}", STAFF, *span, LeaveKind.SICK))

    def spoofing(self, day: date) -> None:
        ts = self.moment(day, 8 * 60, 17 * 60)
        device = self.rng.choice(["st-01", "st-02"])
        for _ in range(self.rng.randint(1, 6)):
            ts += timedelta(seconds=self.rng.choice([1, 2, 59, 60, 61, 299, 300, 301]))
            self.events.append(
                schema.Alert(
                    id=new_event_id(),
                    seq=1,
                    site=SITE,
                    device=device,
                    ts=ts,
                    kind=self.rng.choice([AlertKind.SPOOF_SUSPECTED, AlertKind.PROXY_PUNCH]),
                    severity=schema.Severity.SERIOUS,
                    message="liveness check failed",
                    staff_id=STAFF,
                )
            )

    # -- judged by both --------------------------------------------------------------------
    def delivered(self, events: list[schema.Event]) -> list[schema.Event]:
        """With redeliveries, in any order."""
        copies = events + self.rng.sample(events, len(events) // 4)
        self.rng.shuffle(copies)
        return copies

    def engine(self, events, announced=None):
        first = datetime.combine(self.live_from, time(12), self.zone) if self.live_from else None
        facts = Facts({SITE: first} if first else {}, {STAFF: announced or {}})
        actions = [
            ManagerAction(f"a{n}", lv.start, "boss", "leave_add", lv.leave_id, "sick", lv)
            for n, lv in enumerate(self.leaves)
        ]
        directory = Directory.from_policy(self.policy)
        person = group_by_person(self.delivered(events), directory).get(STAFF, PersonEvents())
        records = evaluate_person_month(
            self.policy, directory, STAFF, self.month, person, actions, self.now, facts
        )
        return records, facts

    def oracle(self, events, announced=None):
        live = self.live_from or date.max
        leaves = [(lv.start, lv.end) for lv in self.leaves]
        return oracle.judge_month(
            self.policy,
            Directory.from_policy(self.policy),
            STAFF,
            self.month,
            self.delivered(events),
            leaves,
            live,
            self.now,
            announced,
        )


def marks(record) -> tuple:
    return record.correction_no, record.escalated, record.veto


def comparable_engine(records) -> list[tuple]:
    return sorted(
        (r.day, r.rule, r.at, frozenset(r.evidence), r.severity, r.deduction, *marks(r))
        for r in records
    )


def comparable_oracle(verdicts) -> list[tuple]:
    return sorted(
        (v.day, v.rule, v.at, v.evidence, v.severity, v.deduction, v.number, v.escalated, v.veto)
        for v in verdicts
    )


def _diff(case: PersonMonth) -> str:
    engine = comparable_engine(case.engine(case.events)[0])
    documented = comparable_oracle(case.oracle(case.events))
    lines = [f"now={case.now} live_from={case.live_from} policy={case.policy.grace}"]
    lines += [f"  engine only:     {row}" for row in engine if row not in documented]
    lines += [f"  documents only:  {row}" for row in documented if row not in engine]
    return "\n".join(lines)


def check(case: PersonMonth) -> None:
    records, facts = case.engine(case.events)
    verdicts = case.oracle(case.events)
    assert comparable_engine(records) == comparable_oracle(verdicts)
    directory = Directory.from_policy(case.policy)
    days = judged_workdays(case.policy, directory, STAFF, case.month, facts)
    people, _ = score_month(case.policy, directory, records, {STAFF: days})
    if people:
        assert (people[0].score, people[0].vetoed) == oracle.score(verdicts)
    if case.rng.random() < 0.5:
        # In two parts: what was announced after the first keeps its numbers.
        first = case.rng.sample(case.events, len(case.events) // 2)
        early, _ = case.engine(first)
        announced = {r.violation_id: r.correction_no for r in early if r.correction_no}
        told = {
            (v.day, v.rule, v.what): v.number for v in case.oracle(first) if v.number is not None
        }
        later, _ = case.engine(case.events, announced)
        assert comparable_engine(later) == comparable_oracle(case.oracle(case.events, told))


@pytest.fixture(scope="module")
def months(request) -> tuple[int, int]:
    return request.config.getoption("differential_months"), request.config.getoption(
        "differential_seed"
    )


def test_the_engine_agrees_with_the_documented_rules(months):
    count, seed = months
    rng = random.Random(seed)
    checked = 0
    for n in range(count):
        case_seed = rng.getrandbits(32)
        case_rng = random.Random(case_seed)
        case = PersonMonth(case_rng, random_policy(case_rng), MONTHS[n % len(MONTHS)])
        try:
            check(case)
        except AssertionError:
            pytest.fail(
                f"disagreement on person-month {n} (case seed {case_seed}):\n" + _diff(case)
            )
        checked += 1
    assert checked == count
