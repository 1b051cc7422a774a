"""Office hours from the centre: the rules service pushes each station its site's timetable
(retained `config`), the station applies it, keeps it, acknowledges it and punches by it."""

from __future__ import annotations

import secrets
import time
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from base.schedule import Timetable
from edge.station.station import Station
from mqtt import schema
from mqtt.client import BrokerConfig
from mqtt.ids import utc_now
from rules.policy import load_policy
from rules.service import RulesService, RulesSettings, ServiceConfig
from tests.mqtt_helpers import central_config, client
from tests.station.conftest import (
    Central,
    RunningStation,
    face_config,
    finger_config,
    make_config,
)
from tests.support.mosquitto import free_port

WINTER = '{ from = "01-01", sessions = [{ start = "09:00", end = "12:00" }, { start = "14:00", end = "17:00" }] }'
SUMMER = '{ from = "06-01", sessions = [{ start = "08:30", end = "12:00" }, { start = "14:30", end = "17:30" }] }'


def write_policy(path: Path, site: str, schedules: str, holidays: str = "") -> Path:
    path.write_text(
        f"schedules = [{schedules}]\n"
        f'[sites.{site}]\ntimezone = "Asia/Urumqi"\n'
        f"[calendar]\nholidays = [{holidays}]\n"
    )
    return path


def rules_service(broker: BrokerConfig, db: Path, policy: Path, site: str, group: str | None):
    settings = RulesSettings(
        db=db,
        policy=policy,
        group=group,
        client_id=f"rules-{secrets.token_hex(4)}",
        sites=[site],
        recompute_every_s=0.2,
    )
    return RulesService(ServiceConfig(broker=broker, rules=settings))


