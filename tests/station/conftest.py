"""Station fixtures: an installed pack, an enrolled gallery, replay folders, fingers."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.feedback import Notice
from drivers.fingerprint.emulator import SensorEmulator
from drivers.fingerprint.sensor import FingerprintSensor
from edge.station.config import StationConfig
from edge.station.keypad import KeyReader
from edge.station.station import Station
from models.enrolment import enrol_photos
from models.packs import PackStore
from models.pipeline import FacePipeline
from mqtt import schema
from tests.mqtt_helpers import Collector, client

# Who is enrolled at the test station, from which photo.
STAFF = {
    "S001": ("张伟", "identities/deepface_p01/img1.jpg"),
    "S002": ("李娜", "identities/fr_obama/obama.jpg"),
}
FINGERS = {"S001": "finger-s001", "S002": "finger-s002", "S003": "finger-s003"}


@pytest.fixture(scope="session")
def enrolled_data(tmp_path_factory, pack_store: PackStore, faces_dir: Path) -> Path:
    """A data dir with the permissive pack and a gallery of STAFF (built once)."""
    data = tmp_path_factory.mktemp("station-data")
    shutil.copytree(pack_store.path("permissive"), data / "models" / "permissive")
    pipeline = FacePipeline.from_pack(data / "models" / "permissive")
    gallery = pipeline.open_gallery(data / "gallery.db")
    for staff_id, (name, photo) in STAFF.items():
        report = enrol_photos(pipeline, gallery, staff_id, name, [faces_dir / photo])
        assert report.accepted, report
    gallery.close()
    return data


def replay_folder(tmp_path: Path, faces_dir: Path, *photos: str) -> Path:
    folder = tmp_path / f"replay-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    for i, photo in enumerate(photos):
        shutil.copy(faces_dir / photo, folder / f"{i:03d}{Path(photo).suffix}")
    return folder


@pytest.fixture
def station_data(tmp_path: Path, enrolled_data: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(enrolled_data, data)
    return data


@pytest.fixture
def site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def make_config(site: str, data: Path, **overrides) -> StationConfig:
    base = {
        "site": site,
        "device": "st-01",
        "data_dir": data,
        "heartbeat_s": 3600,
        "feedback": {"console": True},
    }
    return StationConfig.model_validate(base | overrides)


def face_config(
    site: str, data: Path, camera_source: Path, fps: float = 5, **overrides
) -> StationConfig:
    """A face-only station replaying `camera_source` (a folder that does not exist is a
    camera that is not there)."""
    camera = {"source": str(camera_source), "fps": fps}
    return make_config(site, data, identify="face", camera=camera, **overrides)


def sensor_table(emulator: SensorEmulator, data: Path) -> dict[str, str]:
    """The station's `[fingerprint]` table for the emulated sensor, its fingers in `data`."""
    return {"port": emulator.port, "data_dir": str(data)}


def finger_config(
    site: str, data: Path, emulator: SensorEmulator, staff: list[str], **overrides
) -> StationConfig:
    """A finger-only station on the emulated sensor, with `staff`'s fingers enrolled."""
    enrol_fingers(emulator, data, staff)
    fingerprint = sensor_table(emulator, data)
    return make_config(
        site, data, identify="finger", debounce_s=0.5, fingerprint=fingerprint, **overrides
    )


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[SensorEmulator]:
    with SensorEmulator(capacity=50, seed=7) as emu:
        yield emu


def enrol_fingers(emu: SensorEmulator, data: Path, staff: list[str]) -> None:
    with FingerprintSensor.open(emu.port, registry=data / "fingers.db") as sensor:
        for staff_id in staff:
            emu.place_finger(FINGERS[staff_id], touches=2)
            sensor.enrol(staff_id, timeout_s=5)
            emu.lift_finger()


class RunningStation:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.stop = threading.Event()
        self.thread = threading.Thread(target=station.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Station:
        self.station.start()
        self.thread.start()
        return self.station

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        self.station.stop()


class Central:
    """A subscriber to one site's device topics on the shared broker, decoding payloads."""

    def __init__(self, site: str, port: int = 1883, **auth) -> None:
        self.seen = Collector()
        self.client = client(port, f"central-{site}", on_message=self.seen, **auth)
        self.client.subscribe(f"hallwatch/v1/{site}/+/+")

    def __enter__(self) -> Central:
        self.client.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.stop()

    def events(self, kind: type[schema.Event] | None = None) -> list[schema.Event]:
        # An empty payload clears a retained message: it is no event.
        events = [schema.decode(p, t) for t, p in list(self.seen.messages) if p]
        return [e for e in events if kind is None or isinstance(e, kind)]

    def wait_for(
        self, kind: type[schema.Event], count: int, timeout_s: float = 20.0
    ) -> list[schema.Event]:
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.events(kind)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.events(kind)


class Screen:
    """The station's display as the person in front of it reads it: every notice, in order."""

    def __init__(self) -> None:
        self.shown: list[Notice] = []

    def show(self, notice: Notice) -> None:
        self.shown.append(notice)

    def text(self) -> str:
        return "\n".join(f"{n.kind} {n.title} | {n.detail}" for n in self.shown)

    def wait_for(self, words: str, timeout_s: float = 15.0, *, after: int = 0) -> Notice:
        """The first notice saying `words`, among those shown after the first `after`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for notice in list(self.shown)[after:]:
                if words in notice.title or words in notice.detail:
                    return notice
            time.sleep(0.05)
        raise AssertionError(f"{words!r} never shown; the screen showed:\n{self.text()}")


class Keypad:
    """A keypad on a pipe, read by the station's real KeyReader."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.reader = KeyReader(os.fdopen(read_end))
        self._keys = os.fdopen(write_end, "w", buffering=1)

    def press(self, line: str) -> None:
        self._keys.write(line + "\n")
        time.sleep(0.3)  # the station's loop takes it

    def close(self) -> None:
        self._keys.close()
