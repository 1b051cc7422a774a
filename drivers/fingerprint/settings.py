"""The `[fingerprint]` section of a device configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pydantic

from base.config import Section, TimeZoneName, load_toml
from drivers.fingerprint.protocol import DEFAULT_ADDRESS
from drivers.fingerprint.registry import FingerRegistry
from drivers.fingerprint.sensor import FingerprintSensor

U32 = Annotated[int, pydantic.Field(ge=0, le=0xFFFFFFFF)]


class FingerprintSettings(Section):
    """How to reach the sensor and where this device keeps its slot -> staff map.

    TOML example (integers may be written in hex):

        [fingerprint]
        port = "/dev/ttyUSB0"
        password = 0x00000000
        data_dir = "/var/lib/hallwatch"
    """

    port: str = "/dev/ttyUSB0"
    baud: int = pydantic.Field(57600, ge=9600, le=115200, multiple_of=9600)
    password: U32 = 0
    address: U32 = DEFAULT_ADDRESS
    reply_timeout_s: float = pydantic.Field(2.0, gt=0, le=30)
    min_score: int = pydantic.Field(50, ge=0, le=0xFFFF)
    data_dir: Path = Path("/var/lib/hallwatch")

    @property
    def database(self) -> Path:
        return self.data_dir / "fingers.db"

    def open_sensor(self) -> FingerprintSensor:
        """Connect to the sensor (raises a FingerprintError a person can act on)."""
        return FingerprintSensor.open(
            self.port,
            registry=self.database,
            password=self.password,
            address=self.address,
            timeout_s=self.reply_timeout_s,
            baud=self.baud,
            min_score=self.min_score,
        )


class _DeviceFile(pydantic.BaseModel):
    """A device configuration file: only `[fingerprint]` and how the device identifies
    people are read here, the rest is ignored."""

    model_config = pydantic.ConfigDict(extra="ignore")
    identify: str | None = None
    timezone: TimeZoneName | None = None
    fingerprint: FingerprintSettings = FingerprintSettings()


def load_settings(path: str | Path) -> FingerprintSettings:
    return load_toml(_DeviceFile, path).fingerprint


def device_timezone(path: str | Path) -> str | None:
    """The time zone the device file names (its hall's), if it names one."""
    return load_toml(_DeviceFile, path).timezone


def finger_missing(path: str | Path, staff_id: str) -> bool:
    """The device of file `path` needs face and finger together, and `staff_id` has no
    finger enrolled on it yet (so a face alone can never clock them in there)."""
    device = load_toml(_DeviceFile, path)
    if device.identify != "face_and_finger":
        return False
    database = device.fingerprint.database
    if not database.exists():
        return True
    registry = FingerRegistry(database)
    try:
        return not registry.slots_of(staff_id)
    finally:
        registry.close()
