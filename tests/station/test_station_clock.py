"""A device clock that goes wrong is an alert: punch times are this clock's times."""

from __future__ import annotations

from edge.station.station import Station
from edge.station.timesync import ClockWatch, TimeSync
from mqtt import schema
from tests.station.conftest import Central, RunningStation, face_config

UNSYNCED = TimeSync(synchronised=False, offset_s=0.0, max_error_s=16.0)
DRIFTING = TimeSync(synchronised=True, offset_s=12.25, max_error_s=0.1)
GOOD = TimeSync(synchronised=True, offset_s=0.002, max_error_s=0.1)


def test_a_clock_fault_is_told_once_after_the_boot_grace_and_again_after_a_good_spell():
    watch = ClockWatch(max_offset_s=5.0, grace_s=600)
    assert watch.news(UNSYNCED, uptime_s=30) is None  # just booted: NTP has not answered
    assert watch.news(UNSYNCED, uptime_s=601) == "the device clock is not synchronised (NTP)"
    assert watch.news(UNSYNCED, uptime_s=661) is None  # told already
    assert watch.news(DRIFTING, uptime_s=721) == "the device clock is off by +12.2 s"
    assert watch.news(GOOD, uptime_s=781) is None
    assert watch.news(DRIFTING, uptime_s=841) == "the device clock is off by +12.2 s"
    assert watch.news(None, uptime_s=901) is None  # no adjtimex here: nothing to say


def test_a_running_station_raises_a_clock_fault_alert_and_reports_its_clock(
    tmp_path, site, station_data
):
    readings = iter([DRIFTING, DRIFTING, GOOD])
    config = face_config(
        site, station_data, tmp_path / "no-camera", heartbeat_s=0.3, clock_grace_s=0
    )
    station = Station(config, sync_probe=lambda: next(readings, GOOD))
    with Central(site) as central, RunningStation(station):
        statuses = central.wait_for(schema.Status, 4)
    # (The missing camera folder raises its own camera_fault.)
    [alert] = [
        a for a in central.events(schema.Alert) if a.kind is not schema.AlertKind.CAMERA_FAULT
    ]
    assert (alert.kind, alert.severity) == (schema.AlertKind.CLOCK_FAULT, schema.Severity.MINOR)
    assert alert.message == "the device clock is off by +12.2 s" and alert.staff_id is None
    offsets = [s.health.clock_offset_s for s in statuses if s.health is not None]
    assert offsets[:2] == [12.25, 12.25]  # the heartbeat says it too, for the centre's check