def wait_until(condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()


def test_the_rules_service_pushes_the_timetable_and_a_changed_policy_reaches_the_station(
    tmp_path, station_data, hardened_broker
):
    """Over the production broker setup: the `rules` account writes the station's config
    topic and the station's own account reads it and acknowledges."""
    b, site = hardened_broker, "hall-01"
    rules_broker = BrokerConfig(
        port=b.port, username="rules", password=b.password("rules"), persistent_session=False
    )
    station_broker = {
        "port": b.port,
        "username": "hall-01.st-01",
        "password": b.password("hall-01.st-01"),
    }
    config = face_config(site, station_data, tmp_path / "no-camera", broker=station_broker)
    policy = write_policy(tmp_path / "policy.toml", site, WINTER)
    db = tmp_path / "rules.db"
    # A second rules account: one account has one connection at a time.
    watcher = dict(port=b.port, user="rules-2", password=b.password("rules-2"))
    with Central(site, **watcher) as central:
        # A station the service learns of while it runs, by its status.
        with (
            rules_service(rules_broker, db, policy, site, group=None).start(),
            RunningStation(Station(config)) as station,
        ):
            first = central.wait_for(schema.Ack, 1)[0]
            assert first.applied and first.error is None, first
            assert station.timetable == load_policy(policy).timetable(site)
            assert station.timetable.zone == ZoneInfo("Asia/Urumqi")
            # Let the service store the station's status before it stops.
            assert wait_until(lambda: rules_known(db))
        # The policy changes and the service restarts with it while the station is off.
        # Without the station's retained status on the broker, the service knows of it
        # from its store; the station finds the retained timetable when it comes back.
        write_policy(policy, site, f"{WINTER}, {SUMMER}", "2026-10-01")
        with client(b.port, "clear", "hall-01.st-01", b.password("hall-01.st-01")) as st01:
            st01.publish(f"hallwatch/v1/{site}/st-01/status", b"", retain=True).wait_for_publish(5)
        with rules_service(rules_broker, db, policy, site, group=None).start():
            configs = central.wait_for(schema.Config, 2)
        with RunningStation(Station(config)) as station:
            acks = central.wait_for(schema.Ack, 2)
    second = acks[1]
    assert second.applied and second.version > first.version
    assert len(configs) == 2 and configs[-1].id == second.config_id
    changed = load_policy(policy).timetable(site)
    assert station.timetable == changed
    assert [s.start.hour for s in changed.sessions(date(2026, 7, 1))] == [8, 14]
    assert changed.sessions(date(2026, 10, 1)) == []
    # Restarted where the broker cannot be reached, the station keeps the pushed timetable.
    offline = config.model_copy(update={"broker": BrokerConfig(port=free_port())})
    assert Station(offline).timetable == changed


def rules_known(db: Path) -> bool:
    from rules.store import SqliteStore

    store = SqliteStore(db)
    try:
        return any(seen.status.device == "st-01" for seen in store.device_statuses())
    finally:
        store.close()


def test_a_bad_timetable_is_refused_with_the_reason_and_nothing_of_it_applied(
    tmp_path, site, station_data
):
    config = face_config(site, station_data, tmp_path / "no-camera")
    overlapping = schema.TimetableSpec(
        timezone="Asia/Shanghai",
        schedules=[
            schema.ScheduleSpec(
                from_="01-01",
                sessions=[
                    schema.SessionSpec(start=time_of_day(9), end=time_of_day(12)),
                    schema.SessionSpec(start=time_of_day(11), end=time_of_day(17)),
                ],
            )
        ],
        calendar=schema.CalendarSpec(weekend=[6, 7], holidays=[], workdays=[]),
    )
    bad = central_config(
        site, 1, gallery=[schema.GalleryOp(op="delete", staff_id="S002")], timetable=overlapping
    )
    with Central(site) as central, client(1883, f"rules-{site}") as rules:
        with RunningStation(Station(config)) as station:
            rules.publish_event(bad, device="st-01").wait_for_publish(5)
            [ack] = central.wait_for(schema.Ack, 1)
            names = dict(station.names)
        rules.publish(f"hallwatch/v1/{site}/st-01/config", b"", retain=True).wait_for_publish(5)
    assert not ack.applied and ack.config_id == bad.id
    assert "sessions overlap or are out of order" in ack.error
    # All or nothing: the gallery change in the same message was not applied either.
    assert "S002" in names
    assert station.timetable == config.local_timetable
    assert not (station_data / "timetable.json").exists()


class ManualNow:
    """The station's time source, standing at the moment the test sets."""

    def __init__(self) -> None:
        self.moment = utc_now()

    def __call__(self) -> datetime:
        return self.moment


def test_the_station_infers_actions_by_the_pushed_timetable(tmp_path, site, station_data, emulator):
    config = finger_config(site, station_data, emulator, ["S001"])
    zone = ZoneInfo("Asia/Shanghai")
    pushed = Timetable.model_validate(
        {
            "timezone": "Asia/Shanghai",
            "schedules": [
                {
                    "from": "01-01",
                    "sessions": [
                        {"start": "09:00", "end": "12:00"},
                        {"start": "14:00", "end": "17:00"},
                    ],
                }
            ],
            "calendar": {"holidays": ["2026-11-25"]},
        }
    )
    update = central_config(site, 1, timetable=schema.timetable_spec(pushed))
    now = ManualNow()
    punches_at = [
        datetime(2026, 11, 24, 9, 0, tzinfo=zone),
        # Nearer the 12:00 end than the 14:00 start: the morning's clock-out (by the
        # file's 13:30 afternoon it would have been the afternoon's clock-in).
        datetime(2026, 11, 24, 12, 50, tzinfo=zone),
        datetime(2026, 11, 25, 9, 0, tzinfo=zone),
        # A holiday has no sessions: the day is one stretch, so this is the clock-out.
        datetime(2026, 11, 25, 15, 0, tzinfo=zone),
    ]
    with (
        Central(site) as central,
        client(1883, f"rules-{site}") as rules,
        RunningStation(Station(config, now=now)),
    ):
        rules.publish_event(update, device="st-01").wait_for_publish(5)
        assert central.wait_for(schema.Ack, 1)[0].applied
        for n, moment in enumerate(punches_at, start=1):
            now.moment = moment
            emulator.place_finger("finger-s001", touches=1)
            assert len(central.wait_for(schema.Punch, n)) == n
            time.sleep(1.5)  # the finger lifted before the next touch
        punches = central.events(schema.Punch)
        rules.publish(f"hallwatch/v1/{site}/st-01/config", b"", retain=True).wait_for_publish(5)
    assert [(p.ts, p.action, p.inferred) for p in punches] == [
        (punches_at[0], schema.Action.CLOCK_IN, True),
        (punches_at[1], schema.Action.CLOCK_OUT, True),
        (punches_at[2], schema.Action.CLOCK_IN, True),
        (punches_at[3], schema.Action.CLOCK_OUT, True),
    ]


def test_a_stored_timetable_that_cannot_be_read_leaves_the_file_sessions(station_data):
    config = make_config("hall-01", station_data, identify="face")
    (station_data / "timetable.json").write_bytes(msgspec.json.encode({"timezone": "Mars/Olympus"}))
    assert Station(config).timetable == config.local_timetable
