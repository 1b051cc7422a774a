"""A station whose disk fills up while it punches: nothing it journaled is lost centrally."""

from __future__ import annotations

import os

from mqtt import schema


def fill_up(disk, name: str = "ballast") -> int:
    """Take every free byte of `disk` (as a runaway log would); return how many."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / name, "wb") as ballast:
        os.posix_fallocate(ballast.fileno(), 0, free)
    return free


def test_a_station_disk_filling_up_mid_run(hall, tiny_disk):
    station = hall.devices["st-01"]
    station.journal = tiny_disk / "journal.db"
    hall.start_rules(wait=True)
    hall.start_devices(pace_s=0.02)
    station.wait_journaled(20)
    assert fill_up(tiny_disk) > 0
    hall.finish_devices()
    hall.settle()
    found = hall.verify()
    stored = [schema.decode(copies[0]) for copies in hall.central().values()]
    alerts = [e for e in stored if isinstance(e, schema.Alert) and e.kind == "disk_full"]
    refused = [body for tag, body in station.outputs() if tag == b"FULL"]
    assert [(a.device, a.message[:24]) for a in alerts] == [("st-01", "event journal disk full:")]
    # Every punch was journaled once the sent ones made room: none refused.
    assert refused == [] and found["events"] >= 300
