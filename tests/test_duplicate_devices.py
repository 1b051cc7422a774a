"""Two devices configured with one id, on a real Mosquitto: each notices, backs off and
alerts; the centre raises it; the retained status never says offline while one is online."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from mqtt import schema
from mqtt.ids import utc_now
from mqtt.topics import Kind, device_topic
from rules.directory import Directory
from rules.inspection import inspect_day
from rules.store import Arrival
from tests.conftest import REPO
from tests.rules_helpers import SITE, policy
from tests.support.mosquitto import anonymous_broker

# A station-like device: the real client with a will, online on every connection, an alert
# journal of one line (stdout), and the twin handling of MqttClient.
DEVICE = """
import sys, time
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient, twin_message
from mqtt.ids import BOOT_ID, utc_now
port, site = int(sys.argv[1]), sys.argv[2]
def status(state):
    return schema.status_for(site, "st-01", "station", state, utc_now())
client = None
def online(up):
    if up:
        client.publish_event(status("online"))
def twin(boot):
    print("ALERT", twin_message(site, "st-01", boot), flush=True)
broker = BrokerConfig(port=port, reconnect_min_s=1, reconnect_max_s=30)
client = MqttClient(broker, "hallwatch-" + site + "-st-01", will=status("offline"),
                    on_connection=online, on_twin=twin)
client.start()
print("BOOT", BOOT_ID, flush=True)
sys.stdin.readline()
client.stop(final_status=status("offline"))
print("STOPPED", flush=True)
"""


class Watcher:
    """Every status on the device's topic, as the broker passes it on."""

    def __init__(self, port: int, site: str) -> None:
        self.statuses: list[schema.Status] = []
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{site}")
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(device_topic(site, "st-01", Kind.STATUS), 1)
        self.client.loop_start()

    def _message(self, client, userdata, message) -> None:
        with self.lock:
            self.statuses.append(schema.decode_as(schema.Status, message.payload, message.topic))

    def seen(self) -> list[schema.Status]:
        with self.lock:
            return list(self.statuses)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def start_device(port: int, site: str) -> tuple[subprocess.Popen, str]:
    device = subprocess.Popen(
        [sys.executable, "-c", DEVICE, str(port), site],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = device.stdout.readline().split()
    assert line[0] == "BOOT", line
    return device, line[1]


def read_line(device: subprocess.Popen, timeout_s: float) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(device.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return found[0].strip() if found else ""


def test_two_devices_with_one_id_alert_back_off_and_never_leave_a_false_offline(tmp_path):
    site = "dup"
    with anonymous_broker(tmp_path / "broker") as port:
        watcher = Watcher(port, site)
        first, first_boot = start_device(port, site)
        time.sleep(1.0)
        second, second_boot = start_device(port, site)
        began = time.monotonic()
        try:
            # Within one reconnect cycle (1 s here, then the other's turn), both say so.
            alerts = [read_line(device, 8.0) for device in (first, second)]
            took = time.monotonic() - began
            assert alerts[0].startswith("ALERT") and second_boot in alerts[0], alerts
            assert f"this one is boot {first_boot}" in alerts[0]
            assert alerts[1].startswith("ALERT") and first_boot in alerts[1], alerts
            assert took < 8.0

            # Backed off: they no longer take the id from each other every second.
            time.sleep(3.0)
            settled = len(watcher.seen())
            time.sleep(4.0)
            assert len(watcher.seen()) - settled <= 2

            # One shuts down cleanly: it was taken over, so it says nothing of offline.
            first.communicate("\n", timeout=15)
        finally:
            for device in (first, second):
                if device.poll() is None:
                    device.kill()
                    device.wait()
        seen = watcher.seen()
        watcher.close()
        assert [s for s in seen if s.state == "offline" and s.boot == first_boot] == []
        assert {s.boot for s in seen} == {first_boot, second_boot}


def test_a_device_restarting_normally_raises_nothing(tmp_path):
    site = "restart"
    with anonymous_broker(tmp_path / "broker") as port:
        watcher = Watcher(port, site)
        first, first_boot = start_device(port, site)
        time.sleep(0.5)
        first.communicate("\n", timeout=15)
        second, _ = start_device(port, site)
        try:
            assert read_line(second, 4.0) == ""  # no alert
        finally:
            second.kill()
            second.wait()
        watcher.close()
        # The clean shutdown said offline (nobody else was online under the id).
        assert any(s.state == "offline" and s.boot == first_boot for s in watcher.seen())


def test_the_centre_raises_two_boots_taking_turns_and_keeps_the_device_online(store):
    now = utc_now()
    a, b = "a" * 16, "b" * 16

    def status(state: str, boot: str, seq: int) -> schema.Status:
        ts = now + timedelta(seconds=seq)
        made = schema.status_for(SITE, "st-01", "station", state, ts)
        return msgspec.structs.replace(made, boot=boot, seq=seq)

    def arrive(*statuses: schema.Status) -> None:
        for i, s in enumerate(statuses):
            store.add_events([s], arrivals={s.id: Arrival(s.ts + timedelta(milliseconds=i))})

    # A restart: boot a, then boot b (a gone for good): nothing raised.
    arrive(status("online", a, 1), status("offline", a, 2), status("online", b, 3))
    (seen,) = store.device_statuses()
    assert (seen.boot, seen.online, seen.rival_seen) == (b, True, None)
    # Boot a's will, as b is online: the device stays online.
    arrive(status("offline", a, 0))
    (seen,) = store.device_statuses()
    assert (seen.boot, seen.online) == (b, True)

    # Boot a comes back while b is online: two devices under one id.
    arrive(status("online", a, 4))
    (seen,) = store.device_statuses()
    assert seen.rival_boot == b and seen.rival_seen is not None
    assert seen.version is not None
    hall = policy()
    day = now.astimezone(hall.zone(SITE)).date()
    report = inspect_day(hall, Directory.from_policy(hall), day, SITE, [], [], [seen], [], now)
    (item,) = [i for i in report.open_items if "two devices use the id st-01" in i.text]
    assert a in item.text and b in item.text
    (line,) = report.devices
    assert (line.state, line.version) == ("online", seen.version)
