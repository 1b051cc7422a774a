"""Recomputation before and after incremental evaluation, in one run (SQLite store).

1. One late event (a late clock-in) at day 1 and at day 28 of a filled month: the
   person-month judged whole (before) against re-judging the marked day and numbering the
   month from the kept days (after), as `Ingest.flush` does. Target: equal, under 2 ms.
2. Month-end: every person's last day settled, for N staff: the month judged whole
   (`recompute_month`, one read of the month) against one re-judged day per person.
3. The monthly sheet of N staff: scored from the month's violations (before) against
   from the person-month tallies kept with them (after, `load_sheet`); both weigh the
   same judged working days and patrol findings (`sheet_basis`), timed apart.
4. The projected capacity of one rules instance, with its arithmetic: events a day at the
   seed's traffic (2,000 devices, 10,000 staff, a station per 50 staff: an activity
   interval a minute at each workstation over `--office-hours`, four punches a person, a
   heartbeat a device a minute), stored at `--ingest-eps` (bench_rules.py's figure through
   Mosquitto), and each flush (`--flush-s`) re-judging the person-days touched since, at
   the cost measured in 1 (day 28).

Run: .venv/bin/python bench/bench_incremental.py [--staff N] [--repeat R]
     [--ingest-eps 10790] [--office-hours 8] [--heartbeat-s 60] [--activity-s 60]
     [--flush-s 2]
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
from rules.scoring import load_sheet, score_month, sheet_basis
from rules.simulate import generate_month
from rules.store import SqliteStore

MONTH = "2026-10"
SEED_STAFF, SEED_DEVICES = 10_000, 2_000
STAFF_PER_STATION = 50
PUNCHES_A_DAY = 4


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


def sheet_cost(
    store: SqliteStore, policy: Policy, directory: Directory, repeat: int
) -> tuple[float, float, float]:
    """(basis, before, after): the shared judged days and findings, the sheet scored from
    the month's violations, and from the tallies (each with the basis read again)."""
    basis = timed(lambda: sheet_basis(store, policy, directory, MONTH), repeat)

    def from_violations() -> object:
        rows = store.violations(month=MONTH)
        return score_month(policy, directory, rows, *sheet_basis(store, policy, directory, MONTH))

    before = timed(from_violations, repeat)
    after = timed(lambda: load_sheet(store, policy, directory, MONTH), repeat)
    if from_violations() != load_sheet(store, policy, directory, MONTH):
        raise SystemExit("the sheet from the tallies differs from the sheet of the violations")
    return basis, before, after


def capacity(args: argparse.Namespace, per_late_event: float) -> None:
    """Print the projected capacity of one instance, with its arithmetic."""
    office_s = args.office_hours * 3600
    agents = SEED_DEVICES - SEED_STAFF // STAFF_PER_STATION  # one station per 50 staff
    activity = agents * office_s / args.activity_s  # an interval a minute at each workstation
    punches = SEED_STAFF * PUNCHES_A_DAY
    heartbeats = SEED_DEVICES * 24 * 3600 / args.heartbeat_s
    events = activity + punches + heartbeats
    ingest_s = events / args.ingest_eps
    # Recomputed at each flush: every person-day with an event since the last one, once.
    flushes = office_s / args.flush_s
    per_flush = min(SEED_STAFF, (activity + punches) / flushes)
    recompute_s = flushes * per_flush * per_late_event
    busy = (ingest_s + recompute_s) / office_s
    print(f"projected capacity of one rules instance (seed: {SEED_DEVICES:,} devices, "
          f"{SEED_STAFF:,} staff, {args.office_hours:g} office hours = {office_s:,.0f} s):")  # fmt: skip
    print(f"  events a day: {agents:,} workstations x {office_s / args.activity_s:.0f} intervals "
          f"(one every {args.activity_s:g} s) = {activity:,.0f}; {SEED_STAFF:,} staff x "
          f"{PUNCHES_A_DAY} punches = {punches:,.0f}; {SEED_DEVICES:,} devices x "
          f"{24 * 3600 / args.heartbeat_s:.0f} heartbeats = {heartbeats:,.0f}; "
          f"total {events:,.0f}")  # fmt: skip
    print(f"  ingest: {events:,.0f} / {args.ingest_eps:,.0f} events/s = {ingest_s:,.0f} s")
    print(f"  recompute, each flush (every {args.flush_s:g} s: {flushes:,.0f}) re-judging the "
          f"person-days touched since ({per_flush:,.0f}) at {per_late_event * 1e3:.2f} ms: "
          f"{flushes:,.0f} x {per_flush:,.0f} x {per_late_event * 1e3:.2f} ms = "
          f"{recompute_s:,.0f} s")  # fmt: skip
    print(f"  busy: ({ingest_s:,.0f} + {recompute_s:,.0f}) / {office_s:,.0f} = {busy:.1%} of "
          f"one instance")  # fmt: skip
    print(f"  capacity of one instance: {SEED_STAFF:,} / {busy:.3f} = {SEED_STAFF / busy:,.0f} "
          f"staff ({SEED_DEVICES / busy:,.0f} devices) at this traffic")  # fmt: skip
    print(f"  catch-up: a block of devices a day offline recomputes at {1 / per_late_event:,.0f} "
          f"person-days/s, ingests at {args.ingest_eps:,.0f} events/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=200, help="staff of the hall (200)")
    parser.add_argument("--repeat", type=int, default=30, help="late events timed (30)")
    parser.add_argument(
        "--ingest-eps", type=float, default=10_790,
        help="events/s one instance stores through the broker (10790: bench_rules.py)",
    )  # fmt: skip
    parser.add_argument("--office-hours", type=float, default=8, help="of a day (8)")
    parser.add_argument("--heartbeat-s", type=float, default=60, help="a device's (60)")
    parser.add_argument(
        "--activity-s", type=float, default=60,
        help="seconds between a workstation's activity intervals (60: the agent's max_interval_s)",
    )  # fmt: skip
    parser.add_argument(
        "--flush-s", type=float, default=2, help="recompute_every_s of the service (2)"
    )
    args = parser.parse_args()
    if args.staff < 2 * args.repeat + 1:
        parser.error("--staff must be more than twice --repeat (each late event is another's)")
    sim = generate_month(MONTH, args.staff)
    policy = sim.policy()
    directory = Directory.from_policy(policy)
    staff = directory.judged_staff
    with tempfile.TemporaryDirectory() as workdir:
        store = SqliteStore(f"{workdir}/rules.db", synchronous="OFF")
        start = time.perf_counter()
        store.add_events(sim.events)
        stored = len(sim.events) / (time.perf_counter() - start)
        print(
            f"{len(sim.events):,} events of {len(staff):,} staff in {MONTH} "
            f"(stored at {stored:,.0f} events/s, the store alone)"
        )
        before_all, after_all = month_end_cost(store, policy, directory, staff)
        print(f"one late event (median of {args.repeat}, each another person's):")
        after = 0.0
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
        sheets = max(1, min(5, 2_000 // len(staff)))
        basis, before, after_sheet = sheet_cost(store, policy, directory, sheets)
        print(f"monthly sheet of {len(staff):,} staff (median of {sheets}; identical sheets):")
        print(
            f"  before {before:7.3f} s (the month's violations)  after {after_sheet:7.3f} s "
            f"(the tallies)  {before / after_sheet:5.1f}x; of which {basis:.3f} s both spend "
            "on the judged working days and findings"
        )
        store.close()
    capacity(args, after)


if __name__ == "__main__":
    main()
