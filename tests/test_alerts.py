"""Alerts that close (rules/alerts.py, rules/alert_store.py, Management): open →
acknowledged (who, when, note) → cleared, by hand or by the condition ending; on SQLite
and PostgreSQL, and as the daily inspection shows them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mqtt import schema
from mqtt.ids import utc_now
from mqtt.schema import AlertKind
from rules.acting import Actor, InvalidInput, NotFound, Refused
from rules.alert_store import AlertState
from rules.alerts import lifecycle
from rules.inspection import inspect_day
from rules.manage import Management
from rules.store import Arrival, DeviceSeen
from tests.rules_helpers import DAY, SITE, alert, at, directory_of, policy

WANG = Actor("wang", "console")


def healthy(hms: str, **health) -> schema.Status:
    """st-01 online at a local time, reporting `health`."""
    return schema.new_event(
        schema.Status,
        SITE,
        "st-01",
        at(hms),
        seq=2,
        state="online",
        role="station",
        health=schema.Health(**health),
    )


def seen(status: schema.Status) -> DeviceSeen:
    return DeviceSeen(status, status.ts)


# -- the lifecycle, pure ------------------------------------------------------------------
def test_an_alert_no_one_acted_on_is_open():
    fault = alert("09:40", AlertKind.SENSOR_FAULT, staff=None)
    assert lifecycle(fault, {}, []).state == "open"


def test_a_sensor_fault_clears_itself_when_a_later_status_says_the_sensor_is_ok():
    fault = alert("09:40", AlertKind.SENSOR_FAULT, staff=None)
    item = lifecycle(fault, {}, [seen(healthy("10:30", sensor="ok"))])
    assert (item.state, item.by, item.at, item.cleared_by_itself) == (
        "cleared",
        None,
        at("10:30"),
        True,
    )


@pytest.mark.parametrize(
    ("kind", "health", "hms"),
    [
        (AlertKind.SENSOR_FAULT, {"sensor": "error: no reply"}, "10:30"),  # still faulty
        (AlertKind.SENSOR_FAULT, {"sensor": "ok"}, "09:00"),  # healthy before the fault
        (AlertKind.CAMERA_FAULT, {"sensor": "ok"}, "10:30"),  # another part healthy
        (AlertKind.DISK_FULL, {"disk_free_mb": 99}, "10:30"),  # not room enough yet
        (AlertKind.TAMPER, {"camera": "ok", "sensor": "ok"}, "10:30"),  # never by itself
    ],
)
def test_a_fault_stays_open_until_its_own_part_is_healthy_after_it(kind, health, hms):
    fault = alert("09:40", kind, staff=None)
    assert lifecycle(fault, {}, [seen(healthy(hms, **health))]).state == "open"


def test_a_disk_full_clears_once_enough_room_is_reported():
    fault = alert("09:40", AlertKind.DISK_FULL, staff=None)
    assert lifecycle(fault, {}, [seen(healthy("10:00", disk_free_mb=100))]).state == "cleared"


def test_an_acknowledged_alert_shows_who_when_and_why_and_a_clearing_by_hand_wins():
    fault = alert("09:40", AlertKind.CAMERA_FAULT, staff=None)
    ack = AlertState(fault.id, "acknowledged", "王经理", at("09:50"), "已通知厂家")
    item = lifecycle(fault, {fault.id: ack}, [])
    assert (item.state, item.by, item.at, item.note) == (
        "acknowledged",
        "王经理",
        at("09:50"),
        "已通知厂家",
    )
    healed = lifecycle(fault, {fault.id: ack}, [seen(healthy("11:00", camera="ok"))])
    assert (healed.state, healed.cleared_by_itself, healed.acknowledged) == ("cleared", True, ack)


def test_the_inspection_carries_the_alert_id_and_state_and_drops_cleared_ones():
    pol = policy()
    sensor = alert("09:40", AlertKind.SENSOR_FAULT, staff=None)
    camera = alert("09:41", AlertKind.CAMERA_FAULT, staff=None)
    face = alert("09:42", AlertKind.UNKNOWN_FACE, staff=None)
    states = {
        camera.id: AlertState(camera.id, "acknowledged", "王经理", at("09:50"), "已通知厂家"),
        face.id: AlertState(face.id, "cleared", "王经理", at("09:55"), "访客，已核实"),
    }
    report = inspect_day(
        pol,
        directory_of(pol),
        DAY,
        None,
        [sensor, camera, face],
        [],
        [seen(healthy("10:30", sensor="ok", camera="error"))],
        [],
        at("11:00"),
        alert_states=states,
    )
    assert [(i.alert_id, i.alert_state, i.by, i.note) for i in report.open_items] == [
        (camera.id, "acknowledged", "王经理", "已通知厂家")
    ]
    [healed] = report.healed
    assert healed.alert_id == sensor.id
    assert healed.text == f"{SITE}/st-01: 指纹模块故障: 已自行恢复 2026-11-24 10:30 +08:00"


def test_an_attributed_spoof_is_a_violation_not_an_alert_item():
    pol = policy()
    spoof = alert("09:40", AlertKind.SPOOF_SUSPECTED, staff="S1")
    report = inspect_day(pol, directory_of(pol), DAY, None, [spoof], [], [], [], at("10:00"))
    assert report.open_items == ()


# -- the store, on SQLite and PostgreSQL -----------------------------------------------
def test_the_store_keeps_each_alerts_latest_state(store):
    fault = alert("09:40", AlertKind.TAMPER, staff=None)
    store.add_events([fault])
    assert store.alert(fault.id) == fault
    assert store.alert("no-such-id") is None
    assert store.alert_states() == {}
    ack = AlertState(fault.id, "acknowledged", "wang", at("09:50"), "去看看")
    store.set_alert_state(ack)
    assert store.alert_states() == {fault.id: ack}
    cleared = AlertState(fault.id, "cleared", "li", at("10:10"), "外壳已复位")
    store.set_alert_state(cleared)
    assert store.alert_states() == {fault.id: cleared}


# -- the management API ------------------------------------------------------------------
@pytest.fixture
def manage(store):
    pol = policy()
    now = at("11:00")
    return Management(store, pol, now=lambda: now)


def test_a_manager_acknowledges_then_clears_an_alert_audited(manage):
    fault = alert("09:40", AlertKind.CAMERA_FAULT, staff=None)
    manage.store.add_events([fault])
    assert [(i.alert_id, i.state) for i in manage.alerts()] == [(fault.id, "open")]

    acked = manage.acknowledge_alert(WANG, fault.id, "已通知厂家")
    assert (acked.state, acked.by, acked.note) == ("acknowledged", "wang", "已通知厂家")
    [item] = manage.inspection(DAY).open_items
    assert (item.alert_id, item.alert_state, item.by) == (fault.id, "acknowledged", "wang")
    with pytest.raises(Refused, match="already acknowledged by wang"):
        manage.acknowledge_alert(WANG, fault.id, "again")

    cleared = manage.clear_alert(WANG, fault.id, "摄像头已更换")
    assert (cleared.state, cleared.by, cleared.note) == ("cleared", "wang", "摄像头已更换")
    assert manage.inspection(DAY).open_items == ()
    assert manage.alerts(state="open") == []
    assert [i.alert_id for i in manage.alerts(state="cleared")] == [fault.id]
    assert [(a.action, a.target, a.by, a.reason) for a in manage.audit()] == [
        ("alert_ack", fault.id, "wang", "已通知厂家"),
        ("alert_clear", fault.id, "wang", "摄像头已更换"),
    ]
    with pytest.raises(Refused, match="already cleared"):
        manage.clear_alert(WANG, fault.id, "again")


def test_a_fault_cleared_by_itself_leaves_the_items_and_cannot_be_acknowledged(manage):
    fault = alert("09:40", AlertKind.SENSOR_FAULT, staff=None)
    back = healthy("10:30", sensor="ok")
    manage.store.add_events([fault, back], arrivals={back.id: Arrival(back.ts)})
    report = manage.inspection(DAY)
    assert report.open_items == ()
    assert [h.alert_id for h in report.healed] == [fault.id]
    with pytest.raises(Refused, match="already cleared"):
        manage.acknowledge_alert(WANG, fault.id, "looking")


def test_bad_requests_are_refused_with_what_to_do(manage):
    fault = alert("09:40", AlertKind.TAMPER, staff=None)
    manage.store.add_events([fault])
    with pytest.raises(NotFound, match="hallwatch alerts list"):
        manage.acknowledge_alert(WANG, "nope", "note")
    with pytest.raises(InvalidInput, match="say why"):
        manage.clear_alert(WANG, fault.id, "  ")
    with pytest.raises(InvalidInput, match="--days 0"):
        manage.alerts(days=0)
    assert manage.store.alert_states() == {}
    assert manage.audit() == []


def test_alerts_older_than_the_days_asked_are_not_listed(manage):
    old = schema.new_event(
        schema.Alert,
        SITE,
        "st-01",
        at("09:00") - timedelta(days=40),
        seq=1,
        kind=AlertKind.TAMPER,
        severity=schema.Severity.SERIOUS,
        message="opened",
    )
    manage.store.add_events([old])
    assert manage.alerts() == []
    assert [i.alert_id for i in manage.alerts(days=45)] == [old.id]


# -- the command -------------------------------------------------------------------------
POLICY_TOML = """
[sites.hall-01]
timezone = "Asia/Shanghai"

