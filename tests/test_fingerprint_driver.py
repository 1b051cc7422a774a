"""The fingerprint driver through real pyfingerprint over a pty to the emulated sensor."""

from __future__ import annotations

import stat

import pytest

from drivers.fingerprint.emulator import SensorEmulator
from drivers.fingerprint.errors import (
    AlreadyEnrolledError,
    FingersDifferError,
    RegistryError,
    RegistryMismatchError,
    TemplateStoreFullError,
    UnknownStaffError,
)
from drivers.fingerprint.sensor import EnrolStep, FingerprintSensor
from tests.fingerprint_helpers import emulated_sensor, enrol


def test_enrol_100_identify_each_and_reject_100_unknown(tmp_path):
    with emulated_sensor(tmp_path, capacity=162, seed=4) as (emu, sensor):
        staff = {f"S{n:04d}": f"finger-{n}" for n in range(100)}
        slots = {
            staff_id: enrol(emu, sensor, staff_id, finger).slot
            for staff_id, finger in staff.items()
        }
        assert sorted(slots.values()) == list(range(100))
        assert sensor.count() == (100, 162)

        scores = []
        for staff_id, finger in staff.items():
            emu.place_finger(finger)  # a new touch: fresh noise, not the enrolment images
            match = sensor.identify(timeout_s=1.0)
            assert match is not None, staff_id
            assert (match.staff_id, match.slot) == (staff_id, slots[staff_id])
            assert match.score >= sensor.min_score
            assert match.matched_at.tzinfo is not None
            scores.append(match.score)
        assert len(set(scores)) > 10  # touches really differ

        for n in range(100):
            emu.place_finger(f"stranger-{n}")
            assert sensor.identify(timeout_s=1.0) is None


def test_enrol_reads_capacity_and_security_from_the_sensor(tmp_path):
    with emulated_sensor(tmp_path, capacity=37, security_level=5, packet_size=32) as (_, sensor):
        info = sensor.info()
        assert (info.capacity, info.security_level, info.packet_size) == (37, 5, 32)
        assert sensor.count() == (0, 37)


def test_enrol_prompts_in_order_and_maps_slot_in_private_database(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        steps = []

        def person(step: EnrolStep) -> None:
            steps.append(step)
            if step is EnrolStep.LIFT:
                emu.lift_finger()
            else:
                emu.place_finger("alice-index")

        enrolled = sensor.enrol("alice", timeout_s=2.0, prompt=person)
        assert steps == [EnrolStep.PLACE, EnrolStep.LIFT, EnrolStep.PLACE_AGAIN]
        assert emu.template_slots == [enrolled.slot]
        assert [r.staff_id for r in sensor.registry.all()] == ["alice"]
        assert enrolled.enrolled_at.tzinfo is not None
    assert stat.S_IMODE((tmp_path / "fingers.db").stat().st_mode) == 0o600


def test_enrol_rejects_the_same_finger_twice_and_two_different_fingers(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        enrol(emu, sensor, "alice", "alice-index")
        with pytest.raises(AlreadyEnrolledError, match="already enrolled for staff alice"):
            enrol(emu, sensor, "bob", "alice-index")

        def swapper(step: EnrolStep) -> None:
            if step is EnrolStep.LIFT:
                emu.lift_finger()
            else:
                emu.place_finger("bob-index" if step is EnrolStep.PLACE else "carol-index")

        with pytest.raises(FingersDifferError, match="same finger"):
            sensor.enrol("bob", timeout_s=2.0, prompt=swapper)
        assert emu.template_slots == [0]
        assert [r.staff_id for r in sensor.registry.all()] == ["alice"]


def test_a_staff_member_may_enrol_several_fingers(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        enrol(emu, sensor, "alice", "alice-index")
        enrol(emu, sensor, "alice", "alice-thumb")
        for finger in ("alice-index", "alice-thumb"):
            emu.place_finger(finger)
            match = sensor.identify(timeout_s=1.0)
            assert match is not None and match.staff_id == "alice"


def test_fill_store_to_capacity_gives_clear_error_and_changes_nothing(tmp_path):
    with emulated_sensor(tmp_path, capacity=5) as (emu, sensor):
        for n in range(5):
            enrol(emu, sensor, f"S{n}", f"finger-{n}")
        emu.place_finger("finger-5", touches=2)
        with pytest.raises(TemplateStoreFullError) as error:
            sensor.enrol("S5", timeout_s=1.0)
        assert "full (5 of 5 slots used" in str(error.value)
        assert "hallwatch finger delete" in str(error.value)
        assert emu.template_slots == [0, 1, 2, 3, 4]
        assert len(sensor.registry.all()) == 5

        sensor.delete("S2")  # freeing a slot makes room again
        assert enrol(emu, sensor, "S5", "finger-5").slot == 2


def test_delete_removes_template_and_mapping(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        enrol(emu, sensor, "alice", "alice-index")
        enrol(emu, sensor, "alice", "alice-thumb")
        enrol(emu, sensor, "bob", "bob-index")
        assert sensor.delete("alice") == [0, 1]
        assert emu.template_slots == [2]
        assert [r.staff_id for r in sensor.registry.all()] == ["bob"]
        emu.place_finger("alice-index")
        assert sensor.identify(timeout_s=1.0) is None
        emu.place_finger("bob-index")
        assert sensor.identify(timeout_s=1.0).staff_id == "bob"
        with pytest.raises(UnknownStaffError, match="no finger is enrolled for staff alice"):
            sensor.delete("alice")


def test_template_without_owner_is_reported_and_can_be_deleted_by_slot(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        enrol(emu, sensor, "alice", "alice-index")
        sensor.registry.remove([0])  # e.g. the database was replaced by an older copy
        emu.place_finger("alice-index")
        with pytest.raises(RegistryMismatchError, match=r"slot 0 .* delete --slot 0"):
            sensor.identify(timeout_s=1.0)
        status = sensor.slots()
        assert [(s.slot, s.staff_id, s.on_sensor) for s in status] == [(0, None, True)]
        sensor.delete_slot(0)
        assert emu.template_slots == []


def test_staff_id_is_validated(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        emu.place_finger("x", touches=2)
        for bad in ("", "   ", "a" * 65, "bad\nid"):
            with pytest.raises(ValueError, match="staff id"):
                sensor.enrol(bad, timeout_s=1.0)
        assert emu.template_slots == []


def test_matches_below_the_configured_minimum_score_are_not_accepted(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        enrol(emu, sensor, "alice", "alice-index")
        emu.place_finger("alice-index")
        match = sensor.identify(timeout_s=1.0)
        assert match is not None
        sensor.min_score = match.score + 200  # above anything the sensor reports
        emu.place_finger("alice-index")
        assert sensor.identify(timeout_s=1.0) is None


def test_unusable_data_directory_is_explained(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with SensorEmulator() as emu, pytest.raises(RegistryError, match="cannot open the finger"):
        FingerprintSensor.open(emu.port, registry=tmp_path / "file" / "fingers.db")


def test_enrolment_that_cannot_be_recorded_leaves_no_template(tmp_path):
    with emulated_sensor(tmp_path) as (emu, sensor):
        sensor.registry.close()  # the database became unusable after opening
        emu.place_finger("alice-index", touches=2)
        with pytest.raises(RegistryError, match="template was removed again"):
            sensor.enrol("alice", timeout_s=1.0)
        assert emu.template_slots == []
