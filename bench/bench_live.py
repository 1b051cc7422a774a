"""Live hall benchmark: who is where now, and the console's fan-out to many browsers.

1. Presence of a 200-staff hall at 16:00 with a full day of events (rules/presence.py),
   time per call, against the engine judging the same person-days (evaluate_day).
2. The console hub (hallwatch/console/live.py) fanning out punches to 50 subscribers
   through a real Mosquitto: messages/s in a burst, and latency from publish to the
   subscriber's `get()` returning (median, p95) at a steady rate, against a bare
   MqttClient callback receiving the same messages from the same broker.

Run: .venv/bin/python bench/bench_live.py [--staff N] [--subscribers N] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hallwatch.console.live import LiveHub
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from rules.directory import Directory
from rules.engine import PersonEvents, evaluate_day, group_by_person
from rules.presence import hall_presence
from rules.simulate import generate_month
from tests.mqtt_helpers import clock_event
from tests.support.mosquitto import anonymous_broker

SITE = "hall-01"
DAY = date(2026, 10, 14)  # a Wednesday with a full day of events


def per_call(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def bench_presence(staff: int, repeat: int) -> None:
    sim = generate_month(DAY.strftime("%Y-%m"), staff, site=SITE)
    policy = sim.policy()
    zone = policy.zone(SITE)
    directory = Directory.from_policy(policy)
    start = datetime.combine(DAY, clock_time(), zone)
    day_events = [
        e
        for e in sim.events
        if start <= (e.start if isinstance(e, schema.Activity) else e.ts) < start + timedelta(1)
    ]
    now = datetime.combine(DAY, clock_time(16), zone)
    hall = hall_presence(policy, directory, SITE, day_events, [], now)
    presence = per_call(lambda: hall_presence(policy, directory, SITE, day_events, [], now), repeat)

    def engine_day() -> None:
        grouped = group_by_person(day_events, directory)
        for member in directory.judged_staff:
            evaluate_day(
                policy, directory, member, DAY, grouped.get(member, PersonEvents()), (), now
            )

    engine = per_call(engine_day, repeat)
    counts = " ".join(f"{state}={n}" for state, n in hall.counts().items() if n)
    print(
        f"presence of {staff} staff at 16:00 ({len(day_events):,} events of the day): "
        f"{presence * 1000:.1f} ms per call; engine judging the same day "
        f"{engine * 1000:.1f} ms   ratio {presence / engine:.2f}\n   states: {counts}"
    )


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


class Publisher:
    """Punches from one station, each timed (monotonic ns) as it is handed to paho."""

    def __init__(self, port: int) -> None:
        self.client = MqttClient(BrokerConfig(port=port, max_inflight=1000, max_queued=0), "pub")
        self.sent: dict[str, int] = {}

    def run(self, count: int, interval_s: float) -> None:
        infos = []
        for n in range(count):
            punch = clock_event(SITE, "st-01", n + 1)
            self.sent[punch.id] = time.monotonic_ns()
            infos.append(self.client.publish_event(punch))
            if interval_s:
                time.sleep(interval_s)
        for info in infos:
            info.wait_for_publish(60)


def raw_reference(port: int, count: int, interval_s: float) -> tuple[float, list[float]]:
    """A bare MqttClient callback: (messages/s, latencies in ms)."""
    got: dict[str, int] = {}
    done = threading.Event()

    def on_message(topic: str, payload: bytes) -> None:
        got[schema.decode(payload, topic).id] = time.monotonic_ns()
        if len(got) == count:
            done.set()

    receiver = MqttClient(
        BrokerConfig(port=port, persistent_session=False), "raw", on_message=on_message
    )
    receiver.subscribe(f"hallwatch/v1/{SITE}/+/clock")
    receiver.start()
    publisher = Publisher(port)
    publisher.client.start()
    began = time.monotonic_ns()
    publisher.run(count, interval_s)
    done.wait(60)
    ended = max(got.values())
    publisher.client.stop()
    receiver.stop()
    latencies = [(got[i] - publisher.sent[i]) / 1e6 for i in got]
    return len(got) / ((ended - began) / 1e9), latencies


async def hub_run(
    port: int, subscribers: int, count: int, interval_s: float
) -> tuple[float, list[float], int]:
    """The hub: (deliveries/s over all subscribers, latencies in ms, events dropped)."""
    hub = await LiveHub(BrokerConfig(port=port), "console", queue_size=count).start()
    subscriptions = [hub.subscribe([SITE]) for _ in range(subscribers)]
    got: list[list[tuple[str, int]]] = [[] for _ in subscriptions]

    async def read(index: int) -> None:
        while len(got[index]) < count:
            live = await subscriptions[index].get()
            if live is None:
                return
            got[index].append((live.event.id, time.monotonic_ns()))

    readers = [asyncio.create_task(read(i)) for i in range(subscribers)]
    publisher = Publisher(port)
    await asyncio.to_thread(publisher.client.start)
    began = time.monotonic_ns()
    await asyncio.to_thread(publisher.run, count, interval_s)
    await asyncio.wait_for(asyncio.gather(*readers), 120)
    ended = max(at for seen in got for _, at in seen)
    publisher.client.stop()
    await hub.stop()
    latencies = [(at - publisher.sent[i]) / 1e6 for seen in got for i, at in seen]
    dropped = sum(s.dropped for s in subscriptions)
    return len(latencies) / ((ended - began) / 1e9), latencies, dropped


def bench_hub(subscribers: int, messages: int, paced: int, interval_s: float) -> None:
    with tempfile.TemporaryDirectory() as workdir, anonymous_broker(Path(workdir)) as port:
        raw_rate, _ = raw_reference(port, messages, 0)
        hub_rate, _, dropped = asyncio.run(hub_run(port, subscribers, messages, 0))
        _, raw_latency = raw_reference(port, paced, interval_s)
        _, hub_latency, _ = asyncio.run(hub_run(port, subscribers, paced, interval_s))
    raw_median, raw_p95 = quantiles(raw_latency)
    hub_median, hub_p95 = quantiles(hub_latency)
    print(
        f"hub fan-out, burst of {messages:,} punches to {subscribers} subscribers: "
        f"{hub_rate:,.0f} deliveries/s ({hub_rate / subscribers:,.0f} messages/s each), "
        f"{dropped} dropped; bare MqttClient callback {raw_rate:,.0f} messages/s   "
        f"ratio per message {hub_rate / subscribers / raw_rate:.2f}"
    )
    print(
        f"latency publish -> subscriber, {paced} punches every {interval_s * 1000:.0f} ms: "
        f"hub to {subscribers} subscribers median {hub_median:.2f} ms p95 {hub_p95:.2f} ms; "
        f"bare callback median {raw_median:.2f} ms p95 {raw_p95:.2f} ms   "
        f"ratio {hub_median / raw_median:.2f} / {hub_p95 / raw_p95:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=5)
    args = parser.parse_args()
    bench_presence(args.staff, args.repeat)
    bench_hub(args.subscribers, args.messages, args.paced, args.interval_ms / 1000)


if __name__ == "__main__":
    main()
