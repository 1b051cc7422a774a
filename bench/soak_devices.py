"""Simulated devices for the soak run (bench/soak.py), many in one process: each has a
real journal (edge/journal.py), publisher (edge/publisher.py) and MQTT client of its own,
and answers the centre's resend requests on its command topic (edge/resend.py).

    python bench/soak_devices.py PLAN

PLAN: a JSON header line (see `Header`), then `device<TAB>payload` lines in time order.
On stdout: `READY` once every journal is open; after `GO <t0>` on stdin (wall-clock
seconds), `P <journaled> <acknowledged>` every second, `DONE` once every event of the
plan is journaled, `DRAINED` once nothing more waits for the broker. `STOP` on stdin
ends the process.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from edge.journal import Journal
from edge.publisher import JournalPublisher
from edge.resend import answer_resend
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import utc_now
from mqtt.topics import Kind, device_topic

# A journal's size bound; the journal sets an eighth of it aside on disk (its reserve).
JOURNAL_BYTES = 2 * 1024 * 1024
REPORT_EVERY_S = 0.5
# paho waits on its sockets with select(): a socket numbered from 1024 on is never served
# (it reconnects for ever without a word), so every device's must stay below.
FD_SETSIZE = 1024
FDS_PER_CONNECTION = 3  # the socket, and paho's socket pair to wake its loop


@dataclass(frozen=True)
class Header:
    site: str
    port: int
    journals: str  # the directory of the journal files
    first: str  # the simulated moment played at t0 (ISO)
    factor: float  # simulated seconds per wall-clock second
    catch_up_s: float  # the offline devices connect this long after t0
    offline: list[str]


class Device:
    def __init__(self, header: Header, name: str) -> None:
        self.site, self.name = header.site, name
        path = Path(header.journals) / f"{name}.db"
        self.journal = Journal(path, header.site, name, max_bytes=JOURNAL_BYTES)
        self.client = MqttClient(
            BrokerConfig(port=header.port), f"{header.site}-{name}", on_message=self._command
        )
        self.client.subscribe(device_topic(header.site, name, Kind.COMMAND))
        self.publisher = JournalPublisher(self.journal, self.client)
        self.answers = 0  # resend requests answered

    def _command(self, topic: str, payload: bytes) -> None:
        if payload and answer_resend(self.journal, self.site, self.name, topic, payload, utc_now()):
            self.answers += 1

    def stop(self) -> None:
        self.publisher.stop()
        self.client.stop()
        self.journal.close()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    lines = Path(sys.argv[1]).read_bytes().splitlines()
    header = Header(**json.loads(lines[0]))
    plan = [
        (name.decode(), schema.decode(payload))
        for name, payload in (line.split(b"\t", 1) for line in lines[1:])
    ]
    first = datetime.fromisoformat(header.first)
    devices = {name: Device(header, name) for name in sorted({name for name, _ in plan})}
    for name, device in devices.items():
        role = "station" if name.startswith("st-") else "agent"
        device.journal.append(schema.status_for(header.site, name, role, "online", first))
        device.publisher.start()  # publishes once its client is connected
    journaled = len(devices)
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    if highest + FDS_PER_CONNECTION * len(devices) >= FD_SETSIZE:
        sys.exit(
            f"{len(devices)} devices in one process need file descriptors from {FD_SETSIZE} "
            "on, which paho's select() never serves: fewer devices a process (--per-process)"
        )
    say("READY")
    t0 = float(sys.stdin.readline().split()[1])
    offline = set(header.offline)
    for name, device in devices.items():
        if name not in offline:
            device.client.start(wait_s=None)

    def catch_up() -> None:
        for name in sorted(offline & set(devices)):
            devices[name].client.start(wait_s=None)

    threading.Timer(max(0.0, t0 + header.catch_up_s - time.time()), catch_up).start()
    stop = threading.Event()

    def report() -> None:
        while not stop.wait(REPORT_EVERY_S):
            answers = sum(d.answers for d in devices.values())
            sent = sum(d.publisher.sent for d in devices.values())
            say(f"P {journaled + answers} {sent}")

    threading.Thread(target=report, daemon=True).start()
    for name, event in plan:
        due = t0 + (event.ts - first).total_seconds() / header.factor
        if (wait := due - time.time()) > 0:
            time.sleep(wait)
        devices[name].journal.append(event)
        journaled += 1
    say("DONE")
    while time.time() < t0 + header.catch_up_s or any(
        d.journal.backlog() for d in devices.values()
    ):
        time.sleep(0.5)
    say("DRAINED")
    sys.stdin.readline()  # STOP
    stop.set()
    # Together: a publisher with nothing to do notices its stop only after a second.
    stopping = [threading.Thread(target=d.stop) for d in devices.values()]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()


if __name__ == "__main__":
    main()
