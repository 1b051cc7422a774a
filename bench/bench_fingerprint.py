"""Fingerprint latency through the pty: the driver against raw pyfingerprint, same run.

Enrols STORE fingers into an emulated R307-sized sensor, then identifies each from a new
touch, once through the driver (FingerprintSensor) and once with the bare pyfingerprint
calls a minimal program would make, on two identical emulators. Prints median / p95 and the
driver's overhead ratio. The emulator answers instantly, so the figures are host + link
cost (pyfingerprint writes and reads one byte per system call), not sensor time.

    .venv/bin/python bench/bench_fingerprint.py [--store 1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyfingerprint.pyfingerprint import PyFingerprint

from drivers.fingerprint.emulator import Fault, SensorEmulator
from drivers.fingerprint.errors import SensorNotResponding
from drivers.fingerprint.sensor import FingerprintSensor

CAPACITY = 1000


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000.0


def raw_enrol(emu: SensorEmulator, device: PyFingerprint, finger: str) -> None:
    emu.place_finger(finger, touches=2)
    device.readImage()
    device.convertImage(1)
    device.searchTemplate()
    device.readImage()  # the lift
    device.readImage()
    device.convertImage(2)
    device.compareCharacteristics()
    device.createTemplate()
    device.storeTemplate()  # pyfingerprint finds the first free slot in the index


def raw_identify(emu: SensorEmulator, device: PyFingerprint, finger: str) -> None:
    emu.place_finger(finger)
    device.readImage()
    device.convertImage(1)
    device.searchTemplate()


def run_raw(store: int) -> tuple[list[float], list[float]]:
    with SensorEmulator(capacity=CAPACITY, seed=1) as emu:
        device = PyFingerprint(emu.port, 57600, 0xFFFFFFFF, 0)
        device.verifyPassword()
        enrol = [timed(lambda n=n: raw_enrol(emu, device, f"f{n}")) for n in range(store)]
        identify = [timed(lambda n=n: raw_identify(emu, device, f"f{n}")) for n in range(store)]
        return enrol, identify


def run_driver(store: int, data_dir: Path) -> tuple[list[float], list[float], float]:
    with SensorEmulator(capacity=CAPACITY, seed=1) as emu:
        sensor = FingerprintSensor.open(emu.port, registry=data_dir / "fingers.db")

        def enrol(n: int) -> None:
            emu.place_finger(f"f{n}", touches=2)
            sensor.enrol(f"S{n}", timeout_s=2.0)

        def identify(n: int) -> None:
            emu.place_finger(f"f{n}")
            match = sensor.identify(timeout_s=2.0)
            assert match is not None and match.staff_id == f"S{n}"

        enrol_ms = [timed(lambda n=n: enrol(n)) for n in range(store)]
        identify_ms = [timed(lambda n=n: identify(n)) for n in range(store)]
        silent = FingerprintSensor.open(emu.port, registry=data_dir / "fingers.db", timeout_s=0.5)
        emu.inject(Fault.SILENCE)
        started = time.perf_counter()
        try:
            silent.count()
        except SensorNotResponding:
            silence_s = time.perf_counter() - started
        else:
            raise SystemExit("the emulated sensor answered although it was told to be silent")
        silent.close()
        sensor.close()
        return enrol_ms, identify_ms, silence_s


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=int, default=CAPACITY, help="fingers to enrol")
    store = parser.parse_args().store
    with tempfile.TemporaryDirectory() as scratch:
        driver_enrol, driver_identify, silence_s = run_driver(store, Path(scratch))
    raw_enrol_ms, raw_identify_ms = run_raw(store)
    print(f"fingerprint through the pty, {store} fingers, capacity {CAPACITY}")
    print(f"{'operation':<10}{'path':<16}{'median ms':>10}{'p95 ms':>10}")
    for name, driver, raw in (
        ("enrol", driver_enrol, raw_enrol_ms),
        ("identify", driver_identify, raw_identify_ms),
    ):
        (d_med, d_p95), (r_med, r_p95) = summary(driver), summary(raw)
        print(f"{name:<10}{'driver':<16}{d_med:>10.2f}{d_p95:>10.2f}")
        print(f"{name:<10}{'pyfingerprint':<16}{r_med:>10.2f}{r_p95:>10.2f}")
        print(f"{name:<10}{'overhead':<16}{d_med / r_med:>9.2f}x{d_p95 / r_p95:>9.2f}x")
    print(
        f"silent sensor detected by the driver in {silence_s:.2f} s "
        "(reply timeout 0.5 s; pyfingerprint alone: 24 s)"
    )


if __name__ == "__main__":
    main()
