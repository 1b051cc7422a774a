"""One poisoned payload cannot stop ingestion (issue 13, finding 2).

A 2 KB JSON nested 1,000 deep, and timestamps the schema accepted at the ends of the
calendar, stopped a real rules service for good: the batch went back unacknowledged, the
broker redelivered it after every restart, and the watchdog was still fed.
"""

from __future__ import annotations

import json
import secrets
import time

import msgspec
import psycopg
import pytest

from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient, topic_for
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.rules_helpers import clock

NESTED = b'{"x":' + b"[" * 1000 + b"]" * 1000 + b',"schema":"hallwatch.clock/1"}'
EDGES_OF_TIME = ("9999-12-31T23:00:00Z", "0001-01-01T00:10:00+14:00")


def _at(site: str, ts: str) -> bytes:
    document = json.loads(schema.encode(clock("09:00")))
    document |= {"site": site, "ts": ts}
    return json.dumps(document).encode()


def test_a_deeply_nested_payload_is_a_payload_error_with_a_reason():
    with pytest.raises(schema.PayloadError, match="nested too deeply"):
        schema.decode(NESTED)


@pytest.mark.parametrize("ts", EDGES_OF_TIME)
def test_times_at_the_ends_of_the_calendar_are_refused(ts):
    with pytest.raises(schema.PayloadError, match="outside 2000-2099"):
        schema.decode(_at("hall-01", ts))


def _config(tmp_path, site: str, db) -> ServiceConfig:
    (tmp_path / "policy.toml").write_text(
        f'[[windows]]\nid = "w1"\nsite = "{site}"\nstaff = ["S1"]\n'
    )
    return ServiceConfig(
        broker=BrokerConfig(),  # a persistent session: what is not acknowledged comes back
        rules=RulesSettings(
            db=db,
            policy=tmp_path / "policy.toml",
            client_id=f"rules-{site}",
            sites=[site],
            recompute_every_s=0.2,
            stalled_after_s=1.0,
        ),
    )


def _wait(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_poison_is_dead_lettered_and_ingestion_goes_on_across_a_restart(tmp_path):
    site = f"t-{secrets.token_hex(4)}"
    config = _config(tmp_path, site, tmp_path / "rules.db")
    good = msgspec.structs.replace(clock("09:00"), site=site)
    topic = topic_for(good)
    with RulesService(config) as service, MqttClient(BrokerConfig(), f"dev-{site}") as device:
        time.sleep(0.3)
        for payload in (NESTED, *(_at(site, ts) for ts in EDGES_OF_TIME), schema.encode(good)):
            device.publish(topic, payload).wait_for_publish(5)
        assert _wait(lambda: service.ingest.stored == 1), service.ingest.failures
        assert service.ingest.rejected == 3
        reasons = [row.reason for row in service.store.dead_letters()]
        assert sum("outside 2000-2099" in r for r in reasons) == 2
        assert sum("nested too deeply" in r for r in reasons) == 1
    with RulesService(config) as restarted:
        time.sleep(1.5)  # anything left unacknowledged would be redelivered by now
        assert (restarted.ingest.stored, restarted.ingest.rejected) == (0, 0)
        assert restarted.alive()


def test_the_watchdog_is_fed_only_while_ingestion_makes_progress(tmp_path, postgres_url):
    from rules.backend import open_store

    site = f"t-{secrets.token_hex(4)}"
    config = _config(tmp_path, site, postgres_url)
    with RulesService(config) as service, MqttClient(BrokerConfig(), f"dev-{site}") as device:
        assert service.alive()  # idle is progress: nothing is waiting
        schema_name = postgres_url.rsplit("%3D", 1)[1]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema_name} CASCADE")  # the store fails from here
            admin.execute(f"CREATE SCHEMA {schema_name}")
        device.publish_event(msgspec.structs.replace(clock("09:00"), site=site)).wait_for_publish(5)
        assert _wait(lambda: not service.alive()), "fed while every batch fails"
        open_store(postgres_url).close()  # the tables are back: the retried batch goes in
        assert _wait(lambda: service.ingest.stored == 1 and service.alive())


def test_a_nul_byte_in_a_rejected_payload_is_a_dead_letter_like_any_other(store):
    """PostgreSQL's text takes no NUL: storing the rejected payload as it came failed the
    whole batch, again at every retry."""
    from rules.ingest import Ingest
    from tests.rules_helpers import policy, source_of

    ingest = Ingest(store, policy(), source_of())
    good = clock("09:00")
    ingest.handle(topic_for(good), b'{"schema": "hallwatch.clock/1", "\x00": 1}')
    ingest.handle(topic_for(good), schema.encode(good))
    assert ingest.drain(timeout_s=0) == 2 and ingest.failures == 0
    assert (ingest.stored, ingest.rejected) == (1, 1)
    assert store.dead_letters()[0].payload == '{"schema": "hallwatch.clock/1", "\\x00": 1}'
