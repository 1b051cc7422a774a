"""Rules service benchmark: ingest through real Mosquitto, and evaluating a month.

1. The broker's own QoS 1 pass-through rate (publisher -> Mosquitto -> one subscriber).
2. Ingest through the same broker into the store (validate, store once): events/s, and
   the time to recompute the person-months the burst touched. Target >= 5,000 events/s.
3. Evaluating a generated month for 2,000 staff (pure engine, then from the store with
   results written back). Target under 10 s.

Run: .venv/bin/python bench/bench_rules.py [--events N] [--staff N]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mqtt import schema, topics
from mqtt.client import BrokerConfig, MqttClient, topic_for
from rules.directory import Directory
from rules.engine import evaluate_month
from rules.ingest import Ingest, subscriptions
from rules.recompute import recompute_month
from rules.simulate import generate_month
from rules.store import SqliteStore

MONTH = "2026-10"
# Mosquitto's default queue (1000 messages) drops QoS 1 for a subscriber in a burst.
CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 1000
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(CONF.format(port=port))
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("mosquitto did not start")


def broker_config(port: int) -> BrokerConfig:
    return BrokerConfig(port=port, persistent_session=False, max_inflight=1000, max_queued=0)


def publish_from_file(port: int, path: Path) -> None:
    """The device side, in its own process as in a hall: publish every line at QoS 1."""
    publisher = MqttClient(broker_config(port), "bench-publisher").start()
    infos = []
    with path.open("rb") as lines:
        for line in lines:
            topic, payload = line.rstrip(b"\n").split(b"\t", 1)
            infos.append(publisher.publish(topic.decode(), payload))
    for info in infos:
        info.wait_for_publish(60)
    publisher.stop()


class Arrivals:
    """Counts deliveries; the rate is taken from the first to the last arrival."""

    def __init__(self, expected: int) -> None:
        self.expected, self.count = expected, 0
        self.first = self.last = 0.0
        self.done = threading.Event()

    def arrived(self, n: int = 1) -> None:
        now = time.perf_counter()
        if self.count == 0:
            self.first = now
        self.count += n
        self.last = now
        if self.count >= self.expected:
            self.done.set()

    def rate(self) -> float:
        return (self.count - 1) / (self.last - self.first)


def run_publisher(port: int, path: Path, arrivals: Arrivals) -> None:
    process = subprocess.Popen(
        [sys.executable, __file__, "--publish", str(path), "--port", str(port)]
    )
    if not arrivals.done.wait(300) or process.wait(60) != 0:
        process.kill()
        raise RuntimeError(f"only {arrivals.count} of {arrivals.expected} arrived")


def broker_rate(port: int, path: Path, count: int) -> float:
    arrivals = Arrivals(count)
    subscriber = MqttClient(
        broker_config(port), "bench-subscriber", on_message=lambda t, p: arrivals.arrived()
    )
    subscriber.subscribe(topics.subscription())
    subscriber.start()
    time.sleep(0.3)
    run_publisher(port, path, arrivals)
    subscriber.stop()
    return arrivals.rate()


def ingest_rate(port: int, path: Path, count: int, sim, workdir: Path, *, acked: bool = True):
    """`acked`: as the service runs, PUBACK only once stored; else paho's automatic PUBACK."""
    store = SqliteStore(workdir / f"ingest-{acked}.db")
    policy = sim.policy()
    directory = Directory.from_policy(policy)
    ingest = Ingest(
        store, policy, lambda: directory, recompute_every_s=3600
    )  # recompute timed apart
    arrivals = Arrivals(count)
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            before = ingest.stored
            ingest.drain(timeout_s=0.1)
            if ingest.stored > before:
                arrivals.arrived(ingest.stored - before)

    handler = {"on_delivery" if acked else "on_message": ingest.handle}
    client = MqttClient(broker_config(port), f"bench-rules-{acked}", **handler)
    for topic_filter in subscriptions("bench"):
        client.subscribe(topic_filter)
    client.start()
    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.3)
    try:
        run_publisher(port, path, arrivals)
    finally:
        stop.set()
        thread.join()
        client.stop()
    dirty = len(store.pending())
    start = time.perf_counter()
    ingest.flush()
    recompute_s = time.perf_counter() - start
    store.close()
    return arrivals.rate(), dirty, recompute_s


def month_evaluation(staff: int, workdir: Path) -> tuple[int, float, float]:
    sim = generate_month(MONTH, staff, seed=21)
    policy = sim.policy()
    start = time.perf_counter()
    directory = Directory.from_policy(policy)
    records = evaluate_month(policy, directory, MONTH, sim.events)
    pure_s = time.perf_counter() - start
    store = SqliteStore(workdir / "month.db", synchronous="NORMAL")
    store.add_events(sim.events)
    start = time.perf_counter()
    recompute_month(store, policy, directory, MONTH, None)
    stored_s = time.perf_counter() - start
    assert len(store.violations(month=MONTH)) == len(records)
    store.close()
    return len(sim.events), pure_s, stored_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000, help="events in the burst")
    parser.add_argument("--staff", type=int, default=2_000, help="staff in the month")
    parser.add_argument("--publish", type=Path, help=argparse.SUPPRESS)  # publisher process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish_from_file(args.port, args.publish)
        return
    sim = generate_month(MONTH, 500, seed=3)
    events = [e for e in sim.events if not isinstance(e, schema.Status)][: args.events]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        burst = workdir / "burst.tsv"
        burst.write_bytes(
            b"".join(topic_for(e).encode() + b"\t" + schema.encode(e) + b"\n" for e in events)
        )
        broker, port = start_broker(workdir)
        try:
            passthrough = broker_rate(port, burst, len(events))
            ingested, dirty, recompute_s = ingest_rate(port, burst, len(events), sim, workdir)
            auto_acked, _, _ = ingest_rate(port, burst, len(events), sim, workdir, acked=False)
        finally:
            broker.terminate()
            broker.wait(10)
        count, pure_s, stored_s = month_evaluation(args.staff, workdir)
    print(f"burst: {len(events)} contract payloads (clock/activity/alert), QoS 1, Mosquitto,")
    print("publisher in its own process; rates from first to last arrival")
    print(f"broker pass-through        {passthrough:>9,.0f} msg/s")
    print(
        f"ingest into the store      {ingested:>9,.0f} events/s  "
        f"({ingested / passthrough:.2f} x pass-through; target >= 5,000)"
    )
    print(
        f"  (acked once stored; with paho's automatic PUBACK {auto_acked:,.0f} events/s: "
        f"{ingested / auto_acked:.2f} x)"
    )
    print(f"recompute {dirty} person-months touched by the burst: {recompute_s:.2f} s")
    print(f"month for {args.staff} staff ({count:,} events):")
    print(f"  pure engine              {pure_s:>6.2f} s  (target < 10 s)")
    print(f"  from the store, written  {stored_s:>6.2f} s")


if __name__ == "__main__":
    main()
