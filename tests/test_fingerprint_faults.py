"""Every sensor fault the issue lists, produced by the emulator, handled with its message."""

from __future__ import annotations

import os
import time

import pytest

from drivers.fingerprint.emulator import Fault, SensorEmulator
from drivers.fingerprint.errors import (
    NoFingerError,
    NoSensorError,
    PoorImageError,
    SensorCommunicationError,
    SensorDisconnected,
    SensorNotResponding,
    WrongAddressError,
    WrongPasswordError,
)
from drivers.fingerprint.sensor import FingerprintSensor
from drivers.fingerprint.synthetic import TouchQuality
from tests.fingerprint_helpers import emulated_sensor, enrol

REPLY_TIMEOUT_S = 0.5


@pytest.fixture
def enrolled(tmp_path):
    """A sensor with alice enrolled, replies bounded to REPLY_TIMEOUT_S."""
    with emulated_sensor(tmp_path, timeout_s=REPLY_TIMEOUT_S) as (emu, sensor):
        enrol(emu, sensor, "alice", "alice-index")
        yield emu, sensor


def identifies_alice(emu, sensor) -> bool:
    emu.place_finger("alice-index")
    match = sensor.identify(timeout_s=1.0)
    return match is not None and match.staff_id == "alice"


def test_no_sensor_on_a_missing_port(tmp_path):
    with pytest.raises(NoSensorError, match=r"no fingerprint sensor on .*ttyNONE.*plug the sensor"):
        FingerprintSensor.open(str(tmp_path / "ttyNONE"), registry=tmp_path / "f.db")


def test_no_sensor_answering_on_a_port_is_detected_within_the_bound(tmp_path):
    master, slave = os.openpty()  # a port with nothing behind it
    try:
        started = time.monotonic()
        with pytest.raises(NoSensorError, match=r"no fingerprint sensor answered .* within 0\.5 s"):
            FingerprintSensor.open(
                os.ttyname(slave), registry=tmp_path / "f.db", timeout_s=REPLY_TIMEOUT_S
            )
        assert time.monotonic() - started < 5  # pyfingerprint alone waits 24 s
    finally:
        os.close(master)
        os.close(slave)


def test_wrong_password(tmp_path):
    with SensorEmulator(password=0x1234ABCD) as emu:
        with pytest.raises(WrongPasswordError, match="refused the configured password"):
            FingerprintSensor.open(emu.port, registry=tmp_path / "f.db", password=0x1234ABCC)
        sensor = FingerprintSensor.open(emu.port, registry=tmp_path / "f.db", password=0x1234ABCD)
        assert sensor.count() == (0, 1000)
        sensor.close()


def test_wrong_address(tmp_path):
    with SensorEmulator(address=0x00000001) as emu:
        with pytest.raises(WrongAddressError, match="0xFFFFFFFF"):
            FingerprintSensor.open(emu.port, registry=tmp_path / "f.db")
        sensor = FingerprintSensor.open(emu.port, registry=tmp_path / "f.db", address=1)
        assert sensor.info().address == 1
        sensor.close()


def test_no_finger_placed(enrolled):
    emu, sensor = enrolled
    emu.lift_finger()
    with pytest.raises(NoFingerError, match=r"no finger on the sensor within 0\.2 s: place"):
        sensor.identify(timeout_s=0.2)
    assert identifies_alice(emu, sensor)


@pytest.mark.parametrize(
    ("quality", "advice"),
    [(TouchQuality.SMUDGED, "clean the sensor window"), (TouchQuality.LIGHT, "press harder")],
)
def test_poor_image_says_what_to_do(enrolled, quality, advice):
    emu, sensor = enrolled
    emu.place_finger("alice-index", quality)
    with pytest.raises(PoorImageError, match=advice):
        sensor.identify(timeout_s=1.0)
    emu.place_finger("bob-index", quality, touches=2)
    with pytest.raises(PoorImageError, match=advice):
        sensor.enrol("bob", timeout_s=1.0)
    assert emu.template_slots == [0]
    assert identifies_alice(emu, sensor)


def test_one_corrupted_reply_is_retried_transparently(enrolled):
    emu, sensor = enrolled
    emu.inject(Fault.CORRUPT_CHECKSUM, times=1)
    assert identifies_alice(emu, sensor)


def test_persistently_corrupted_replies_are_reported_then_recovered(enrolled):
    emu, sensor = enrolled
    emu.inject(Fault.CORRUPT_CHECKSUM)
    with pytest.raises(SensorCommunicationError, match=r"arrive damaged .*checksum.*the cable"):
        identifies_alice(emu, sensor)
    emu.clear_faults()
    assert identifies_alice(emu, sensor)


def test_silence_is_bounded_and_recovered(enrolled):
    emu, sensor = enrolled
    emu.inject(Fault.SILENCE)
    started = time.monotonic()
    with pytest.raises(SensorNotResponding, match=r"stopped answering .* within 0\.5 s"):
        identifies_alice(emu, sensor)
    assert time.monotonic() - started < 5  # pyfingerprint alone waits 24 s
    emu.clear_faults()
    assert identifies_alice(emu, sensor)


def test_a_late_reply_is_not_taken_for_the_next_answer(enrolled):
    emu, sensor = enrolled
    emu.reply_delay_s = 1.5 * REPLY_TIMEOUT_S  # after the driver gave up, within the drain
    emu.inject(Fault.LATE_REPLY, times=1)
    with pytest.raises(SensorNotResponding):
        identifies_alice(emu, sensor)
    for finger, expected in [("alice-index", "alice"), ("bob-index", None)] * 3:
        emu.place_finger(finger)
        match = sensor.identify(timeout_s=1.0)
        assert (match.staff_id if match else None) == expected


def test_unplugging_is_reported_and_replugging_recovers(enrolled):
    emu, sensor = enrolled
    emu.unplug()
    with pytest.raises(SensorDisconnected, match=r"was disconnected .* check the cable"):
        identifies_alice(emu, sensor)
    with pytest.raises(NoSensorError, match="No such file or directory"):
        identifies_alice(emu, sensor)
    emu.plug_in()
    assert identifies_alice(emu, sensor)  # same port path, reopened, password re-verified
    assert emu.template_slots == [0]  # the store survives a power cycle


def test_a_sensor_that_went_silent_then_was_replugged_is_reopened(enrolled):
    """The resynchronisation after silence flushes a port that hung up meanwhile (the cable
    re-seated): that is a disconnection like any other (termios's error is no OSError),
    and the port is opened again."""
    emu, sensor = enrolled
    emu.inject(Fault.SILENCE)
    with pytest.raises(SensorNotResponding):
        identifies_alice(emu, sensor)
    emu.clear_faults()
    emu.unplug()
    emu.plug_in()
    assert identifies_alice(emu, sensor)
