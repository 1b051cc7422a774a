"""Ingest through a real Mosquitto: store once, dead letters, late events, shared load."""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from mqtt import schema, topics
from mqtt.client import BrokerConfig, MqttClient, topic_for
from mqtt.schema import Action
from rules.service import RulesService, RulesSettings, ServiceConfig
from rules.simulate import generate_month
from rules.store import SqliteStore
from tests.mqtt_helpers import Collector
from tests.rules_helpers import clock
from tests.support.mosquitto import free_port

PAST = date(2026, 10, 13)  # a settled Tuesday


def wait_until(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def on_site(event: schema.Event, site: str) -> schema.Event:
    return msgspec.structs.replace(event, site=site)


def test_store_keeps_each_event_once_in_a_private_file(store):
    a, b = clock("09:00"), clock("09:01")
    assert store.add_events([a, a]) == [a]
    assert store.add_events([a, b]) == [b]
    assert [e.id for e in store.events(a.ts, b.ts + (b.ts - a.ts))] == [a.id, b.id]
    if isinstance(store, SqliteStore):
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_new_events_mark_their_person_day_until_it_is_recomputed(store):
    from rules.recompute import recompute_person_month
    from tests.rules_helpers import directory_of, policy

    late = clock("09:20", day=PAST)
    person_month = ("S1", "2026-10")
    store.add_events([late], lambda event: [("S1", PAST)])
    assert store.pending() == [person_month]
    again = clock("09:30", day=PAST)
    with store.recomputing(*person_month) as pending:
        assert pending and pending.days == {PAST: 1}
        # Marked again while this cycle runs (as by another instance): the mark survives.
        store.add_events([again], lambda event: [("S1", PAST)])
    assert store.pending() == [person_month]
    change = recompute_person_month(
        store, policy(), directory_of(), "S1", "2026-10", None, if_pending=True
    )
    assert [v.rule for v in change[0] if v.day == PAST][:1] == ["late"]
    assert store.pending() == []
    assert recompute_person_month(
        store, policy(), directory_of(), "S1", "2026-10", None, if_pending=True
    ) == (
        [],
        [],
    )


@pytest.fixture
def service_for(tmp_path, store_at):
    started: list[RulesService] = []

    def start(site: str, group: str, name: str = "a") -> RulesService:
        pol_file = tmp_path / "policy.toml"
        pol_file.write_text(f'[[windows]]\nid = "w1"\nsite = "{site}"\nstaff = ["S1"]\n')
        config = ServiceConfig(
            broker=BrokerConfig(persistent_session=False),
            rules=RulesSettings(
                db=store_at(name),
                policy=pol_file,
                group=group,
                client_id=f"rules-{name}-{secrets.token_hex(4)}",
                sites=[site],
                recompute_every_s=0.2,
            ),
        )
        service = RulesService(config).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def test_ingest_stores_once_dead_letters_and_recomputes_late_events(service_for):
    site = f"t-{secrets.token_hex(4)}"
    service = service_for(site, f"g{secrets.token_hex(3)}")
    seen = Collector()
    watcher = MqttClient(BrokerConfig(persistent_session=False), f"w-{site}", on_message=seen)
    watcher.subscribe(topics.subscription(site, topics.CENTRAL))
    device = MqttClient(BrokerConfig(persistent_session=False), f"d-{site}")
    with watcher, device:
        time.sleep(0.3)  # let the subscriptions settle
        late = on_site(clock("09:20", day=PAST), site)
        others = [
            on_site(clock(t, a, day=PAST), site)
            for t, a in [
                ("12:02", Action.CLOCK_OUT),
                ("13:20", Action.CLOCK_IN),
                ("17:01", Action.CLOCK_OUT),
            ]
        ]
        for event in [late, late, *others]:  # the first one twice: a redelivery
            device.publish_event(event).wait_for_publish(5)
        clock_topic = topic_for(late)
        device.publish(clock_topic, b"{not json").wait_for_publish(5)
        impostor = on_site(msgspec.structs.replace(clock("09:00"), device="st-99"), site)
        device.publish(clock_topic, schema.encode(impostor)).wait_for_publish(5)

        def violations_on(day_rule):
            return [v for v in service.store.violations(staff="S1") if (v.day, v.rule) == day_rule]

        assert wait_until(lambda: violations_on((PAST, "late")))
        found = violations_on((PAST, "late"))[0]
        assert found.evidence == (late.id,)
        assert service.ingest.duplicates == 1 and service.ingest.rejected == 2
        reasons = [d.reason for d in service.store.dead_letters()]
        assert any("not valid JSON" in r for r in reasons)
        assert any("does not match the topic's publisher" in r for r in reasons)

        # The device that was offline delivers an earlier clock-in: no longer late.
        device.publish_event(on_site(clock("08:58", day=PAST), site)).wait_for_publish(5)
        assert wait_until(lambda: not violations_on((PAST, "late")))

        def published(kind):
            return [schema.decode(p, t) for t, p in seen.messages if t.endswith(kind)]

        assert wait_until(
            lambda: any(
                v.violation_id == found.violation_id and v.status == "voided"
                for v in published("/violation")
            )
        )
        first = next(v for v in published("/violation") if v.violation_id == found.violation_id)
        assert first.rule == "late" and first.evidence == [late.id] and first.correction_no
        letters = published("/deadletter")
        assert len(letters) == 2 and all(d.topic == clock_topic for d in letters)


def test_instances_in_one_group_share_the_load(service_for):
    site, group = f"t-{secrets.token_hex(4)}", f"g{secrets.token_hex(3)}"
    a, b = service_for(site, group, "a"), service_for(site, group, "b")
    device = MqttClient(BrokerConfig(persistent_session=False), f"d-{site}")
    with device:
        time.sleep(0.3)
        infos = [device.publish_event(on_site(clock("09:00", day=PAST), site)) for _ in range(200)]
        for info in infos:
            info.wait_for_publish(5)
        assert wait_until(lambda: a.ingest.stored + b.ingest.stored == 200)
    assert a.ingest.stored > 20 and b.ingest.stored > 20


def replayed_hall(tmp_path, port: int) -> tuple[str, list[str], dict]:
    """A short generated month on its own site, replayed; the config, and one violation."""
    site = f"t-{secrets.token_hex(4)}"
    policy_file, events_file = generate_month("2026-10", 5, seed=4, site=site).write(tmp_path)
    db = tmp_path / "rules.db"
    config = tmp_path / "rules.toml"
    config.write_text(f'[broker]\nport = {port}\n[rules]\ndb = "{db}"\npolicy = "{policy_file}"\n')
    runner = CliRunner()
    replay = ["rules", "replay", "--events", str(events_file), "--policy", str(policy_file)]
    replayed = runner.invoke(main, [*replay, "--db", str(db)])
    assert replayed.exit_code == 0, replayed.output
    listed = runner.invoke(main, ["violations", "--config", str(config), "--json"])
    return site, ["--config", str(config)], json.loads(listed.output)[0]


def test_manager_actions_are_announced_on_mqtt(tmp_path):
    site, config, target = replayed_hall(tmp_path, 1883)
    seen = Collector()
    watcher = MqttClient(BrokerConfig(persistent_session=False), f"w-{site}", on_message=seen)
    watcher.subscribe(topics.subscription(site, topics.CENTRAL))
    with watcher:
        time.sleep(0.3)
        void = ["void", target["violation_id"], "--reason", "appeal upheld", "--by", "wang"]
        result = CliRunner().invoke(main, [*void, *config])
        assert result.exit_code == 0, result.output
        messages = seen.wait_for(2)
    decoded = [schema.decode(p, t) for t, p in messages]
    correction = next(e for e in decoded if isinstance(e, schema.Correction))
    assert (correction.target, correction.action, correction.by, correction.reason) == (
        target["violation_id"],
        "void",
        "wang",
        "appeal upheld",
    )
    voided = [e for e in decoded if isinstance(e, schema.Violation)]
    assert any(v.violation_id == target["violation_id"] and v.status == "voided" for v in voided)


def test_an_unreachable_broker_warns_but_keeps_the_action(tmp_path):
    _, config, target = replayed_hall(tmp_path, free_port())
    result = CliRunner().invoke(
        main, ["correct", target["violation_id"], "--note", "told", *config]
    )
    assert result.exit_code == 0 and "not announced on MQTT" in result.output
    store = SqliteStore(Path(config[1]).with_name("rules.db"))
    assert store.violation(target["violation_id"]).status == "corrected"
    store.close()


def test_the_service_command_runs_and_stops_cleanly_on_sigterm(tmp_path):
    site = f"t-{secrets.token_hex(4)}"
    (tmp_path / "policy.toml").write_text(
        f'[[windows]]\nid = "w1"\nsite = "{site}"\nstaff = ["S1"]\n'
    )
    db = tmp_path / "rules.db"
    config = tmp_path / "rules.toml"
    config.write_text(
        f'[broker]\npersistent_session = false\n[rules]\ndb = "{db}"\n'
        f'policy = "{tmp_path / "policy.toml"}"\ngroup = "g{site}"\nclient_id = "{site}"\n'
        f'sites = ["{site}"]\nrecompute_every_s = 0.2\n'
    )
    hallwatch = Path(sys.executable).with_name("hallwatch")
    process = subprocess.Popen(
        [str(hallwatch), "rules", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        device = MqttClient(BrokerConfig(persistent_session=False), f"d-{site}")
        event = on_site(clock("09:30", day=PAST), site)
        with device:
            # Publish until the service has subscribed and stored it (it starts in the background).
            def stored() -> bool:
                device.publish_event(event).wait_for_publish(5)
                if not db.exists():
                    return False
                try:  # read only: the service may still be creating its tables
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                        found = conn.execute("SELECT 1 FROM events WHERE id = ?", [event.id])
                        return found.fetchone() is not None
                except sqlite3.OperationalError:
                    return False

            assert wait_until(stored, timeout_s=20)
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    store = SqliteStore(db)
    # Judged before exiting: late in the morning, no clock-out, absent in the afternoon.
    rules = sorted(v.rule for v in store.violations(staff="S1", day=PAST))
    assert rules == ["absence", "late", "missing_punch"]
    store.close()


def test_the_inspection_is_published_per_site(tmp_path):
    site, config, _ = replayed_hall(tmp_path, 1883)
    seen = Collector()
    watcher = MqttClient(BrokerConfig(persistent_session=False), f"w-{site}", on_message=seen)
    watcher.subscribe(topics.subscription(site, topics.CENTRAL, topics.Kind.INSPECTION))
    with watcher:
        time.sleep(0.3)
        args = ["inspect", "--date", "2026-10-14", "--json", "--publish", *config]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        [(topic, payload)] = seen.wait_for(1)
    summary = schema.decode(payload, topic)
    report = json.loads(result.output)
    statuses = Counter(line["status"] for w in report["windows"] for line in w["staff"])
    assert summary.day == date(2026, 10, 14)
    assert all(summary.counts[status] == n for status, n in statuses.items())
    assert sum(statuses.values()) == 5


def read_only(store, on: bool) -> None:
    """Make the database itself refuse writes (a real failure, not a mock)."""
    if isinstance(store, SqliteStore):
        store.db.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
    else:
        store.conn.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")


def test_a_failing_store_keeps_the_messages_for_a_retry(store):
    from rules.ingest import Ingest
    from tests.rules_helpers import policy, source_of

    ingest = Ingest(store, policy(), source_of())
    event = clock("09:20", day=PAST)
    acked = []
    ingest.handle(topic_for(event), schema.encode(event), lambda: acked.append(event.id))
    read_only(store, True)
    assert ingest.drain(timeout_s=0) == 0 and ingest.failures == 1
    assert ingest.inbox.qsize() == 1 and acked == []  # not acknowledged: the broker keeps it
    read_only(store, False)
    assert ingest.drain(timeout_s=0) == 1 and ingest.stored == 1 and acked == [event.id]
    read_only(store, True)
    assert ingest.flush() == 0 and store.pending() == [("S1", "2026-10")]
    read_only(store, False)
    # The hall's first punch: everyone there is judged from its day to today.
    assert ingest.flush() >= 1 and store.pending() == []
    assert "late" in {v.rule for v in store.violations(staff="S1", day=PAST)}


def test_absences_appear_once_a_session_has_settled_without_any_event(store):
    from rules.ingest import Ingest
    from tests.rules_helpers import DAY, at, policy, source_of

    moments = iter([at("17:20"), at("17:29"), at("17:31")])
    # A site that went live earlier (with no punch stored, it would not be judged yet).
    live = policy(sites={"hall-01": {"go_live": "2026-11-02"}})
    ingest = Ingest(store, live, source_of(live), now=lambda: next(moments))
    ingest.recompute_all("2026-11")  # start-up at 17:20: the afternoon is not settled yet

    def afternoon_absences() -> set[str]:
        return {
            v.staff_id
            for v in store.violations(day=DAY)
            if v.rule == "absence" and v.at == at("13:30")
        }

    assert afternoon_absences() == set()
    assert ingest.flush() == 0  # 17:29: still within the 30 minutes devices get to deliver
    assert ingest.flush() == 3 and afternoon_absences() == {"S1", "S2", "S3"}
