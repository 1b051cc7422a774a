"""Scale-out: three rules-service processes share one subscription and one PostgreSQL.

One instance is SIGKILLed mid-run (and restarted, as systemd would); afterwards every
event is stored exactly once and the violations equal a single-instance replay of the
same events. The locks that make concurrent recomputations safe are tested directly.
"""

from __future__ import annotations

import json
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient, topic_for
from mqtt.ids import utc_now
from rules.directory import Directory
from rules.pgstore import PostgresStore
from rules.replay import replay, results_digest
from rules.simulate import generate_month
from rules.store import SqliteStore
from tests.support.mosquitto import anonymous_broker, free_port

MONTH = "2026-10"
HALLWATCH = Path(sys.executable).with_name("hallwatch")


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


class Instance:
    """One `hallwatch rules run` process; its log says when it has subscribed."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Instance:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(HALLWATCH), "rules", "run", "--config", str(self.config)],
                stdout=out,
                stderr=out,
            )
        return self

    def up(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        return self.log.read_text().count("rules service up") > 0

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.write_text("")  # so that `up` waits for the restarted process

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def hall(tmp_path):
    site = f"t-{secrets.token_hex(4)}"
    sim = generate_month(MONTH, 10, seed=9, site=site)
    policy_file, _ = sim.write(tmp_path)
    return site, sim, policy_file


def test_three_instances_one_killed_store_each_event_once_and_match_one_instance(
    tmp_path, hall, postgres_url
):
    site, sim, policy_file = hall
    payloads = [(topic_for(e), schema.encode(e)) for e in sim.events]
    rng = random.Random(5)
    # Redeliveries: a tenth of the events published twice, late, in another order.
    deliveries = payloads + rng.sample(payloads, len(payloads) // 10)
    rng.shuffle(deliveries)
    with anonymous_broker(tmp_path / "broker") as port:
        instances = []
        for n in range(3):
            config = tmp_path / f"rules-{n}.toml"
            config.write_text(
                f'[broker]\nport = {port}\n[rules]\ndb = "{postgres_url}"\n'
                f'policy = "{policy_file}"\ngroup = "g-{site}"\nclient_id = "{site}-{n}"\n'
                f'sites = ["{site}"]\nrecompute_every_s = 0.3\n'
            )
            instances.append(Instance(config, tmp_path / f"rules-{n}.log").start())
        store = PostgresStore(postgres_url)
        peek = psycopg.connect(postgres_url, autocommit=True)

        def count(table: str) -> int:
            return peek.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

        try:
            wait_until(lambda: all(i.up() for i in instances), 30, "three instances up")
            time.sleep(0.3)  # let the subscriptions settle

            device = MqttClient(BrokerConfig(port=port, persistent_session=False), f"d-{site}")
            with device:
                publishing = threading.Thread(target=publish, args=(device, deliveries))
                publishing.start()
                wait_until(lambda: count("events") >= len(payloads) // 3, 30, "a third stored")
                stored_before_kill = count("events")
                instances[1].kill()
                assert stored_before_kill < len(payloads), "the kill must come mid-run"
                publishing.join()
                instances[1].start()  # same client id: the broker redelivers what it never acked
                wait_until(instances[1].up, 30, "the killed instance back")
                wait_until(
                    lambda: count("events") == len(payloads) and not store.pending(),
                    60,
                    f"{len(payloads)} events stored and judged",
                )
            assert [i.stop() for i in instances] == [0, 0, 0]
            shared_digest = results_digest(store, [MONTH])
            violations = store.violations(month=MONTH)
            announced = store.numbers(MONTH)
            assert count("dead_letters") == 0
        finally:
            for instance in instances:
                if instance.process is not None and instance.process.poll() is None:
                    instance.process.kill()
            store.close()
            peek.close()
    # The same events, once, through one instance's pipeline (a replay into SQLite).
    # Given, like the events, the correction numbers the instances announced (they keep
    # the order in which violations became known: docs/rules.md, rule 23).
    alone = SqliteStore(tmp_path / "alone.db", synchronous="NORMAL")
    for staff, numbers in announced.items():
        alone.keep_numbers(staff, MONTH, numbers)
    summary = replay(
        (p for _, p in payloads), pol := sim.policy(), Directory.from_policy(pol), alone, utc_now()
    )
    assert summary.stored == len(payloads) and summary.digest == shared_digest
    assert len(violations) == sum(summary.months.values()) > 20
    alone.close()


def publish(device: MqttClient, deliveries: list[tuple[str, bytes]]) -> None:
    """At a device's pace (bursts of 50), so that the run lasts while an instance dies."""
    for start in range(0, len(deliveries), 50):
        infos = [
            device.publish(topic, payload) for topic, payload in deliveries[start : start + 50]
        ]
        for info in infos:
            info.wait_for_publish(10)
        time.sleep(0.05)


