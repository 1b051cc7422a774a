"""A compromised workstation agent attacks the running hall (issue 13): nothing it does
takes, loses or poisons anyone's events, and nothing it sends is stored.

Its password sits in the monitored worker's home directory, so the attacker has the
agent's account, over the devices' TLS listener, while every device replays its month and
the rules service (sharing the load in a `$share` group) judges it.
"""

from __future__ import annotations

import json
import sqlite3
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from mqtt import schema
from mqtt.ids import new_event_id, utc_now
from rules.policy import load_policy
from tests.chaos.hall import SITE
from tests.journal_helpers import alert_event

TAKEN = "connection taken over before the answer"
REFUSED = {"Unspecified error", "Not authorized", TAKEN}
NESTED = b'{"x":' + b"[" * 1000 + b"]" * 1000 + b',"schema":"hallwatch.activity/1"}'


class Attacker:
    """Bare connections with the agent's own credentials, any client id it likes."""

    def __init__(self, hall, agent: str) -> None:
        self.hall, self.agent = hall, agent
        self.connections: list[paho.Client] = []

    def connect(self, client_id: str, *, clean: bool = True) -> paho.Client:
        """A connection, once the broker has answered it (accepted or refused: `refused`)."""
        tls_port = self.hall.broker.deployment.listeners.tls_port
        settings = self.hall.device_broker(self.agent, tls_port)
        raw = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        raw.username_pw_set(settings["username"], settings["password"])
        raw.tls_set(ca_certs=settings["tls"]["ca_file"])
        connack: list[str] = []
        raw.on_connect = lambda c, u, flags, code, props: connack.append(str(code))
        raw.connect(settings["host"], settings["port"])
        raw.loop_start()
        deadline = time.monotonic() + 20  # a loaded machine answers late, never not at all
        while not connack and time.monotonic() < deadline:
            time.sleep(0.02)
        raw.refused = connack[0] if connack and connack[0] != "Success" else None
        self.connections.append(raw)
        return raw

    def subscribe(self, client_id: str, topic_filter: str, *, clean: bool = True) -> list[str]:
        """What the broker answers (to the subscription, or to the connection when it
        refuses that already); the connection stays, as an attacker's would."""
        raw = self.connect(client_id, clean=clean)
        if raw.refused is not None:
            raw.loop_stop()
            return [raw.refused]
        answer: list[str] = []
        raw.on_subscribe = lambda c, u, mid, codes, props: answer.extend(map(str, codes))
        # The agent itself reconnects under the same account, and so the same client id:
        # it may take the connection over before the broker answers (nothing subscribed).
        raw.on_disconnect = lambda c, u, flags, code, props: answer or answer.append(TAKEN)
        raw.subscribe(topic_filter, 1)
        deadline = time.monotonic() + 20
        while not answer and time.monotonic() < deadline:
            time.sleep(0.02)
        raw.loop_stop()  # no reconnecting: the next connection takes this one's place
        return answer

    def publish(self, kind: str, payloads: list[bytes]) -> None:
        raw = self.connect(f"{self.agent}-publish")
        topic = f"hallwatch/v1/{SITE}/{self.agent}/{kind}"
        for info in [raw.publish(topic, payload, qos=1) for payload in payloads]:
            info.wait_for_publish(10)
        raw.loop_stop()

    def close(self) -> None:
        for raw in self.connections:
            raw.loop_stop()
            raw.disconnect()


def _forged_alert(agent: str, staff: str) -> bytes:
    return schema.encode(
        alert_event(
            SITE,
            agent,
            "second face in frame",
            kind=schema.AlertKind.PROXY_PUNCH,
            severity=schema.Severity.SERIOUS,
            staff_id=staff,
        )
    )


def _at_the_end_of_time(agent: str) -> bytes:
    now = utc_now()
    activity = schema.Activity(
        id=new_event_id(),
        seq=1,
        site=SITE,
        device=agent,
        ts=now,
        user="u",
        start=now,
        duration_s=0,
        app="office",
        category="work",
        idle_s=0,
    )
    return json.dumps(json.loads(schema.encode(activity)) | {"ts": "9999-12-31T23:00:00Z"}).encode()


def _dead_letters(hall) -> list[str]:
    with sqlite3.connect(f"file:{hall.db}?mode=ro", uri=True) as conn:
        return [reason for (reason,) in conn.execute("SELECT reason FROM dead_letters")]


def test_a_compromised_agent_attacks_while_the_hall_runs(hall):
    config = hall.rules_config.read_text().replace('group = ""', 'group = "hallwatch-rules"')
    hall.rules_config.write_text(config)
    hall.start_rules(wait=True)
    hall.start_devices(pace_s=0.02)
    agent = next(name for name in sorted(hall.devices) if name.startswith("ws-"))
    own = load_policy(hall.policy_file).staff_of_workstation[(SITE, agent)]
    colleague = next(s for s in sorted(load_policy(hall.policy_file).window_of) if s != own)
    attacker = Attacker(hall, agent)
    shared = "$share/hallwatch-rules/hallwatch/v1/+/+/+"
    try:
        answers = [attacker.subscribe(f"thief-{n}", shared) for n in range(3)]
        answers += [attacker.subscribe(f"sleeper-{n}", shared, clean=False) for n in range(2)]
        answers.append(attacker.subscribe("rules-chaos-1", "hallwatch/v1/#"))  # its client id
        poison = [NESTED, _at_the_end_of_time(agent)]
        attacker.publish("activity", poison)
        attacker.publish("alert", [_forged_alert(agent, colleague)])
        huge = attacker.connect(f"{agent}-huge")
        huge.publish(f"hallwatch/v1/{SITE}/{agent}/activity", b"x" * 8_900_000, qos=1)
        time.sleep(1.0)
        assert not huge.is_connected()  # the broker ended the connection at once
        huge.loop_stop()
    finally:
        attacker.close()
    hall.finish_devices()
    hall.settle()
    found = hall.verify()  # every journaled event stored once, nothing else, same results
    # Every subscription refused (or the connection before it, for a taken client id).
    assert all(len(a) == 1 and a[0] in REFUSED for a in answers), answers
    reasons = _dead_letters(hall)
    assert len(reasons) == 3, reasons
    assert any("nested too deeply" in r for r in reasons)
    assert any("only stations may record it" in r for r in reasons)
    assert found["events"] >= 300
