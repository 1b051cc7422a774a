"""The server decides whom an event counts for (issue 13, finding 3).

A workstation agent published `proxy_punch` alerts naming a colleague and a person of
another site, and both got serious vetoing violations: the engine trusted the staff id of
whatever device sent it. Now activity counts only for the staff member mapped to the
workstation; punches and spoof/proxy alerts only from stations of the person's own site;
everything else is a dead letter that says why.
"""

from __future__ import annotations

import time

import msgspec

from mqtt import schema
from mqtt.client import BrokerConfig
from rules.attribution import refusal
from rules.directory import Directory
from rules.policy import Policy
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.journal_helpers import activity_event, alert_event
from tests.mqtt_helpers import client, clock_event

# Both sites live from the start of the year: no punch is needed to judge an alert.
POLICY = """
[sites.hall-01]
timezone = "Asia/Shanghai"
go_live = 2026-01-01
[sites.hall-02]
timezone = "Asia/Shanghai"
go_live = 2026-01-01

[[windows]]
id = "w1"
site = "hall-01"
staff = ["S001", "S002"]
workstations = { ws-01 = "S001" }

[[windows]]
id = "w2"
site = "hall-02"
staff = ["S003"]
"""


def _alert(device: str, staff: str, kind=schema.AlertKind.PROXY_PUNCH) -> schema.Alert:
    serious = schema.Severity.SERIOUS
    return alert_event(
        "hall-01", device, "second face in frame", kind=kind, severity=serious, staff_id=staff
    )


def _activity(staff: str | None) -> schema.Activity:
    return activity_event("hall-01", "ws-01", "steam", 60, category="other", staff_id=staff)


def test_forged_attributions_from_a_real_agent_are_dead_letters(hardened_broker, tmp_path):
    b = hardened_broker
    (tmp_path / "policy.toml").write_text(POLICY)
    config = ServiceConfig(
        broker=BrokerConfig(port=b.port, username="rules", password=b.password("rules")),
        rules=RulesSettings(
            db=tmp_path / "rules.db", policy=tmp_path / "policy.toml", recompute_every_s=0.2
        ),
    )
    agent, station = "hall-01.ws-01", "hall-01.st-01"
    forged = {
        agent: [_alert("ws-01", "S002"), _alert("ws-01", "S003"), _activity("S002")],
        station: [_alert("st-01", "S003"), clock_event("hall-01", "st-01", 1, staff="S003")],
    }
    genuine = _alert("st-01", "S002")  # a station of S002's own site: this one counts
    with RulesService(config) as service:
        time.sleep(0.3)
        for user, events in forged.items():
            with client(b.port, user, user, b.password(user)) as device:
                for event in events:
                    device.publish_event(event).wait_for_publish(5)
        with client(b.port, station, station, b.password(station)) as device:
            device.publish_event(genuine).wait_for_publish(5)
        deadline = time.monotonic() + 15
        while service.ingest.stored + service.ingest.rejected < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a recomputation after the last one stored
        violations = service.store.violations()
        reasons = [row.reason for row in service.store.dead_letters()]
    forged_ids = {e.id for events in forged.values() for e in events}
    assert not [v for v in violations if forged_ids & set(v.evidence)]
    spoofs = [(v.staff_id, v.evidence) for v in violations if v.rule == "spoof"]
    assert spoofs == [("S002", (genuine.id,))]
    assert len(reasons) == 5
    assert sum("only stations" in r for r in reasons) == 2
    assert sum("works at hall-02" in r for r in reasons) == 2
    assert sum("workstation hall-01/ws-01 is S001's" in r for r in reasons) == 1


def test_activity_counts_for_the_workstations_own_staff_member_only():
    policy = Policy.model_validate(
        {"windows": [{"id": "w1", "site": "hall-01", "staff": ["S001", "S002"],
                      "workstations": {"ws-01": "S001"}}]}
    )  # fmt: skip
    directory = Directory.from_policy(policy)
    assert refusal(_activity(None), directory) is None
    assert refusal(_activity("S001"), directory) is None
    assert "is S001's" in (refusal(_activity("S002"), directory) or "")
    unmapped = msgspec.structs.replace(_activity("S002"), device="ws-09")
    assert "is nobody's" in (refusal(unmapped, directory) or "")
