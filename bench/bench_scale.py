"""Scale-out benchmark: rules-service processes sharing one PostgreSQL.

1. Ingest throughput through real Mosquitto into the store (validate, store once, mark
   pending; messages acknowledged once stored) for 1, 2 and 3 `hallwatch rules run`
   processes in one `$share` group on one PostgreSQL, and one process on SQLite (the
   reference, measured in the same run); recomputation is held back during the burst, as
   in bench_rules.py. Then the instances are stopped: each judges pending person-months
   before it exits (sharing them out), and that time is printed too.
2. The cost of recomputing one person-month at the end of a month at the agents' real
   rate (an activity interval a minute over office hours), from PostgreSQL.
3. The projected capacity for 2,000 devices and 10,000 staff, with the arithmetic.

Run: .venv/bin/python bench/bench_scale.py [--events N] [--server URL]
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from bench_rules import MONTH, Arrivals, run_publisher, start_broker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo: tests.support
from mqtt import schema
from mqtt.client import topic_for
from mqtt.ids import new_event_id
from mqtt.schema import Action, Method
from rules.directory import Directory
from rules.engine import month_days
from rules.pgstore import PostgresStore
from rules.policy import Policy
from rules.recompute import recompute_person_month
from rules.simulate import generate_month
from tests.support.postgres import SERVER, scratch_schema

HALLWATCH = Path(sys.executable).with_name("hallwatch")

# The deployment the brief plans for, and the rates the defaults give.
DEVICES, STAFF = 2_000, 10_000
HEARTBEAT_S = 60.0  # station status (edge/station/config.py heartbeat_s)
AGENT_MAX_INTERVAL_S = 60.0  # an unchanged activity interval is closed after this (agent)
OUTINGS_PER_DAY = 0.5  # going out + back: a punch pair every other day, on average
RECOMPUTE_EVERY_S = 2.0  # rules service default (held back to 3600 s during a burst)


def start_instances(
    count: int,
    db: str,
    policy_file: Path,
    port: int,
    workdir: Path,
    settings: str = "recompute_every_s = 3600\n",
) -> list[subprocess.Popen]:
    """`count` instances in one group; `settings` are more [rules] lines (by default,
    recomputation held back)."""
    processes, logs = [], []
    for n in range(count):
        config = workdir / f"rules-{count}-{n}.toml"
        config.write_text(
            f'[broker]\nport = {port}\npersistent_session = false\n[rules]\ndb = "{db}"\n'
            f'policy = "{policy_file}"\ngroup = "bench"\nclient_id = "bench-{count}-{n}"\n'
            + settings
        )
        log = workdir / f"rules-{count}-{n}.log"
        with log.open("wb") as out:
            command = [str(HALLWATCH), "rules", "run", "--config", str(config)]
            processes.append(subprocess.Popen(command, stdout=out, stderr=out))
        logs.append(log)
    deadline = time.monotonic() + 60
    while not all("rules service up" in log.read_text() for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise RuntimeError("an instance did not start:\n" + logs[0].read_text())
        time.sleep(0.1)
    time.sleep(0.3)  # let the subscriptions settle
    return processes


def watch(count_rows: Callable[[str], int], arrivals: Arrivals, stop: threading.Event) -> None:
    """Feed `arrivals` from the number of stored events (what the instances committed)."""
    seen = 0
    while not stop.is_set():
        now = count_rows("events")
        if now > seen:
            arrivals.arrived(now - seen)
            seen = now
        time.sleep(0.02)


def ingest_run(
    count: int, db: str, count_rows: Callable[[str], int], sim_files, port: int, workdir: Path
) -> tuple[float, float]:
    """Events/s stored by `count` instances, and the seconds they take to judge every
    pending person-month and exit when stopped."""
    policy_file, burst, events = sim_files
    processes = start_instances(count, db, policy_file, port, workdir)
    arrivals = Arrivals(events)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(count_rows, arrivals, stop))
    watcher.start()
    try:
        run_publisher(port, burst, arrivals)
    finally:
        stop.set()
        watcher.join()
        start = time.perf_counter()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(300)
    judged_s = time.perf_counter() - start
    if count_rows("pending"):
        raise RuntimeError("person-months left unjudged after the instances stopped")
    return arrivals.rate(), judged_s


def person_month_at_agent_rate(policy: Policy, staff: str) -> list[schema.Event]:
    """One person's month: four punches a working day, an activity interval a minute."""
    site, device = Directory.from_policy(policy).workstations_of(staff)[0]
    events: list[schema.Event] = []

    def add(cls: type, ts: datetime, **fields) -> None:
        events.append(cls(id=new_event_id(), seq=len(events) + 1, site=site, ts=ts, **fields))

    for day in month_days(MONTH):
        for start, end in policy.session_bounds(site, day):
            add(schema.Punch, start - timedelta(minutes=3), device="st-01", staff_id=staff,
                action=Action.CLOCK_IN, method=Method.FACE, score=0.8)  # fmt: skip
            moment = start
            while moment < end:
                add(schema.Activity, moment + timedelta(seconds=AGENT_MAX_INTERVAL_S),
                    device=device, user=staff.lower(), start=moment,
                    duration_s=AGENT_MAX_INTERVAL_S, app="office", category="work", idle_s=0.0)  # fmt: skip
                moment += timedelta(seconds=AGENT_MAX_INTERVAL_S)
            add(schema.Punch, end + timedelta(minutes=2), device="st-01", staff_id=staff,
                action=Action.CLOCK_OUT, method=Method.FACE, score=0.8)  # fmt: skip
    return events


