"""A device account cannot take the rules service's messages (issue 13, finding 1).

Each test is an attack a compromised device (a workstation agent's password sits in the
monitored worker's home directory) made against the broker `hallwatch broker setup`
renders, with the real rules service on the other side; each must now be refused.
"""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from mqtt.client import BrokerConfig
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.mqtt_helpers import Collector, client, clock_event

SHARED_CLOCKS = "$share/hallwatch-rules/hallwatch/v1/+/+/clock"


def _rules_service(broker, tmp_path: Path, account: str, group: str | None) -> RulesService:
    (tmp_path / "policy.toml").write_text(
        '[[windows]]\nid = "w1"\nsite = "hall-01"\nstaff = ["S001"]\n'
    )
    config = ServiceConfig(
        broker=BrokerConfig(port=broker.port, username=account, password=broker.password(account)),
        rules=RulesSettings(
            db=tmp_path / f"{account}.db",
            policy=tmp_path / "policy.toml",
            group=group,
            client_id="hallwatch-rules-1",
            recompute_every_s=0.5,
        ),
    )
    return RulesService(config)


def _punch(broker, count: int) -> list[str]:
    """`count` punches from st-01, each acknowledged by the broker; their ids."""
    sent = [clock_event("hall-01", "st-01", seq) for seq in range(count)]
    user = "hall-01.st-01"
    with client(broker.port, "st-01", user, broker.password(user), max_inflight=100) as st01:
        for info in [st01.publish_event(e) for e in sent]:
            info.wait_for_publish(10)
    return [e.id for e in sent]


def _stored(service: RulesService, ids: list[str], timeout_s: float = 10.0) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        got = service.ingest.stored
        if got >= len(ids) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _raw(broker, client_id: str, user: str, *, clean: bool) -> paho.Client:
    """A bare paho connection, as an attacker would open one: any client id it likes."""
    raw = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    raw.username_pw_set(user, broker.password(user))
    raw.connect("127.0.0.1", broker.port)
    raw.loop_start()
    return raw


def _suback(raw: paho.Client, topic_filter: str) -> list[str]:
    """Subscribe and return the broker's answer per filter (granted QoS or refusal)."""
    answer: list[str] = []
    raw.on_subscribe = lambda c, u, mid, codes, props: answer.extend(str(c) for c in codes)
    time.sleep(0.3)
    raw.subscribe(topic_filter, 1)
    deadline = time.monotonic() + 5
    while not answer and time.monotonic() < deadline:
        time.sleep(0.05)
    return answer


def test_an_agent_cannot_join_the_rules_services_shared_subscription(hardened_broker, tmp_path):
    b = hardened_broker
    with _rules_service(b, tmp_path, "rules", "hallwatch-rules") as service:
        time.sleep(0.3)
        thieves, answers = [], []
        try:
            for n in range(9):  # nine connections of one account, each trying to join
                thieves.append(_raw(b, f"thief-{n}", "hall-01.ws-01", clean=True))
                answers.append(_suback(thieves[-1], SHARED_CLOCKS))
                thieves[-1].loop_stop()  # no reconnecting: the next one takes its place
            ids = _punch(b, 200)
            assert _stored(service, ids) == 200
        finally:
            for thief in thieves:
                thief.loop_stop()
                thief.disconnect()
    assert answers == [["Unspecified error"]] * 9


def test_sessions_an_agent_left_behind_take_nothing(hardened_broker, tmp_path):
    b = hardened_broker
    for n in range(4):  # subscribed once, then gone: the sessions would stay for 30 days
        sleeper = _raw(b, f"sleeper-{n}", "hall-01.ws-01", clean=False)
        _suback(sleeper, SHARED_CLOCKS)
        sleeper.loop_stop()
        sleeper.disconnect()
    with _rules_service(b, tmp_path, "rules", "hallwatch-rules") as service:
        time.sleep(0.3)
        ids = _punch(b, 200)
        assert _stored(service, ids) == 200


def test_an_agent_using_the_services_client_id_does_not_take_its_session(hardened_broker, tmp_path):
    b = hardened_broker
    with _rules_service(b, tmp_path, "rules", None) as service:
        time.sleep(0.3)
        impostor = _raw(b, "hallwatch-rules-1", "hall-01.ws-01", clean=True)
        try:
            time.sleep(0.5)
            ids = _punch(b, 200)
            assert _stored(service, ids) == 200
        finally:
            impostor.loop_stop()
            impostor.disconnect()


