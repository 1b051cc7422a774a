"""A device process for the chaos suite: journal a file of events, publish them, drain.

    python -m tests.support.chaos_device JOURNAL EVENTS BROKER_JSON [--pace-s S] [--skew-s S]
        [--linger-until FILE]

EVENTS holds one device's contract payloads (one per line). Each is journaled (an event
already in the journal keeps its first seq, so a restarted process simply starts over) and
printed as `J <payload as journaled>` once the journal has it durably (alerts the journal
raises itself too), or `FULL <id>` when the journal refused it. `--skew-s` runs the device with its clock that far off: event times
and the journal's own clock. At the end the process waits for its backlog to drain, prints
what is still in the journal (alerts it raised itself, too) and `BACKLOG n`.

`--linger-until FILE`: as a station or agent does, the device answers the centre's resend
requests on its command topic (edge/resend.py) and, once it has journaled its events, sends
a heartbeat status every `--heartbeat-s` (its latest journal number: a tail the centre
never got shows) until FILE exists; then it drains and reports as above.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import msgspec

from edge.journal import Journal, JournalFull
from edge.publisher import JournalPublisher
from edge.resend import resend_handler
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import utc_now
from mqtt.topics import Kind, device_topic


def skewed(event: schema.Event, skew: timedelta) -> schema.Event:
    """The event as a device whose clock is `skew` off would have stamped it."""
    changes: dict[str, object] = {"ts": event.ts + skew}
    if isinstance(event, schema.Activity):
        changes["start"] = event.start + skew
    if isinstance(event, schema.Punch) and event.leave is not None:
        leave = event.leave
        changes["leave"] = msgspec.structs.replace(
            leave, expected_return=leave.expected_return + skew
        )
    return msgspec.structs.replace(event, **changes)


def emit(tag: str, body: bytes) -> None:
    sys.stdout.buffer.write(tag.encode() + b" " + body + b"\n")
    sys.stdout.buffer.flush()


def report_own_alerts(journal: Journal, reported: set[str]) -> None:
    """Alerts the journal raised itself (disk full) are journaled events too: print them
    before a full disk makes room by deleting them once sent."""
    for event in journal.events():
        if isinstance(event, schema.Alert) and event.id not in reported:
            reported.add(event.id)
            emit("J", schema.encode(event))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("journal", type=Path)
    parser.add_argument("events", type=Path)
    parser.add_argument("broker", type=Path)
    parser.add_argument("--pace-s", type=float, default=0.0)
    parser.add_argument("--skew-s", type=float, default=0.0)
    parser.add_argument("--linger-until", type=Path)
    parser.add_argument("--heartbeat-s", type=float, default=1.0)
    args = parser.parse_args()
    skew = timedelta(seconds=args.skew_s)
    events = [
        skewed(schema.decode(line), skew) for line in args.events.read_bytes().splitlines() if line
    ]
    broker = BrokerConfig.model_validate(json.loads(args.broker.read_text()))
    site, device = events[0].site, events[0].device
    now = lambda: utc_now() + skew  # noqa: E731
    journal = Journal(args.journal, site, device, now=now)
    lingers = args.linger_until is not None
    client = MqttClient(
        broker,
        f"{site}-{device}",
        on_message=resend_handler(journal, site, device, now) if lingers else None,
    )
    if lingers:
        client.subscribe(device_topic(site, device, Kind.COMMAND))
    client.start(wait_s=None)
    publisher = JournalPublisher(journal, client).start()
    reported: set[str] = set()
    for event in events:
        try:
            stored = journal.append(event)
        except JournalFull:
            emit("FULL", event.id.encode())
            continue
        emit("J", schema.encode(stored))
        report_own_alerts(journal, reported)
        time.sleep(args.pace_s)
    role = "station" if device.startswith("st-") else "agent"
    while lingers and not args.linger_until.exists():
        heartbeat = schema.status_for(site, device, role, "online", now(), None)
        emit("J", schema.encode(journal.append(heartbeat)))
        time.sleep(args.heartbeat_s)
    publisher.stop(drain_s=120)
    for event in journal.events():
        emit("J", schema.encode(event))
    emit("BACKLOG", str(journal.backlog()).encode())
    client.stop()
    journal.close()


if __name__ == "__main__":
    main()
