"""Soak run: a day of simulated devices at the seed's scale against several rules instances.

Devices (bench/soak_devices.py: the real journal, publisher and MQTT client, many per
process) play one office day of a hall compressed into `--minutes`: 5 staff a device as
in the seed (10,000 staff for 2,000 devices), a clock station per 50 staff punching at
session edges, the other devices workstation agents sending an activity interval a
minute while their person works at it (rules/simulate.py's day: late arrivals, outings,
games and idling included). A block of devices (`--offline`, 20 %) journals without a
connection for the first half, then all of them connect at once and catch up. Against
them: `--instances` `hallwatch rules run` processes in one shared group on one PostgreSQL
(a scratch schema, dropped after) and a private Mosquitto, asking devices for gaps
after a few seconds (the devices answer).

Printed over time: events/s journaled and stored, lag from an event's journaling to the
publication of the violation it is evidence of (median, p95), the recompute queue (the
store's pending marks), memory (RSS) of each process. At the end it checks that every
journaled event is stored exactly once (ids and payloads) and that the violations equal
a clean replay of the journaled events (rules/replay.py, a new SQLite store); exit 1 if
not.

Run: .venv/bin/python bench/soak.py [--devices 2000] [--minutes 10] [--instances 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import msgspec
import psutil
import psycopg
from bench_rules import start_broker
from bench_scale import start_instances

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo: tests.support
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import new_event_id, utc_now
from mqtt.topics import CENTRAL, Kind, subscription
from rules.directory import Directory
from rules.pgstore import PostgresStore
from rules.policy import Policy
from rules.replay import replay
from rules.simulate import PER_STATION, Simulation, generate_day
from rules.store import SqliteStore
from tests.support.postgres import SERVER, scratch_schema

SITE = "hall-01"
STAFF_PER_DEVICE = 5  # the seed: 10,000 staff, 2,000 devices
RESEND_AFTER_S = 3.0  # a gap this old is asked for (the service's default is 60 s)
FOLD_EVERY_S = 5.0  # rules/delivery_watch.py: how often an instance looks for gaps
DEVICES_SCRIPT = Path(__file__).with_name("soak_devices.py")


# -- the traffic -----------------------------------------------------------------------
@dataclass
class Plan:
    sim: Simulation
    day: date
    events: list[schema.Event]  # time order
    devices: list[str]
    agents: int
    offline: list[str]


def office_day(policy: Policy) -> date:
    """The last day before today (the site's) with sessions: a whole day, all settled."""
    day = datetime.now(policy.zone(SITE)).date() - timedelta(days=1)
    while not policy.session_bounds(SITE, day):
        day -= timedelta(days=1)
    return day


def per_minute(activity: schema.Activity) -> list[schema.Activity]:
    """An interval as an agent sends it: one a minute (the agent's longest)."""
    minutes = max(1, round(activity.duration_s / 60))
    idle = activity.idle_s / minutes
    return [
        msgspec.structs.replace(
            activity,
            id=new_event_id(),
            ts=activity.start + timedelta(minutes=n + 1),
            start=activity.start + timedelta(minutes=n),
            duration_s=60.0,
            idle_s=idle,
        )
        for n in range(minutes)
    ]


def plan(devices: int, offline_share: float, seed: int) -> Plan:
    staff = devices * STAFF_PER_DEVICE
    stations = -(-staff // PER_STATION)
    agents = devices - stations
    if agents < 1:
        raise SystemExit(f"--devices {devices}: too few for a station and an agent")
    day = office_day(generate_day(date.today(), 1, site=SITE).policy())
    sim = generate_day(day, staff, seed=seed, site=SITE)
    everyone = [s for members in sim.windows.values() for s in members]
    with_agent = {f"ws-{s.lower()}" for s in everyone[:: staff // agents][:agents]}
    events: list[schema.Event] = []
    for event in sim.events:
        if not isinstance(event, schema.Activity):
            events.append(event)
        elif event.device in with_agent:
            events.extend(per_minute(event))
    events.sort(key=lambda e: e.ts)
    names = sorted({e.device for e in events if e.device.startswith("st-")} | with_agent)
    offline = sorted(random.Random(seed).sample(names, round(len(names) * offline_share)))
    return Plan(sim, day, events, names, agents, offline)


# -- the device processes --------------------------------------------------------------
class Devices:
    """One soak_devices.py process and what it last said."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(DEVICES_SCRIPT), str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.said: set[str] = set()
        self.journaled = self.acked = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            words = line.split()
            if words and words[0] == "P":
                self.journaled, self.acked = int(words[1]), int(words[2])
            elif words:
                self.said.add(words[0])

    def tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()


def start_devices(
    the_plan: Plan, port: int, journals: Path, workdir: Path, per_process: int, run_s: float
) -> list[Devices]:
    first, last = the_plan.events[0].ts, the_plan.events[-1].ts
    factor = (last - first).total_seconds() / run_s
    groups = [
        the_plan.devices[n :: -(-len(the_plan.devices) // per_process)]
        for n in range(-(-len(the_plan.devices) // per_process))
    ]
    processes = []
    for n, names in enumerate(groups):
        mine = set(names)
        header = {
            "site": SITE,
            "port": port,
            "journals": str(journals),
            "first": first.isoformat(),
            "factor": factor,
            "catch_up_s": run_s / 2,
            "offline": [d for d in the_plan.offline if d in mine],
        }
        path = workdir / f"devices-{n}.plan"
        with path.open("wb") as out:
            out.write(json.dumps(header).encode() + b"\n")
            for event in the_plan.events:
                if event.device in mine:
                    out.write(event.device.encode() + b"\t" + schema.encode(event) + b"\n")
        processes.append(Devices(path))

    def ready() -> bool:
        if failed := [p for p in processes if p.process.poll() is not None]:
            raise RuntimeError(f"a device process exited with {failed[0].process.returncode}")
        return all("READY" in p.said for p in processes)

    wait_for(ready, 600, "devices ready")
    return processes


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


# -- measuring -------------------------------------------------------------------------
@dataclass
class Row:
    at: float  # wall clock
    journaled: int
    stored: int
    pending: int
    rules_mb: list[float]
    devices_mb: float
    broker_mb: float


@dataclass
class Run:
    t0: float = 0.0  # the start of the day (wall clock)
    asked: int = 0  # resend requests the instances sent
    rows: list[Row] = field(default_factory=list)
    results: list[tuple[float, str, bytes]] = field(default_factory=list)  # violations heard


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def sample(
    peek: psycopg.Connection,
    devices: list[Devices],
    rules: list[subprocess.Popen],
    broker: subprocess.Popen,
) -> Row:
    stored = peek.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    pending = peek.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
    return Row(
        time.time(),
        sum(d.journaled for d in devices),
        stored,
        pending,
        [rss_mb(p.pid) for p in rules],
        sum(rss_mb(d.process.pid) for d in devices),
        rss_mb(broker.pid),
    )


def soak(args: argparse.Namespace, the_plan: Plan, workdir: Path, url: str) -> Run:
    run = Run()
    run_s = args.minutes * 60
    broker, port = start_broker(workdir)
    rules: list[subprocess.Popen] = []
    devices: list[Devices] = []
    listener = MqttClient(
        BrokerConfig(port=port, persistent_session=False),
        "soak-results",
        on_message=lambda topic, payload: run.results.append((time.time(), topic, payload)),
    )
    try:
        policy_file, _ = the_plan.sim.write(workdir / "hall")
        PostgresStore(url).close()  # the tables first, so that counting can start
        settings = f"resend_after_s = {RESEND_AFTER_S}\n"
        rules = start_instances(args.instances, url, policy_file, port, workdir, settings)
        listener.subscribe(subscription(source=CENTRAL, kind=Kind.VIOLATION))
        listener.start()
        devices = start_devices(
            the_plan, port, Path(args.journals), workdir, args.per_process, run_s
        )
        t0 = run.t0 = time.time() + 1.0
        for process in devices:
            process.tell(f"GO {t0}")
        with psycopg.connect(url, autocommit=True) as peek:
            settled_since = None
            deadline = t0 + run_s + args.drain_timeout
            while True:
                time.sleep(max(0.0, t0 + args.every * (len(run.rows) + 1) - time.time()))
                row = sample(peek, devices, rules, broker)
                run.rows.append(row)
                print(
                    f"  {row.at - t0:7.0f} s  journaled {row.journaled:,}  stored "
                    f"{row.stored:,}  pending {row.pending:,}",
                    file=sys.stderr,
                )
                drained = all("DRAINED" in d.said for d in devices)
                settled = drained and row.stored == row.journaled and row.pending == 0
                settled_since = (settled_since or row.at) if settled else None
                # Quiet for a round of looking for gaps: nothing more will be asked.
                if settled_since and row.at - settled_since >= FOLD_EVERY_S + 1:
                    break
                if row.at > deadline:
                    raise RuntimeError("the store did not catch up with the journals in time")
        stop_all(rules)
        run.asked = sum(log.read_text().count("to send") for log in workdir.glob("rules-*.log"))
        for process in devices:
            process.tell("STOP")
        for process in devices:
            process.process.wait(120)
    finally:
        listener.stop()
        for process in devices:
            if process.process.poll() is None:
                process.process.kill()
        for process in rules:
            if process.poll() is None:
                process.kill()
        broker.terminate()
        broker.wait(10)
    return run


def stop_all(rules: list[subprocess.Popen]) -> None:
    """SIGTERM: each instance judges what is pending and exits."""
    for process in rules:
        process.send_signal(signal.SIGTERM)
    for process in rules:
        if process.wait(600) != 0:
            raise RuntimeError(f"a rules instance exited with {process.returncode}")


# -- the checks ------------------------------------------------------------------------
def journaled(journals: Path) -> dict[str, tuple[bytes, float]]:
    """Every event in every journal: payload, and when it was journaled (wall clock)."""
    found: dict[str, tuple[bytes, float]] = {}
    for path in sorted(journals.glob("*.db")):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            for event_id, payload, created in conn.execute(
                "SELECT id, payload, created FROM events"
            ):
                found[event_id] = (bytes(payload), datetime.fromisoformat(created).timestamp())
    return found


def check(
    the_plan: Plan, journal: dict[str, tuple[bytes, float]], url: str, workdir: Path
) -> list[str]:
    """What is wrong (nothing: the run is correct)."""
    problems = []
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, payload FROM events").fetchall()
    central = defaultdict(list)
    for event_id, payload in rows:
        central[event_id].append(payload.encode())
    if missing := set(journal) - set(central):
        problems.append(f"{len(missing)} journaled events not in the store")
    if extra := set(central) - set(journal):
        problems.append(f"{len(extra)} stored events no device journaled")
    if twice := [i for i, copies in central.items() if len(copies) > 1]:
        problems.append(f"{len(twice)} events stored more than once")
    changed = [
        i
        for i, (body, _) in journal.items()
        if i in central and schema.decode(central[i][0]) != schema.decode(body)
    ]
    if changed:
        problems.append(f"{len(changed)} events stored differently from their journal")
    month = the_plan.day.strftime("%Y-%m")
    policy = the_plan.sim.policy()
    live = PostgresStore(url)
    clean = SqliteStore(workdir / "replay.db", synchronous="OFF")
    try:
        # Correction numbers keep the order violations became known in: an input too.
        for staff, numbers in live.numbers(month).items():
            clean.keep_numbers(staff, month, numbers)
        lines = [body for body, _ in journal.values()]
        summary = replay(lines, policy, Directory.from_policy(policy), clean, now=utc_now())
        if summary.dead_letters or summary.stored != len(journal):
            problems.append(f"the replay stored {summary.stored} of {len(journal)} events")
        if live.violations(month=month) != clean.violations(month=month):
            problems.append("violations differ from a clean replay of the journaled events")
    finally:
        live.close()
        clean.close()
    return problems


# -- the report ------------------------------------------------------------------------
def lags(run: Run, journal: dict[str, tuple[bytes, float]]) -> list[tuple[float, float, str]]:
    """(heard at, lag s, the device of the newest evidence) per violation published with new
    evidence: from the journaling of its newest evidence to its publication."""
    seen: dict[str, set[str]] = defaultdict(set)
    out = []
    for heard, topic, payload in run.results:
        violation = schema.decode_as(schema.Violation, payload, topic)
        new = [
            e for e in violation.evidence if e not in seen[violation.violation_id] and e in journal
        ]
        seen[violation.violation_id].update(violation.evidence)
        if new:
            newest = max(new, key=lambda e: journal[e][1])
            device = schema.decode(journal[newest][0]).device
            out.append((heard, heard - journal[newest][1], device))
    return out


def quantiles(values: list[float]) -> str:
    if not values:
        return f"{'-':>7} {'-':>7}"
    if len(values) == 1:
        return f"{values[0]:7.1f} {values[0]:7.1f}"
    return f"{statistics.median(values):7.1f} {statistics.quantiles(values, n=20)[-1]:7.1f}"


def report(
    args: argparse.Namespace,
    the_plan: Plan,
    run: Run,
    journal: dict[str, tuple[bytes, float]],
    problems: list[str],
) -> None:
    t0 = run.t0
    offline = set(the_plan.offline)
    measured = [(h, lag, device in offline) for h, lag, device in lags(run, journal)]
    n = len(the_plan.devices)
    print(
        f"soak: {n:,} devices ({n - the_plan.agents} stations, {the_plan.agents} agents), "
        f"{n * STAFF_PER_DEVICE:,} staff, {len(journal):,} events journaled; the office day "
        f"{the_plan.day} in {args.minutes:g} min; {len(offline)} devices offline for the "
        f"first half; {args.instances} rules instances on one PostgreSQL, Mosquitto; "
        f"{os.cpu_count()} cores shared by all"
    )
    print(
        f"{'t s':>6} {'in/s':>7} {'stored/s':>8} {'pending':>7} {'lag p50':>7} {'p95 s':>7}"
        f"  {'rules MB (each)':<22} {'devices MB':>10} {'broker MB':>9}"
    )
    before = Row(t0, 0, 0, 0, [], 0.0, 0.0)
    for row in run.rows:
        span = row.at - before.at
        window = [lag for h, lag, _ in measured if before.at < h <= row.at]
        rules = " ".join(f"{mb:5.0f}" for mb in row.rules_mb)
        print(
            f"{row.at - t0:6.0f} {(row.journaled - before.journaled) / span:7.0f} "
            f"{(row.stored - before.stored) / span:8.0f} {row.pending:7,} {quantiles(window)}"
            f"  {rules:<22} {row.devices_mb:10.0f} {row.broker_mb:9.0f}"
        )
        before = row
    played = [row for row in run.rows if row.at - t0 <= args.minutes * 60] or run.rows
    last = played[-1]
    final = run.rows[-1]
    caught_up = next(r for r in run.rows if r.stored == final.stored and r.pending == 0)
    print(
        f"events/s over the day: journaled {last.journaled / (last.at - t0):,.0f}, stored "
        f"{last.stored / (last.at - t0):,.0f}; everything stored and judged "
        f"{caught_up.at - t0:.0f} s after the start (the day ends at {args.minutes * 60:.0f} s);"
        f" the centre asked devices for gaps {run.asked} times"
    )
    for name, which in (("all", None), ("online devices", False), ("catch-up block", True)):
        values = [lag for _, lag, late in measured if which is None or late == which]
        print(
            f"lag event -> violation published, {name}: p50/p95 {quantiles(values)} s "
            f"({len(values)} publications)"
        )
    print(f"recompute queue: at most {max(r.pending for r in run.rows):,} pending")
    for n, label in enumerate(f"rules {k + 1}" for k in range(args.instances)):
        mbs = [row.rules_mb[n] for row in run.rows]
        print(
            f"memory {label}: {mbs[0]:.0f} MB at first, {max(mbs):.0f} at most, "
            f"{mbs[-1]:.0f} at the end"
        )
    print(
        "checks: "
        + (
            "; ".join(problems)
            if problems
            else ("every journaled event stored exactly once; violations equal a clean replay")
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200, help="devices (the seed: 2000)")
    parser.add_argument("--minutes", type=float, default=5.0, help="the office day in minutes")
    parser.add_argument("--instances", type=int, default=3, help="rules instances")
    parser.add_argument("--offline", type=float, default=0.2, help="share offline first half")
    parser.add_argument("--per-process", type=int, default=100, help="devices per process")
    parser.add_argument("--every", type=float, default=0.0, help="seconds between rows")
    parser.add_argument(
        "--drain-timeout", type=float, default=900.0, help="seconds at most after the day"
    )
    parser.add_argument("--journals", help="device journals' directory (default: in /dev/shm)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server (URL)")
    args = parser.parse_args()
    args.every = args.every or max(1.0, args.minutes * 60 / 15)
    the_plan = plan(args.devices, args.offline, args.seed)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir=shm) as shm_tmp:
        workdir = Path(tmp)
        # On tmpfs: each device has a disk of its own; here they would all share one.
        args.journals = args.journals or shm_tmp
        with scratch_schema(args.server) as url:
            run = soak(args, the_plan, workdir, url)
            journal = journaled(Path(args.journals))
            problems = check(the_plan, journal, url, workdir)
    report(args, the_plan, run, journal, problems)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