[[windows]]
id = "w1"
site = "hall-01"
staff = ["S1"]
"""


def test_the_alerts_command_lists_acknowledges_and_clears_in_words(tmp_path):
    from rules.backend import open_store
    from tests.command_helpers import run_hallwatch

    db, policy_file = tmp_path / "rules.db", tmp_path / "policy.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")
    fault = schema.new_event(
        schema.Alert,
        SITE,
        "st-01",
        utc_now() - timedelta(hours=1),
        seq=1,
        kind=AlertKind.CAMERA_FAULT,
        severity=schema.Severity.MINOR,
        message="no frames",
    )
    store = open_store(db)
    store.add_events([fault])
    store.close()
    where = ["--db", str(db), "--policy", str(policy_file)]

    listed = run_hallwatch("alerts", "list", "--state", "open", *where)
    assert listed.returncode == 0, listed.stderr
    assert fault.id in listed.stdout and "摄像头故障: no frames" in listed.stdout
    assert "[待处理]" in listed.stdout and "1 条告警" in listed.stdout

    acked = run_hallwatch(
        "alerts", "ack", fault.id, "--note", "已通知厂家", "--by", "王经理", *where
    )
    assert acked.returncode == 0, acked.stderr
    assert "已确认 王经理" in acked.stdout and "已通知厂家" in acked.stdout

    cleared = run_hallwatch("alerts", "clear", fault.id, "--note", "摄像头已更换", *where)
    assert cleared.returncode == 0, cleared.stderr
    assert "已关闭" in cleared.stdout
    again = run_hallwatch("alerts", "clear", fault.id, "--note", "again", *where)
    assert again.returncode != 0 and "already cleared" in again.stderr

    as_json = run_hallwatch("alerts", "list", "--state", "cleared", "--json", *where)
    [row] = json.loads(as_json.stdout)
    assert (row["alert_id"], row["kind"], row["state"], row["note"]) == (
        fault.id,
        "camera_fault",
        "cleared",
        "摄像头已更换",
    )
    assert run_hallwatch("alerts", "list", "--state", "open", "--lang", "en", *where).stdout == (
        "0 alerts\n"
    )
