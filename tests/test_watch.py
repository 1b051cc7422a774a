"""`hallwatch watch`: the admins' live feed, end to end through the real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from mqtt import feed, schema
from mqtt.cli import run_feed
from mqtt.client import BrokerConfig
from mqtt.ids import utc_now
from mqtt.topics import Kind, device_topic
from tests.command_helpers import HALLWATCH, run_hallwatch
from tests.conftest import REPO
from tests.mqtt_helpers import client, clock_event, leave_event
from tests.support.mosquitto import anonymous_broker, free_port

SHANGHAI = ZoneInfo("Asia/Shanghai")

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
    alert = schema.new_event(
        schema.Alert,
        "hall-01",
        "st-01",
        utc_now(),
        seq=1,
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
    result = run_hallwatch("watch", "--port", "1", "--count", "1")
    assert result.returncode == 1
    assert "cannot connect to the MQTT broker at 127.0.0.1:1" in result.stderr


class _Feed:
    """`run_feed` in a thread, as `hallwatch watch` runs it, keeping every line."""

    def __init__(self, broker: BrokerConfig, site: str, zone=SHANGHAI) -> None:
        self.lines: list[feed.FeedLine] = []
        self.stop = threading.Event()
        selection = feed.FeedFilter(sites=frozenset({site}))
        self.thread = threading.Thread(
            target=run_feed,
            args=(broker, selection, lambda line, _: self.lines.append(line)),
            kwargs={"stop": self.stop, "zone": zone},
            daemon=True,
        )

    def __enter__(self) -> _Feed:
        self.thread.start()
        time.sleep(1.0)  # subscribed
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def wait_for(self, words: str, timeout_s: float = 20.0) -> feed.FeedLine:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if words in line.text]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"{words!r} never in {[line.text for line in self.lines]}")


def test_every_time_on_a_feed_line_is_in_the_chosen_zone():
    """The issue's case: the return of an outing printed in UTC while the screen said 16:45."""
    ts = datetime(2026, 11, 24, 7, 45, tzinfo=UTC)  # 15:45 in the hall
    back = datetime(2026, 11, 24, 8, 45, tzinfo=UTC)  # 16:45
    punch = leave_event("hall-01", "st-01", 1)
    punch = msgspec.structs.replace(
        punch, ts=ts, leave=msgspec.structs.replace(punch.leave, expected_return=back)
    )
    line = feed.describe(
        "hallwatch/v1/hall-01/st-01/clock", schema.encode(punch), utc_now(), zone=SHANGHAI
    )
    assert line.render().startswith("15:45:00  hall-01/st-01")
    assert "back by 16:45]" in line.render()


def test_a_device_that_drops_off_is_offline_from_when_the_feed_saw_it_go():
    site = _site()
    with _Feed(BrokerConfig(), site) as watching:
        device = subprocess.Popen(
            [sys.executable, "-c", DEVICE_WITH_WILL, site],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        try:
            assert device.stdout.readline().strip() == "ready"
            time.sleep(2.5)  # connected for a while before it drops off
            os.kill(device.pid, signal.SIGKILL)  # no clean disconnect: the broker sends the will
            gone = utc_now()
            offline = watching.wait_for("OFFLINE")
        finally:
            device.kill()
    will = offline.event
    assert schema.is_will(will) and gone - will.ts >= timedelta(seconds=2)
    # Timed when the feed saw it go, not when the device connected (the will's ts).
    assert abs(offline.when - gone) < timedelta(seconds=2)
    connected = will.ts.astimezone(SHANGHAI).strftime("%H:%M:%S")
    assert offline.render().startswith(offline.when.astimezone(SHANGHAI).strftime("%H:%M:%S"))
    assert f"connection lost (connected since {connected})" in offline.text
    # A feed started later gets the broker's retained copy: it says the device went earlier.
    with _Feed(BrokerConfig(), site) as later:
        retained = later.wait_for("OFFLINE")
    assert f"went away earlier (kept by the broker; connected since {connected})" in retained.text


def test_the_feed_says_when_the_broker_went_away(tmp_path):
    site = _site()
    port = free_port()
    broker = BrokerConfig(port=port, reconnect_min_s=0.2, reconnect_max_s=1.0)
    with anonymous_broker(tmp_path / "broker", port, persistence=True):
        watching = _Feed(broker, site).__enter__()
    try:
        lost = watching.wait_for("broker connection LOST")
        with anonymous_broker(tmp_path / "broker", port, persistence=True):
            back = watching.wait_for("broker connection back")
    finally:
        watching.__exit__()
    assert lost.level == "offline" and lost.source == "broker" and back.received > lost.received


def test_the_feed_takes_its_zone_from_the_stations_config_and_says_which(tmp_path):
    site = _site()
    station = tmp_path / "station.toml"
    station.write_text(f'site = "{site}"\ndevice = "st-01"\ntimezone = "Asia/Kolkata"\n')
    watcher = _start_watch("--site", site, "--count", "1", "--config", str(station))
    punch = clock_event(site, "st-01", 1, staff="S002")
    try:
        with client(1883, f"pub-{site}") as pub:
            pub.publish_event(punch).wait_for_publish(5)
        out, err = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert "times in Asia/Kolkata (UTC+05:30)" in err
    kolkata = punch.ts.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M:%S")
    assert out.startswith(f"{kolkata}  {site}/st-01")
    bad = run_hallwatch("watch", "--tz", "Mars/Olympus", "--count", "1")
    assert bad.returncode == 2 and "unknown time zone 'Mars/Olympus'" in bad.stderr


def test_a_punch_confirmed_in_the_grey_zone_says_by_what():
    now = datetime.now(UTC)
    topic = "hallwatch/v1/hall-01/st-01/clock"
    confirmed = clock_event("hall-01", "st-01", 1, second_factor=schema.SecondFactor.STAFF_NUMBER)
    line = feed.describe(topic, schema.encode(confirmed), now).render()
    assert "S001  clock_in  face  score 0.80  (confirmed by staff number)" in line
    plain = feed.describe(topic, schema.encode(clock_event("hall-01", "st-01", 2)), now)
    assert "confirmed" not in plain.render()  # a punch from before the grey zone reads as ever
