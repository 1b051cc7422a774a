"""A whole hall for the chaos suite: real Mosquitto (TLS for devices), device processes
behind TCP proxies the test controls, the real rules service process, and the checks.

Devices are `tests.support.chaos_device` processes (journal + publisher, the station's own
modules) replaying a generated hall-month; the rules service is `hallwatch rules run`, or
(`service()`) instances in the test's process sharing a store, SQLite or PostgreSQL, as a
`$share` group. `verify()` proves every journaled event is in the central store exactly once and that the
central results equal a clean offline replay of exactly the journaled events.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import psycopg

from hallwatch.demo.relay import TcpProxy
from mqtt import schema
from mqtt.broker import Deployment, DeviceAccount, Listeners, ServiceAccount
from mqtt.client import BrokerConfig, MqttClient
from mqtt.ids import utc_now
from rules.backend import open_store
from rules.directory import Directory
from rules.policy import load_policy
from rules.replay import replay, results_digest
from rules.service import RulesService, RulesSettings, ServiceConfig
from rules.simulate import generate_month
from rules.store import SqliteStore
from tests.conftest import REPO
from tests.support.mosquitto import Mosquitto, free_port

SITE = "hall-01"
MONTH = "2026-10"
HALLWATCH = Path(sys.executable).with_name("hallwatch")


class Device:
    """One device: its events file, journal, proxy, and the process (restarted at will)."""

    def __init__(self, hall: Hall, name: str, events: list[schema.Event]) -> None:
        self.hall, self.name = hall, name
        self.dir = hall.root / "devices" / name
        self.dir.mkdir(parents=True)
        self.events_file = self.dir / "events.jsonl"
        self.events_file.write_bytes(b"".join(schema.encode(e) + b"\n" for e in events))
        self.journal = self.dir / "journal.db"
        self.proxy = TcpProxy(hall.broker.deployment.listeners.tls_port)
        self.broker_file = self.dir / "broker.json"
        self.broker_file.write_text(json.dumps(hall.device_broker(name, self.proxy.port)))
        self.process: subprocess.Popen | None = None
        self.runs = 0
        self.skew_s = 0.0
        self.pace_s = 0.0
        self.linger_until: Path | None = None  # answer resends and beat until it exists
        self.count = len(events)

    def start(self) -> None:
        self.runs += 1
        out = (self.dir / f"run-{self.runs}.out").open("wb")
        err = (self.dir / "stderr.log").open("ab")
        command = [sys.executable, "-m", "tests.support.chaos_device", str(self.journal)]
        command += [str(self.events_file), str(self.broker_file)]
        command += ["--pace-s", str(self.pace_s), "--skew-s", str(self.skew_s)]
        if self.linger_until is not None:
            command += ["--linger-until", str(self.linger_until), "--heartbeat-s", "0.5"]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def finish(self, timeout_s: float = 90) -> int:
        """Wait for the process to drain and exit; return its final backlog."""
        assert self.process is not None
        assert self.process.wait(timeout_s) == 0, (self.dir / "stderr.log").read_text()
        last = (self.dir / f"run-{self.runs}.out").read_bytes().splitlines()[-1]
        assert last.startswith(b"BACKLOG "), last
        return int(last.split()[1])

    def wait_journaled(self, count: int, timeout_s: float = 20) -> None:
        """Wait until this run of the device has journaled `count` events."""
        deadline = time.monotonic() + timeout_s
        out = self.dir / f"run-{self.runs}.out"
        while out.read_bytes().count(b"\nJ ") + out.read_bytes().startswith(b"J ") < count:
            assert time.monotonic() < deadline and self.running(), f"{self.name} stalled"
            time.sleep(0.02)

    def outputs(self) -> list[tuple[bytes, bytes]]:
        """(tag, body) of every complete line every run printed."""
        lines = []
        for run in range(1, self.runs + 1):
            for line in (self.dir / f"run-{run}.out").read_bytes().splitlines():
                tag, _, body = line.partition(b" ")
                lines.append((tag, body))
        return lines


class Hall:
    def __init__(
        self,
        root: Path,
        ca: Listeners,
        *,
        events: int = 300,
        seed: int = 9,
        instances: int = 1,
        store: str | None = None,
    ) -> None:
        """`instances`: rules accounts (rules, rules-2, ...); `store`: a PostgreSQL URL for
        the central store (default the SQLite file `db`)."""
        self.root = root
        sim = generate_month(MONTH, 3, seed=seed, site=SITE)
        chosen = sim.events[:events]
        by_device: dict[str, list[schema.Event]] = defaultdict(list)
        for event in chosen:
            by_device[event.device].append(event)
        listeners = ca.model_copy(
            update={"local_port": free_port(), "tls_port": free_port(), "websockets_port": None}
        )
        accounts = [
            DeviceAccount(site=SITE, id=name, role="station" if name.startswith("st-") else "agent")
            for name in by_device
        ]
        services = [*Deployment().services]
        services += [
            ServiceAccount(name=f"rules-{n}", role="rules") for n in range(2, instances + 1)
        ]
        deployment = Deployment(listeners=listeners, devices=accounts, services=services)
        self.broker = Mosquitto(deployment, root / "broker")
        self.broker.start()
        self.policy_file, _ = sim.write(root / "sim")
        self.devices = {name: Device(self, name, evs) for name, evs in by_device.items()}
        self.db = root / "central" / "rules.db"
        self.store_at: Path | str = store or self.db
        self.rules_log = root / "central" / "rules.log"
        self.rules_config = self._write_rules_config()
        self.rules: subprocess.Popen | None = None
        self.rules_starts = 0
        # Events the test published itself, as a device (duplicated, out of order).
        self.direct: dict[str, bytes] = {}

    # -- configuration ---------------------------------------------------------------
    def device_broker(self, name: str, port: int) -> dict:
        user = f"{SITE}.{name}"
        return {
            "host": "localhost",
            "port": port,
            "username": user,
            "password": self.broker.password(user),
            "tls": {"ca_file": str(self.broker.deployment.listeners.ca_file)},
            "keepalive_s": 5,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1,
        }

    def _write_rules_config(self) -> Path:
        self.db.parent.mkdir(parents=True)
        path = self.db.parent / "rules.toml"
        path.write_text(
            f'[broker]\nport = {self.broker.port}\nusername = "rules"\n'
            f'password = "{self.broker.password("rules")}"\n'
            f'[rules]\ndb = "{self.db}"\npolicy = "{self.policy_file}"\n'
            'group = ""\nclient_id = "rules-chaos-1"\nrecompute_every_s = 0.3\n'
        )
        return path

    def passwords(self) -> list[str]:
        users = [f"{SITE}.{name}" for name in self.devices]
        users += [s.name for s in self.broker.deployment.services]
        return [self.broker.password(user) for user in users]

    def service(
        self, account: str = "rules", *, group: str | None = None, resend_after_s: float = 0.5
    ) -> RulesService:
        """A rules service instance in this process on the hall's store (started by the
        caller), folding what came in every 0.2 s. It comes back to a restarted broker
        after the devices do, as a busy central host may: a `$share` group's messages meet
        no subscriber in between."""
        broker = BrokerConfig(
            port=self.broker.port,
            username=account,
            password=self.broker.password(account),
            reconnect_min_s=4,
            reconnect_max_s=4,
        )
        settings = RulesSettings(
            db=self.store_at, policy=self.policy_file, group=group, client_id=f"chaos-{account}",
            recompute_every_s=0.3, resend_after_s=resend_after_s,
        )  # fmt: skip
        service = RulesService(ServiceConfig(broker=broker, rules=settings))
        service.delivery.every_s = 0.2
        return service

    # -- the rules service -----------------------------------------------------------
    def start_rules(self, *, wait: bool = False) -> None:
        """Start the service; with `wait`, until it has subscribed (the first start: MQTT
        keeps nothing for a subscription that does not exist yet)."""
        self.rules_starts += 1
        log = self.rules_log.open("ab")
        command = [str(HALLWATCH), "rules", "run", "--config", str(self.rules_config)]
        self.rules = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while wait and self.rules_log.read_text().count("rules service up") < self.rules_starts:
            assert time.monotonic() < deadline and self.rules.poll() is None, "no service"
            time.sleep(0.05)
        if wait:
            time.sleep(0.3)  # its SUBACK

    def kill_rules(self) -> None:
        assert self.rules is not None
        self.rules.send_signal(signal.SIGKILL)
        self.rules.wait(10)

    def stop_rules(self) -> None:
        assert self.rules is not None
        self.rules.send_signal(signal.SIGTERM)
        assert self.rules.wait(30) == 0, self.rules_log.read_text()[-3000:]

    def device_client(self, name: str) -> MqttClient:
        """A client with `name`'s own credentials, over its proxy and TLS."""
        device = self.devices[name]
        config = BrokerConfig.model_validate(self.device_broker(name, device.proxy.port))
        return MqttClient(config, f"{SITE}-{name}-direct")

    # -- running ---------------------------------------------------------------------
    def start_devices(self, pace_s: float = 0.0, linger_until: Path | None = None) -> None:
        for device in self.devices.values():
            device.pace_s, device.linger_until = pace_s, linger_until
            device.start()

    def wait_journaled_all(self, timeout_s: float = 30) -> None:
        """Until every device has journaled all its events (a lingering one beats on)."""
        for device in self.devices.values():
            device.wait_journaled(device.count, timeout_s)

    def wait_central(self, timeout_s: float = 30) -> set[str]:
        """Until the centre holds every event journaled so far; what it still misses."""
        deadline = time.monotonic() + timeout_s
        while (missing := set(self.journaled()) - set(self.central())) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        return missing

    def chaos(self, seconds: float, rng: random.Random, action) -> int:
        """Call `action(rng)` at random moments for `seconds`; return how many times."""
        deadline, count = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.2))
            action(rng)
            count += 1
        return count

    def finish_devices(self) -> None:
        for device in self.devices.values():
            if not device.running():
                device.start()  # a killed one comes back, as systemd would restart it
        for device in self.devices.values():
            assert device.finish() == 0

    def journaled(self) -> dict[str, bytes]:
        """Every event a journal recorded (printed once durable, or still in the journal)."""
        found: dict[str, bytes] = dict(self.direct)
        for device in self.devices.values():
            for tag, body in device.outputs():
                if tag == b"J":
                    event = schema.decode(body)
                    assert found.setdefault(event.id, body) == body, "one id, two payloads"
        return found

    def central(self) -> dict[str, list[bytes]]:
        """The central store's events by id (a list, so a duplicate would show)."""
        rows: dict[str, list[bytes]] = defaultdict(list)
        if isinstance(self.store_at, str):
            with psycopg.connect(self.store_at) as conn:
                try:
                    found = conn.execute('SELECT "id", "payload" FROM events').fetchall()
                except psycopg.errors.UndefinedTable:
                    return {}
            for event_id, payload in found:
                rows[event_id].append(payload.encode())
            return rows
        if not self.db.exists():
            return {}
        try:
            with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
                for event_id, payload in conn.execute("SELECT id, payload FROM events"):
                    rows[event_id].append(payload.encode())
        except sqlite3.OperationalError:
            return {}  # the service is still creating its tables
        return rows

    def settle(self, timeout_s: float = 60) -> None:
        """Wait for the centre to hold every journaled event, then stop it (it flushes)."""
        self.wait_central(timeout_s)
        self.stop_rules()

    def backup(self) -> Path:
        """A copy of the SQLite store, as a nightly backup takes it (SQLite's backup API)."""
        copy = self.root / "central" / "backup.db"
        _copy_database(self.db, copy)
        return copy

    def restore(self, copy: Path) -> None:
        """Put a backup back in place of the store (with the service stopped)."""
        _copy_database(copy, self.db)

    # -- the checks ------------------------------------------------------------------
    def verify(self) -> dict[str, int]:
        journaled = self.journaled()
        central = self.central()
        missing = set(journaled) - set(central)
        assert not missing, f"{len(missing)} journaled events never reached the store"
        assert set(central) == set(journaled), "the store holds events no device journaled"
        assert all(len(copies) == 1 for copies in central.values())
        for event_id, body in journaled.items():
            assert schema.decode(central[event_id][0]) == schema.decode(body)
        # A clean replay of exactly the journaled events, in another order, in a new store.
        lines = list(journaled.values())
        random.Random(1).shuffle(lines)
        policy = load_policy(self.policy_file)
        clean = SqliteStore(self.root / "replay.db", synchronous="OFF")
        live = open_store(self.store_at)
        # The correction numbers the service announced are an input of the replay as well:
        # they keep the order in which violations became known (docs/rules.md, rule 23).
        for staff, numbers in live.numbers(MONTH).items():
            clean.keep_numbers(staff, MONTH, numbers)
        summary = replay(lines, policy, Directory.from_policy(policy), clean, now=utc_now())
        try:
            assert summary.dead_letters == 0 and summary.stored == len(journaled)
            months = list(summary.months)
            assert [v for m in months for v in live.violations(month=m)] == [
                v for m in months for v in clean.violations(month=m)
            ]
            assert results_digest(live, months) == summary.digest
            violations = sum(summary.months.values())
        finally:
            live.close()
            clean.close()
        self.assert_no_secret_in_logs()
        return {"events": len(journaled), "violations": violations}

    def assert_no_secret_in_logs(self) -> None:
        logs = [self.rules_log, self.root / "broker" / "mosquitto.log"]
        logs += [d.dir / "stderr.log" for d in self.devices.values()]
        text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
        assert text, "no logs captured"
        for password in self.passwords():
            assert password not in text

    def close(self) -> None:
        for device in self.devices.values():
            if device.running():
                device.kill()
            device.proxy.close()
        if self.rules is not None and self.rules.poll() is None:
            self.kill_rules()
        self.broker.stop()


def _copy_database(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
