"""The `[fingerprint]` section of a device configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pydantic

from base.config import Section, TimeZoneName, load_toml
from drivers.fingerprint.protocol import DEFAULT_ADDRESS
from drivers.fingerprint.registry import FingerRegistry

if TYPE_CHECKING:  # the settings load without the sensor's serial stack
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

    port: str = pydantic.Field(
        "/dev/ttyUSB0",
        description="The sensor's serial port: a USB adapter, or /dev/serial0 for the Pi's UART.",
    )
    baud: int = pydantic.Field(
        57600,
        ge=9600,
        le=115200,
        multiple_of=9600,
        description="The serial speed the sensor is set to (57600 from the factory).",
    )
    password: U32 = pydantic.Field(
        0, description="The sensor's 32-bit password (0 from the factory); hex like 0x1234ABCD."
    )
    address: U32 = pydantic.Field(
        DEFAULT_ADDRESS,
        description="The sensor's 32-bit module address (0xFFFFFFFF from the factory).",
    )
    reply_timeout_s: float = pydantic.Field(
        2.0,
        gt=0,
        le=30,
        description=(
            "Seconds to wait for each reply before the link is taken as broken and resynchronised."
        ),
    )
    min_score: int = pydantic.Field(
        50,
        ge=0,
        le=0xFFFF,
        description=(
            "Lowest match score, as the sensor reports it, accepted as that finger; a "
            "lower score counts as a finger that is not enrolled."
        ),
    )
    data_dir: Path = pydantic.Field(
        Path("/var/lib/hallwatch"),
        description="Where fingers.db (which sensor slot is which staff member, 0600) is kept.",
    )

    @property
    def database(self) -> Path:
        return self.data_dir / "fingers.db"

    def open_sensor(self) -> FingerprintSensor:
        """Connect to the sensor (raises a FingerprintError a person can act on)."""
        from drivers.fingerprint.sensor import FingerprintSensor

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
    identify: str | None = pydantic.Field(
        None, description="How the device identifies people (its `identify`)."
    )
    timezone: TimeZoneName | None = pydantic.Field(
        None, description="The hall's time zone, for the times a person reads."
    )
    fingerprint: FingerprintSettings = pydantic.Field(
        FingerprintSettings(), description="The fingerprint sensor."
    )


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
