"""`hallwatch watch`: the admins' live feed, end to end through the real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

from mqtt import feed, schema
from mqtt.ids import new_event_id, utc_now
from mqtt.topics import Kind, device_topic
from tests.conftest import REPO
from tests.mqtt_helpers import client, clock_event, leave_event

HALLWATCH = [sys.executable, "-m", "hallwatch"]

DEVICE_WITH_WILL = """
import sys, time
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import new_event_id, utc_now
site = sys.argv[1]
def status(state):
    return schema.Status(id=new_event_id(), seq=0, site=site, device="st-09", ts=utc_now(), state=state, role="station")
c = MqttClient(BrokerConfig(), "will-" + site, will=status("offline")).start()
c.publish_event(status("online")).wait_for_publish(5)
print("ready", flush=True)
time.sleep(60)
"""


def _site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _start_watch(*args: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*HALLWATCH, "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    time.sleep(1.5)  # subscribed before we publish
    return proc


def test_feed_shows_events_malformed_payloads_and_offline_devices():
    site = _site()
    watcher = _start_watch("--site", site, "--json", "--count", "5")
    device = subprocess.Popen(
        [sys.executable, "-c", DEVICE_WITH_WILL, site], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert device.stdout.readline().strip() == "ready"
        with client(1883, f"pub-{site}") as pub:
            pub.publish_event(clock_event(site, "st-01", 1, staff="S017")).wait_for_publish(5)
            pub.publish(
                device_topic(site, "st-01", Kind.CLOCK), b'{"schema": "hallwatch.clock/1"}'
            ).wait_for_publish(5)
            pub.publish_event(leave_event(site, "st-01", 2, staff="S018")).wait_for_publish(5)
        os.kill(device.pid, signal.SIGKILL)  # no clean disconnect: the broker sends the will
        out, err = watcher.communicate(timeout=30)
    finally:
        device.kill()
        watcher.kill()
    records = [json.loads(line) for line in out.splitlines()]
    assert watcher.returncode == 0, err
    by_state = [
        (r["valid"], r["payload"].get("staff_id") or r["payload"].get("state"))
        for r in records
        if isinstance(r["payload"], dict)
    ]
    assert by_state == [
        (True, "online"),
        (True, "S017"),
        (False, None),
        (True, "S018"),
        (True, "offline"),
    ]
    malformed = records[2]
    assert "missing required field" in malformed["error"]


def test_feed_filters_by_staff_in_human_form():
    site = _site()
    watcher = _start_watch("--site", site, "--staff", "S002", "--count", "1")
    try:
        with client(1883, f"pub-{site}") as pub:
            pub.publish_event(clock_event(site, "st-01", 1, staff="S001")).wait_for_publish(5)
            pub.publish_event(
                clock_event(site, "st-01", 2, staff="S002", score=0.91)
            ).wait_for_publish(5)
        out, _ = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert f"{site}/st-01" in out and "S002  clock_in  face  score 0.91" in out
    assert "S001" not in out


def test_describe_never_raises_and_colours_severity():
    now = datetime.now(UTC)
    assert feed.describe("junk", b"\x00", now).level == "bad"
    alert = schema.Alert(
        id=new_event_id(),
        seq=1,
        site="hall-01",
        device="st-01",
        ts=utc_now(),
        kind=schema.AlertKind.SPOOF_SUSPECTED,
        severity=schema.Severity.SERIOUS,
        message="photo held up",
        staff_id="S017",
    )
    line = feed.describe("hallwatch/v1/hall-01/st-01/alert", schema.encode(alert), now)
    assert (
        line.level == "serious" and "SERIOUS spoof_suspected (S017): photo held up" in line.render()
    )


def test_watch_reports_an_unreachable_broker():
    result = subprocess.run(
        [*HALLWATCH, "watch", "--port", "1", "--count", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot connect to the MQTT broker at 127.0.0.1:1" in result.stderr
