"""Recomputation before and after incremental evaluation, in one run (SQLite store).

1. One late event (a late clock-in) at day 1 and at day 28 of a filled month: the
   person-month judged whole (before) against re-judging the marked day and numbering the
   month from the kept days (after), as `Ingest.flush` does. Target: equal, under 2 ms.
2. Month-end: every person's last day settled, for N staff: the month judged whole
   (`recompute_month`, one read of the month) against one re-judged day per person.

Run: .venv/bin/python bench/bench_incremental.py [--staff N] [--repeat R]
     (--staff 10000 for the seed's city; the default is small)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta

from mqtt import schema
from mqtt.schema import Action, Method
from rules.directory import Directory
from rules.engine import month_days
from rules.policy import Policy
from rules.recompute import affected, recompute_month, recompute_person_month
from rules.simulate import generate_month
from rules.store import SqliteStore

MONTH = "2026-10"


def working_day(policy: Policy, near: int, step: int) -> date:
    """The working day nearest `near` of the month, looking `step` days at a time."""
    days = {d.day: d for d in month_days(MONTH)}
    while not policy.sessions(days[near]):
        near += step
    return days[near]


def late_punch(policy: Policy, site: str, staff: str, day: date, n: int) -> schema.Punch:
    start, _ = policy.session_bounds(site, day)[0]
    return schema.new_event(
        schema.Punch, site, "st-01", start + timedelta(minutes=20, seconds=n), seq=1,
        staff_id=staff, action=Action.CLOCK_IN, method=Method.FACE, score=0.8,
    )  # fmt: skip


def timed(work: Callable[[], object], repeat: int) -> float:
    """The median of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def late_event_cost(
    store: SqliteStore, policy: Policy, directory: Directory, day: date, repeat: int
) -> tuple[float, float]:
    """(before, after): a late event's recomputation, judged whole and day by day; each
    time another person's (the month of each judged day by day beforehand)."""
    people = iter(directory.judged_staff)

    def arrive() -> str:
        staff = next(people)
        late = late_punch(policy, directory.home_window(staff).site, staff, day, 0)
        store.add_events([late], lambda event: affected(event, policy, directory))
        return staff

    def whole() -> None:
        recompute_person_month(store, policy, directory, arrive(), MONTH, None)

    def incremental() -> None:
        staff = arrive()
        recompute_person_month(
            store, policy, directory, staff, MONTH, None, if_pending=True, days=()
        )

    whole()  # warm up
    before = timed(whole, repeat)
    after = timed(incremental, repeat)
    return before, after


def month_end_cost(
    store: SqliteStore, policy: Policy, directory: Directory, staff: list[str]
) -> tuple[float, float]:
    """(before, after): the month judged whole, and each person's last day re-judged."""
    last = month_days(MONTH)[-1]
    start = time.perf_counter()
    recompute_month(store, policy, directory, MONTH, None)
    before = time.perf_counter() - start
    start = time.perf_counter()
    for person in staff:
        recompute_person_month(store, policy, directory, person, MONTH, None, days=[last])
    return before, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=200, help="staff of the hall (200)")
    parser.add_argument("--repeat", type=int, default=30, help="late events timed (30)")
    args = parser.parse_args()
    if args.staff < 2 * args.repeat + 1:
        parser.error("--staff must be more than twice --repeat (each late event is another's)")
    sim = generate_month(MONTH, args.staff)
    policy = sim.policy()
    directory = Directory.from_policy(policy)
    staff = directory.judged_staff
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(f"{workdir}/rules.db", synchronous="OFF")
        store.add_events(sim.events)
        print(f"{len(sim.events):,} events of {len(staff):,} staff in {MONTH}")
        before_all, after_all = month_end_cost(store, policy, directory, staff)
        print(f"one late event (median of {args.repeat}, each another person's):")
        for near, step in ((1, 1), (28, -1)):
            day = working_day(policy, near, step)
            before, after = late_event_cost(store, policy, directory, day, args.repeat)
            print(
                f"  day {day.day:2d}: before {before * 1e3:6.2f} ms (person-month judged whole)"
                f"  after {after * 1e3:5.2f} ms (its day)  {before / after:5.1f}x"
            )
        print(f"month-end recomputation of {len(staff):,} staff:")
        print(
            f"  before {before_all:7.2f} s (month judged whole)  after {after_all:7.2f} s "
            f"(last day per person)  {before_all / after_all:5.1f}x"
        )
        store.close()


if __name__ == "__main__":
    main()