@pytest.mark.parametrize(
    "topic_filter",
    ["hallwatch/v1/#", "hallwatch/v1/hall-01/st-01/clock", "hallwatch/v1/hall-01/st-02/config"],
)
def test_a_device_subscribes_to_nothing_but_its_own_config(hardened_broker, topic_filter):
    raw = _raw(hardened_broker, "st-01", "hall-01.st-01", clean=True)
    try:
        assert _suback(raw, topic_filter) == ["Unspecified error"]
        assert _suback(raw, "hallwatch/v1/hall-01/st-01/config") == ["Granted QoS 1"]
    finally:
        raw.loop_stop()
        raw.disconnect()


def test_two_rules_instances_have_two_accounts_and_share_the_load(hardened_broker, tmp_path):
    b = hardened_broker
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        _rules_service(b, tmp_path / "a", "rules", "hallwatch-rules") as first,
        _rules_service(b, tmp_path / "b", "rules-2", "hallwatch-rules") as second,
    ):
        time.sleep(0.3)
        ids = _punch(b, 200)
        deadline = time.monotonic() + 10
        while first.ingest.stored + second.ingest.stored < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert first.ingest.stored + second.ingest.stored == len(ids)
    assert first.ingest.stored > 0 and second.ingest.stored > 0


def test_the_viewer_sees_a_live_view_and_nothing_else(hardened_broker):
    raw = _raw(hardened_broker, "viewer", "viewer", clean=True)
    try:
        refused = [
            _suback(raw, f"hallwatch/v1/+/+/{kind}") for kind in ("config", "activity", "ack")
        ]
        refused.append(_suback(raw, "hallwatch/v1/+/central/deadletter"))
        granted = [
            _suback(raw, "hallwatch/v1/hall-01/+/clock"),
            _suback(raw, "hallwatch/v1/+/central/violation"),
        ]
    finally:
        raw.loop_stop()
        raw.disconnect()
    assert refused == [["Unspecified error"]] * 4
    assert granted == [["Granted QoS 1"]] * 2


def _rss_mb(broker) -> float:
    status = Path(f"/proc/{broker.process.pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        / 1024
    )


def test_a_device_cannot_send_a_packet_larger_than_a_payload(hardened_broker):
    """120 x 8.9 MB took Mosquitto from 10 MB to 1 GB: now the first one ends the connection."""
    b = hardened_broker
    seen = Collector()
    user = "hall-01.st-01"
    with client(b.port, "rules", "rules", b.password("rules"), on_message=seen) as rules:
        rules.subscribe("hallwatch/v1/+/+/clock")
        raw = _raw(b, "st-01", user, clean=True)
        try:
            time.sleep(0.3)
            raw.publish("hallwatch/v1/hall-01/st-01/clock", b"x" * 8_900_000, qos=1)
            time.sleep(1.0)
            assert not raw.is_connected()
        finally:
            raw.loop_stop()
            raw.disconnect()
        assert seen.wait_for(1, timeout_s=1) == []
    assert _rss_mb(b) < 50


def test_what_the_broker_queues_for_an_absent_service_is_bounded_in_bytes(tmp_path, test_ca):
    from mqtt.broker import Deployment, DeviceAccount
    from tests.support.mosquitto import Mosquitto, free_port

    listeners = test_ca.model_copy(
        update={"local_port": free_port(), "tls_port": free_port(), "websockets_port": None}
    )
    deployment = Deployment(
        listeners=listeners,
        devices=[DeviceAccount(site="hall-01", id="st-01")],
        max_queued_bytes=2 * 1024 * 1024,
    )
    seen = Collector()
    with Mosquitto(deployment, tmp_path / "broker") as b:
        rules = client(b.port, "rules", "rules", b.password("rules"), on_message=seen)
        rules.subscribe("hallwatch/v1/+/+/clock")
        rules.start()
        rules.stop()  # away: its persistent session queues for it
        before = _rss_mb(b)
        user = "hall-01.st-01"
        with client(b.port, "st-01", user, b.password(user), max_inflight=100) as st01:
            topic = "hallwatch/v1/hall-01/st-01/clock"
            for info in [st01.publish(topic, b"x" * 60_000) for _ in range(300)]:
                info.wait_for_publish(30)  # 18 MB, every message acknowledged
        grown = _rss_mb(b) - before
        with client(b.port, "rules", "rules", b.password("rules"), on_message=seen):
            delivered = len(seen.wait_for(300, timeout_s=3))
    assert grown < 12, f"the broker grew by {grown:.0f} MB"
    assert delivered * 60_000 <= 2 * 1024 * 1024 + 100 * 60_000  # the queue, plus in flight