def test_recomputations_of_a_person_month_wait_for_each_other(postgres_url):
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    order: list[str] = []

    def enter(store: PostgresStore, name: str, *, staff: str | None) -> threading.Thread:
        def cycle() -> None:
            if staff is None:
                with store.recomputing_month(MONTH):
                    order.append(name)
            else:
                with store.recomputing(staff, MONTH):
                    order.append(name)

        thread = threading.Thread(target=cycle)
        thread.start()
        return thread

    try:
        with first.recomputing("S1", MONTH):
            other_person = enter(second, "S2", staff="S2")
            other_person.join(5)
            assert order == ["S2"]  # another person-month does not wait
            same_person = enter(second, "S1 again", staff="S1")
            time.sleep(0.5)
            assert order == ["S2"]  # the same one waits for the first cycle to commit
            order.append("first done")
        same_person.join(5)
        with first.recomputing("S3", MONTH):
            whole_month = enter(second, "month", staff=None)
            time.sleep(0.5)
            assert order == ["S2", "first done", "S1 again"]  # the month waits for S3
        whole_month.join(5)
        assert order[-1] == "month"
    finally:
        first.close()
        second.close()


def test_manager_commands_work_on_the_shared_database(tmp_path, hall, postgres_url):
    from click.testing import CliRunner

    from hallwatch.cli import main

    _, sim, policy_file = hall
    _, events_file = sim.write(tmp_path)
    runner = CliRunner()
    replayed = runner.invoke(
        main,
        ["rules", "replay", "--events", str(events_file), "--policy", str(policy_file),
         "--db", postgres_url, "--json"],
    )  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    listed = runner.invoke(
        main, ["violations", "--db", postgres_url, "--policy", str(policy_file), "--json"]
    )
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)) == sum(json.loads(replayed.output)["months"].values())


@pytest.mark.parametrize(
    "db, message",
    [
        ("mysql://hall@db/rules", "unsupported database URL scheme 'mysql'"),
        ("postgresql://db/rules?colour=red", 'invalid URI query parameter: "colour"'),
        ("", "give a SQLite file path, or postgresql://"),
    ],
)
def test_a_db_setting_that_names_no_store_is_refused(tmp_path, db, message):
    from base.config import ConfigError
    from rules.service import load_config

    config = tmp_path / "rules.toml"
    config.write_text(f'[rules]\ndb = "{db}"\npolicy = "policy.toml"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert "key 'rules.db'" in str(refused.value) and message in str(refused.value)


def test_an_unreachable_database_is_named_without_its_password(tmp_path, hall):
    from click.testing import CliRunner

    from hallwatch.cli import main

    _, _, policy_file = hall
    url = f"postgresql://hall:s3cret@127.0.0.1:{free_port()}/rules"
    result = CliRunner().invoke(main, ["violations", "--db", url, "--policy", str(policy_file)])
    assert result.exit_code == 1
    assert "cannot open the rules database (PostgreSQL dbname=rules" in result.output
    assert "s3cret" not in result.output


def test_a_pending_person_month_another_instance_is_judging_is_left_to_it(postgres_url):
    from datetime import date

    from tests.rules_helpers import clock

    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    late = clock("09:20", day=date(2026, 10, 13))
    try:
        first.add_events([late], lambda event: [("S1", late.ts.date())])
        with first.recomputing("S1", MONTH) as pending:
            assert pending
            with second.recomputing("S1", MONTH, wait=False) as other:
                assert not other  # no waiting: the first instance is on it
            with second.recomputing("S2", MONTH, wait=False) as free:
                assert not free  # free to hold, but not pending
        assert first.pending() == []
    finally:
        first.close()
        second.close()


def test_a_lost_database_connection_loses_nothing_and_is_reopened(postgres_url):
    from datetime import date

    from rules.ingest import Ingest
    from tests.rules_helpers import clock, policy, source_of

    store = PostgresStore(postgres_url)
    ingest = Ingest(store, policy(), source_of())
    event = clock("09:20", day=date(2026, 10, 13))
    acked: list[str] = []
    ingest.handle(topic_for(event), schema.encode(event), lambda: acked.append(event.id))
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a server restart would
        admin.execute("SELECT pg_terminate_backend(%s)", [store.conn.info.backend_pid])
    try:
        assert ingest.drain(timeout_s=0) == 0 and ingest.failures == 1 and acked == []
        assert ingest.drain(timeout_s=0) == 1 and acked == [event.id]  # a new connection
        assert ingest.flush() >= 1  # the hall's first punch: everyone there, to today
        assert "late" in {v.rule for v in store.violations(staff="S1")}
    finally:
        store.close()