def recompute_cost(url: str, policy: Policy, staff: str) -> tuple[int, float]:
    events = person_month_at_agent_rate(policy, staff)
    store = PostgresStore(url)
    store.add_events(events)
    directory = Directory.from_policy(policy)
    recompute_person_month(store, policy, directory, staff, MONTH, None)  # warm up
    runs = 5
    start = time.perf_counter()
    for _ in range(runs):
        recompute_person_month(store, policy, directory, staff, MONTH, None)
    store.close()
    return len(events), (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in each burst")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server (URL)")
    args = parser.parse_args()
    sim = generate_month(MONTH, 500, seed=3)
    events = [e for e in sim.events if not isinstance(e, schema.Status)][: args.events]
    policy = sim.policy()
    rates: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        policy_file, _ = sim.write(workdir)
        burst = workdir / "burst.tsv"
        burst.write_bytes(
            b"".join(topic_for(e).encode() + b"\t" + schema.encode(e) + b"\n" for e in events)
        )
        files = (policy_file, burst, len(events))
        broker, port = start_broker(workdir)
        try:
            sqlite_db = workdir / "rules.db"

            def sqlite_rows(table: str) -> int:
                if not sqlite_db.exists():
                    return 0
                with sqlite3.connect(f"file:{sqlite_db}?mode=ro", uri=True) as conn:
                    try:
                        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    except sqlite3.OperationalError:  # tables not created yet
                        return 0

            rates["SQLite, 1 instance"] = ingest_run(
                1, str(sqlite_db), sqlite_rows, files, port, workdir
            )
            for count in (1, 2, 3):
                with scratch_schema(args.server) as url:
                    PostgresStore(url).close()  # tables first, so that counting can start
                    with psycopg.connect(url, autocommit=True) as peek:

                        def pg_rows(table: str, peek=peek) -> int:
                            return peek.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

                        rates[f"PostgreSQL, {count} instance{'s' * (count > 1)}"] = ingest_run(
                            count, url, pg_rows, files, port, workdir
                        )
        finally:
            broker.terminate()
            broker.wait(10)
    with scratch_schema(args.server) as url:
        per_month, recompute_s = recompute_cost(url, policy, "S00001")
    report(len(events), rates, per_month, recompute_s, policy, sim.site)


