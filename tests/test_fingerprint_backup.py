"""Export from one emulated sensor, import into another, which then identifies the same staff."""

from __future__ import annotations

import json
import stat

import pytest

from drivers.fingerprint.backup import export_templates, import_templates, read_backup
from drivers.fingerprint.errors import BackupFileError, TemplateStoreFullError
from tests.fingerprint_helpers import emulated_sensor, enrol

STAFF = {f"S{n:03d}": f"finger-{n}" for n in range(12)}


@pytest.fixture
def backup(tmp_path):
    """An export of 12 staff from a first sensor (password-protected, 32-byte packets)."""
    path = tmp_path / "fingers.json"
    with emulated_sensor(tmp_path / "a", capacity=100, password=99, packet_size=32) as (
        emu,
        sensor,
    ):
        for staff_id, finger in STAFF.items():
            enrol(emu, sensor, staff_id, finger)
        assert export_templates(sensor, path) == len(STAFF)
    return path


def test_export_is_private_and_complete(backup):
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    entries = read_backup(backup)
    assert sorted(e.staff_id for e in entries) == sorted(STAFF)
    assert all(len(e.template) == 512 and e.enrolled_at.tzinfo for e in entries)
    assert not list(backup.parent.glob(".*partial"))


def test_import_into_a_second_sensor_identifies_the_same_staff(backup, tmp_path):
    with emulated_sensor(tmp_path / "b", capacity=50, packet_size=256, seed=3) as (emu, sensor):
        enrol(emu, sensor, "local", "local-finger")  # slot 0 is taken on this sensor
        report = import_templates(sensor, backup)
        assert sorted(staff for staff, _ in report.installed) == sorted(STAFF)
        assert len(emu.template_slots) == len(STAFF) + 1
        for staff_id, finger in STAFF.items():
            emu.place_finger(finger)
            match = sensor.identify(timeout_s=1.0)
            assert match is not None and match.staff_id == staff_id
        emu.place_finger("stranger")
        assert sensor.identify(timeout_s=1.0) is None

        again = import_templates(sensor, backup)  # importing twice stores nothing twice
        assert again.installed == [] and len(again.skipped) == len(STAFF)
        assert len(emu.template_slots) == len(STAFF) + 1


def test_restoring_a_lost_database_remaps_templates_still_on_the_sensor(backup, tmp_path):
    with emulated_sensor(tmp_path / "c", capacity=50) as (emu, sensor):
        import_templates(sensor, backup)
        sensor.registry.remove([r.slot for r in sensor.registry.all()])  # database lost
        report = import_templates(sensor, backup)
        assert report.installed == [] and len(report.remapped) == len(STAFF)
        emu.place_finger("finger-3")
        assert sensor.identify(timeout_s=1.0).staff_id == "S003"


def test_import_into_a_sensor_without_room_stores_nothing(backup, tmp_path):
    with emulated_sensor(tmp_path / "d", capacity=8) as (emu, sensor):
        with pytest.raises(TemplateStoreFullError, match="12 needed"):
            import_templates(sensor, backup)
        assert emu.template_slots == [] and sensor.registry.all() == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda doc: doc["templates"][0].update(staff_id="intruder"), "not match its checksum"),
        (lambda doc: doc.update(format="other"), "not a hallwatch fingerprint template export"),
        (lambda doc: doc.update(version=2), "version 2 is not supported"),
    ],
)
def test_damaged_or_foreign_files_are_refused(backup, tmp_path, damage, message):
    document = json.loads(backup.read_text())
    damage(document)
    backup.write_text(json.dumps(document))
    with pytest.raises(BackupFileError, match=message):
        read_backup(backup)


def test_export_to_an_unwritable_place_is_explained(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with (
        emulated_sensor(tmp_path) as (_, sensor),
        pytest.raises(BackupFileError, match="cannot write the export"),
    ):
        export_templates(sensor, tmp_path / "file" / "fingers.json")


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(BackupFileError, match="no such template file"):
        read_backup(tmp_path / "missing.json")
    (tmp_path / "cut.json").write_text('{"format": "hallwatch-finger-templates", "templ')
    with pytest.raises(BackupFileError, match="not a readable template export"):
        read_backup(tmp_path / "cut.json")
