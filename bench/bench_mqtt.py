"""MQTT contract benchmark: payload validation, and publish-to-receive through Mosquitto.

Prints messages/s for hallwatch's validation (beside bare JSON parsing) and for end-to-end
QoS 1 delivery through a real Mosquitto with the production configuration, using the
hallwatch client with validation on receipt, beside raw paho-mqtt in the same run.

    .venv/bin/python bench/bench_mqtt.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from mqtt import schema
from mqtt.broker import Deployment, DeviceAccount
from mqtt.client import BrokerConfig, MqttClient
from tests.mqtt_helpers import clock_event, leave_event
from tests.support.mosquitto import Mosquitto, make_ca

TOPIC = "hallwatch/v1/hall-01/st-01/clock"


def payloads(n: int) -> list[bytes]:
    return [
        schema.encode(
            leave_event("hall-01", "st-01", i)
            if i % 10 == 0
            else clock_event("hall-01", "st-01", i)
        )
        for i in range(n)
    ]


def rate(n: int, fn) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def bench_validation(data: list[bytes]) -> tuple[float, float]:
    validated = rate(len(data), lambda: [schema.decode(p, TOPIC) for p in data])
    parsed = rate(len(data), lambda: [json.loads(p) for p in data])
    return validated, parsed


def _drain(received: threading.Event) -> None:
    if not received.wait(120):
        raise SystemExit("benchmark: messages were lost (not all received within 120 s)")


def bench_hallwatch(
    port: int, user: tuple[str, str], rules: tuple[str, str], data: list[bytes]
) -> float:
    done, count = threading.Event(), 0

    def on_message(topic: str, payload: bytes) -> None:
        nonlocal count
        schema.decode(payload, topic)
        count += 1
        if count == len(data):
            done.set()

    sub = MqttClient(
        BrokerConfig(port=port, username=rules[0], password=rules[1], persistent_session=False),
        "bench-sub",
        on_message=on_message,
    )
    sub.subscribe(TOPIC)
    with (
        sub,
        MqttClient(
            BrokerConfig(
                port=port, username=user[0], password=user[1], max_inflight=100, max_queued=0
            ),
            "bench-pub",
        ) as pub,
    ):
        time.sleep(0.3)
        start = time.perf_counter()
        for p in data:
            pub.publish(TOPIC, p)
        _drain(done)
        return len(data) / (time.perf_counter() - start)


def bench_raw_paho(
    port: int, user: tuple[str, str], rules: tuple[str, str], data: list[bytes]
) -> float:
    done, count = threading.Event(), 0

    def on_message(client, userdata, message) -> None:
        nonlocal count
        count += 1
        if count == len(data):
            done.set()

    clients = []
    for name, (u, p) in (("raw-sub", rules), ("raw-pub", user)):
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=name)
        c.username_pw_set(u, p)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", port)
        c.loop_start()
        clients.append(c)
    sub, pub = clients
    sub.on_message = on_message
    sub.subscribe(TOPIC, qos=1)
    time.sleep(0.5)
    start = time.perf_counter()
    for p in data:
        pub.publish(TOPIC, p, qos=1)
    _drain(done)
    elapsed = time.perf_counter() - start
    for c in clients:
        c.disconnect()
        c.loop_stop()
    return len(data) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    data = payloads(args.messages)

    validated, parsed = bench_validation(data)
    print(
        f"validation   hallwatch decode+validate {validated:>10,.0f} msg/s   json.loads only {parsed:>10,.0f} msg/s"
        f"   ratio {validated / parsed:.2f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        listeners = make_ca(Path(tmp) / "tls")
        deployment = Deployment(
            listeners=listeners, devices=[DeviceAccount(site="hall-01", id="st-01")]
        )
        with Mosquitto(deployment, Path(tmp) / "broker") as broker:
            user = ("hall-01.st-01", broker.password("hall-01.st-01"))
            rules = ("rules", broker.password("rules"))
            raw = bench_raw_paho(broker.port, user, rules, data)
            ours = bench_hallwatch(broker.port, user, rules, data)
    print(
        f"end to end   hallwatch client+validation {ours:>8,.0f} msg/s   raw paho {raw:>10,.0f} msg/s"
        f"   ratio {ours / raw:.2f}   ({args.messages:,} QoS 1 messages through Mosquitto, none lost)"
    )


if __name__ == "__main__":
    main()
