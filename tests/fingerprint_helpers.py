"""Helpers for fingerprint tests: an emulated sensor on a pty and a driver connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drivers.fingerprint.emulator import SensorEmulator
from drivers.fingerprint.sensor import EnrolledFinger, FingerprintSensor


@contextmanager
def emulated_sensor(
    data_dir: Path, *, password: int = 0, timeout_s: float = 2.0, **emulator: Any
) -> Iterator[tuple[SensorEmulator, FingerprintSensor]]:
    """An emulator and the real driver (over pyfingerprint) connected through its pty."""
    with SensorEmulator(password=password, **emulator) as emu:
        sensor = FingerprintSensor.open(
            emu.port, registry=data_dir / "fingers.db", password=password, timeout_s=timeout_s
        )
        sensor.poll_interval_s = 0.01
        with sensor:
            yield emu, sensor


def enrol(
    emu: SensorEmulator, sensor: FingerprintSensor, staff_id: str, finger: str
) -> EnrolledFinger:
    """A person touching twice with `finger`, lifting in between, as the prompts ask."""
    emu.place_finger(finger, touches=2)
    return sensor.enrol(staff_id, timeout_s=2.0)