def report(
    burst: int,
    rates: dict[str, tuple[float, float]],
    per_month: int,
    recompute_s: float,
    policy: Policy,
    site: str,
) -> None:
    print(f"burst: {burst} contract payloads (clock/activity/alert) of 500 staff, QoS 1,")
    print(f"Mosquitto, publisher in its own process; {os.cpu_count()} cores shared by all")
    reference = rates["SQLite, 1 instance"][0]
    one = rates["PostgreSQL, 1 instance"][0]
    for name, (rate, judged_s) in rates.items():
        print(
            f"  {name:<26} {rate:>8,.0f} events/s  ({rate / reference:.2f} x SQLite, "
            f"{rate / one:.2f} x one PostgreSQL instance); judged and stopped in {judged_s:.1f} s"
        )
    best = max(rate for name, (rate, _) in rates.items() if name.startswith("PostgreSQL"))
    print(f"recompute one person-month at the agents' rate ({per_month:,} events), PostgreSQL:")
    print(f"  {recompute_s * 1000:.0f} ms")

    day = next(d for d in month_days(MONTH) if policy.session_bounds(site, d))
    sessions = policy.session_bounds(site, day)
    office_s = sum((end - start).total_seconds() for start, end in sessions)
    punches = 2 * len(sessions) + 2 * OUTINGS_PER_DAY
    activity = office_s / AGENT_MAX_INTERVAL_S
    per_staff = punches + activity
    per_device = 86_400 / HEARTBEAT_S
    daily = STAFF * per_staff + DEVICES * per_device
    peak = STAFF / AGENT_MAX_INTERVAL_S + DEVICES / HEARTBEAT_S
    print(f"projected load for {DEVICES:,} devices and {STAFF:,} staff:")
    print(
        f"  per staff a working day: {len(sessions)} sessions x 2 punches + "
        f"{OUTINGS_PER_DAY} outings x 2 = {punches:g} punches; {office_s / 3600:g} h office "
        f"/ {AGENT_MAX_INTERVAL_S:g} s intervals = {activity:g} activity -> {per_staff:g} events"
    )
    print(f"  per device a day: 86,400 s / {HEARTBEAT_S:g} s heartbeat = {per_device:g} status")
    print(
        f"  a day: {STAFF:,} x {per_staff:g} + {DEVICES:,} x {per_device:g} = {daily:,.0f} events"
    )
    print(
        f"  office-hours rate: {STAFF:,} / {AGENT_MAX_INTERVAL_S:g} s + {DEVICES:,} / "
        f"{HEARTBEAT_S:g} s = {peak:,.0f} events/s (punch peaks at session starts: "
        f"{STAFF:,} in ~15 min = {STAFF / 900:.0f}/s more)"
    )
    print(
        f"  ingest headroom: best measured {best:,.0f} events/s / {peak:,.0f} = "
        f"{best / peak:.0f} x; a 1 h outage backlog ({peak * 3600:,.0f} events) drains in "
        f"{peak * 3600 / best / 60:.1f} min"
    )
    dirty = STAFF / max(RECOMPUTE_EVERY_S, AGENT_MAX_INTERVAL_S)
    cpu = dirty * recompute_s
    print(
        f"  recomputation: every staff member has a new interval each "
        f"{AGENT_MAX_INTERVAL_S:g} s -> {dirty:,.0f} person-months/s x "
        f"{recompute_s * 1000:.0f} ms (month end) = {cpu:.1f} CPU-s per s"
    )
    every = STAFF * recompute_s  # one core's worth: each person-month at most this often
    print(
        f"  to keep that within one core, recompute_every_s >= {STAFF:,} x "
        f"{recompute_s:.3f} s = {every:,.0f} s (or spread it over instances: / N cores)"
    )


if __name__ == "__main__":
    main()
