"""Devices at the centre: offline from when the centre saw them go, in the site's zone,
and a broker that went away told apart from a device that did."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, timedelta

from mqtt import schema
from mqtt.client import BrokerConfig
from mqtt.ids import new_event_id, utc_now
from rules import render
from rules.inspection import inspect_day, load_inspection
from rules.service import RulesService, RulesSettings, ServiceConfig
from rules.store import Arrival, DeviceSeen
from tests.conftest import REPO
from tests.rules_helpers import DAY, SITE, at, directory_of, policy
from tests.support.mosquitto import anonymous_broker, free_port

DEVICE = """
import sys, time
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import new_event_id, utc_now
site, port = sys.argv[1], int(sys.argv[2])
def status(state, seq):
    return schema.Status(id=new_event_id(), seq=seq, site=site, device="st-09", ts=utc_now(),
                         state=state, role="station")
broker = BrokerConfig(port=port, reconnect_min_s=0.2, reconnect_max_s=1)
c = MqttClient(broker, "will-" + site, will=status("offline", 0)).start()
c.publish_event(status("online", 1)).wait_for_publish(5)
print("ready", flush=True)
time.sleep(120)
"""


def _status(state: str, seq: int, ts, device: str = "st-01") -> schema.Status:
    return schema.Status(
        id=new_event_id(), seq=seq, site=SITE, device=device, ts=ts, state=state, role="station"
    )


def test_a_devices_state_is_its_last_status_to_arrive(store):
    connected = at("08:00")
    heartbeat = _status("online", 5, at("09:00"))
    will = _status("offline", 0, connected)  # fixed when the device connected
    pair = [will, heartbeat]
    # One batch, out of order: the arrivals decide, not the device's times or ids.
    arrivals = {heartbeat.id: Arrival(at("09:00:01")), will.id: Arrival(at("09:20:07"))}
    store.add_events(pair, arrivals=arrivals)
    # A redelivered heartbeat (a duplicate) changes nothing.
    store.add_events(pair[1:], arrivals={heartbeat.id: Arrival(at("09:30"))})
    # Statuses stored without arrivals (a replay) fall back to the device's own times.
    replayed = [
        _status("online", 1, at("08:00"), "st-02"),
        _status("offline", 2, at("12:00"), "st-02"),
    ]
    store.add_events(replayed)
    assert store.device_statuses() == [
        DeviceSeen(will, at("09:20:07")),
        DeviceSeen(replayed[1], at("12:00")),
    ]


def test_wills_that_came_as_the_broker_went_away_are_the_brokers(store):
    early = _status("offline", 0, at("08:00"), "st-01")  # went at 09:00, on its own
    late = _status("offline", 0, at("08:00"), "st-02")  # published by a stopping broker
    online = _status("online", 3, at("09:59"), "st-03")
    store.add_events(
        [early, late, online],
        arrivals={
            early.id: Arrival(at("09:00")),
            late.id: Arrival(at("10:00:00.2")),
            online.id: Arrival(at("10:00:00.1")),
        },
    )
    store.broker_went_away(at("10:00:00.3"), since=at("09:59:58.3"))
    assert store.device_statuses() == [
        DeviceSeen(early, at("09:00")),
        DeviceSeen(late, at("10:00:00.2"), broker_lost=at("10:00:00.3")),
        DeviceSeen(online, at("10:00:00.1")),
    ]


def test_inspection_times_an_offline_device_when_the_centre_saw_it_go():
    """The issue's case: OFFLINE shown at the will's connect-time stamp, as of +00:00."""
    will = _status("offline", 0, at("08:00"))
    gone = DeviceSeen(will, at("10:02:31").astimezone(UTC))  # arrivals are kept in UTC
    away = DeviceSeen(
        _status("offline", 0, at("08:00"), "st-02"), at("10:05"), broker_lost=at("10:04:50")
    )
    stopped = DeviceSeen(_status("offline", 7, at("10:01"), "st-03"), at("10:01:02"))
    now = at("10:30").astimezone(UTC)
    report = inspect_day(
        policy(), directory_of(), DAY, SITE, [], [], [gone, away, stopped], [], now
    )
    lines = {d.device: d for d in report.offline}
    assert (lines["st-01"].since, lines["st-01"].why) == (at("10:02:31"), "connection lost")
    assert (lines["st-02"].since, lines["st-02"].why) == (at("10:04:50"), "the broker went away")
    assert (lines["st-03"].since, lines["st-03"].why) == (at("10:01"), "shut down")
    text = render.inspection_text(report, "en")
    assert "(as of 2026-11-24 10:30 +08:00)" in text
    assert "st-01 (station): offline since 2026-11-24 10:02 +08:00 (connection lost)" in text
    assert '"since": "2026-11-24T10:04:50+08:00"' in render.to_json(report)
    assert "st-01 (考勤终端): 离线 自 2026-11-24 10:02 +08:00 (连接中断)" in render.inspection_text(
        report
    )


def _service(tmp_path, site: str, port: int) -> RulesService:
    pol_file = tmp_path / "policy.toml"
    pol_file.write_text(
        f'[sites.{site}]\ntimezone = "Asia/Shanghai"\n'
        f'[[windows]]\nid = "w1"\nsite = "{site}"\nstaff = ["S1"]\n'
    )
    config = ServiceConfig(
        broker=BrokerConfig(port=port, reconnect_min_s=0.2, reconnect_max_s=1.0),
        rules=RulesSettings(
            db=tmp_path / "rules.db",
            policy=pol_file,
            group=None,
            client_id=f"rules-{secrets.token_hex(4)}",
            sites=[site],
            recompute_every_s=0.2,
        ),
    )
    return RulesService(config).start()


def _device(site: str, port: int) -> subprocess.Popen:
    device = subprocess.Popen(
        [sys.executable, "-c", DEVICE, site, str(port)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert device.stdout.readline().strip() == "ready"
    return device


def _offline_line(service: RulesService, site: str, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        report = load_inspection(
            service.store, service.policy, service.directory(), DAY, site, utc_now()
        )
        found = [d for d in report.offline if d.device == "st-09"]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("the device never showed offline")


def test_the_centre_sees_a_device_go_and_tells_a_broker_that_went_away(tmp_path):
    site = f"t{secrets.token_hex(5)}"
    port = free_port()
    folder = tmp_path / "broker"
    with anonymous_broker(folder, port, persistence=True):
        service = _service(tmp_path, site, port)
        try:
            device = _device(site, port)
            time.sleep(2.5)  # connected a while before it drops off
            device.send_signal(signal.SIGKILL)  # no clean disconnect: the broker sends the will
            device.wait(5)
            dropped = utc_now()
            line = _offline_line(service, site)
            assert line.why == "connection lost"
            assert abs(line.since - dropped) < timedelta(seconds=2)  # not its connect time
            assert line.since.utcoffset() == timedelta(hours=8)  # the site's zone
            device = _device(site, port)  # back: online again
            time.sleep(1)
        except BaseException:
            service.stop()
            raise
    broker_gone = utc_now()  # a stopping broker publishes every client's will
    try:
        device.kill()  # and this device does not come back
        device.wait(5)
        time.sleep(1)
        with anonymous_broker(folder, port, persistence=True):
            line = _offline_line(service, site)
    finally:
        service.stop()
    assert line.why == "the broker went away"
    assert abs(line.since - broker_gone) < timedelta(seconds=3)
