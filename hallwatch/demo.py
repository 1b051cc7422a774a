"""`hallwatch demo`: the product on embedded defaults, nothing to install or configure.

An in-process broker, stations and a workstation agent publishing through the real client,
and the admins' live feed printing what arrives.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import click

from mqtt import feed, schema
from mqtt.cli import _print_line, run_feed
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import new_event_id, utc_now
from mqtt.topics import Kind, device_topic

SITE = "demo-hall"

# A station in its own process, so that killing it drops its connection like a cable pulled:
# the broker then publishes its last will, and the feed shows it offline at once.
_STATION_PROCESS = """
import sys, time
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import new_event_id, utc_now
port, site, device = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def status(state, health=None):
    return schema.Status(id=new_event_id(), seq=0, site=site, device=device, ts=utc_now(),
                         state=state, role="station", health=health)
c = MqttClient(BrokerConfig(port=port), f"{site}-{device}", will=status("offline")).start()
c.publish_event(status("online", schema.Health(camera="ok", sensor="ok"))).wait_for_publish(5)
print("ready", flush=True)
time.sleep(600)
"""


class _Device:
    """A publisher with its own per-device sequence numbers."""

    def __init__(self, client: MqttClient, device: str) -> None:
        self.client, self.device, self.seq = client, device, 0

    def send(self, cls: type[schema.Event], **fields) -> None:
        self.seq += 1
        event = cls(
            id=new_event_id(), seq=self.seq, site=SITE, device=self.device, ts=utc_now(), **fields
        )
        self.client.publish_event(event).wait_for_publish(5)
        time.sleep(0.15)  # paced so a person can follow the feed


def _scenario(port: int) -> None:
    station = subprocess.Popen(
        [sys.executable, "-c", _STATION_PROCESS, str(port), SITE, "st-02"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        station.stdout.readline()
        with MqttClient(BrokerConfig(port=port), f"{SITE}-st-01") as client:
            st01, ws01 = _Device(client, "st-01"), _Device(client, "ws-07")
            st01.send(
                schema.Status,
                state="online",
                role="station",
                health=schema.Health(
                    camera="ok", sensor="ok", model_pack="permissive", gallery_size=3
                ),
            )
            st01.send(
                schema.Clock,
                staff_id="S001",
                action=schema.Action.CLOCK_IN,
                method=schema.Method.FACE,
                score=0.83,
                liveness=0.99,
                inferred=True,
            )
            st01.send(
                schema.Clock,
                staff_id="S002",
                action=schema.Action.CLOCK_IN,
                method=schema.Method.FINGER,
                score=142,
            )
            st01.send(
                schema.Alert,
                kind=schema.AlertKind.UNKNOWN_FACE,
                severity=schema.Severity.MINOR,
                message="face not recognised (best 0.31 < 0.45)",
            )
            st01.send(
                schema.Clock,
                staff_id="S003",
                action=schema.Action.LEAVE_OUT,
                method=schema.Method.FACE,
                score=0.77,
                leave=schema.Leave(
                    kind=schema.LeaveKind.OFFICIAL,
                    reason="document delivery",
                    expected_return=utc_now() + timedelta(minutes=30),
                ),
            )
            ws01.send(
                schema.Activity,
                user="s002",
                staff_id="S002",
                start=utc_now() - timedelta(minutes=6),
                duration_s=360,
                app="video-player",
                category="video",
                idle_s=3,
            )
            client.publish(
                device_topic(SITE, "st-01", Kind.CLOCK), b'{"schema":"hallwatch.clock/1","seq":"x"}'
            )
            st01.send(
                schema.Alert,
                kind=schema.AlertKind.SPOOF_SUSPECTED,
                severity=schema.Severity.SERIOUS,
                message="liveness 0.04: a photo held to the camera",
                staff_id="S001",
                score=0.04,
            )
            st01.send(
                schema.Clock,
                staff_id="S003",
                action=schema.Action.LEAVE_RETURN,
                method=schema.Method.FACE,
                score=0.80,
            )
            station.send_signal(signal.SIGKILL)
            time.sleep(1.0)
    finally:
        station.kill()
        station.wait()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the feed as raw JSON records.")
def demo(as_json: bool) -> None:
    """Run the product on embedded defaults and show the live feed.

    \b
    Example:
        hallwatch demo
    """
    from mqtt.embedded import EmbeddedBroker

    with EmbeddedBroker() as broker:
        click.secho(
            f"embedded MQTT broker on 127.0.0.1:{broker.port}; live feed of site {SITE}:", bold=True
        )
        stop, lines = threading.Event(), []
        printer = _print_line(as_json)

        def emit(line: feed.FeedLine, payload: bytes) -> None:
            lines.append(line)
            printer(line, payload)

        watcher = threading.Thread(
            target=run_feed,
            args=(BrokerConfig(port=broker.port), feed.FeedFilter(sites=frozenset({SITE})), emit),
            kwargs={"stop": stop},
            daemon=True,
        )
        watcher.start()
        time.sleep(1.0)
        _scenario(broker.port)
        stop.set()
        watcher.join(10)
    bad = sum(line.event is None for line in lines)
    click.secho(
        f"\n{len(lines)} messages through the broker into the live feed ({bad} malformed, shown as such).",
        bold=True,
    )
