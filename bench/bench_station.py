"""Station latency: a face appears in the frame -> the punch is journaled -> it is published.

A camera source shows an empty scene, then a staff member's photo, at a real camera's
frame rate; the station identifies (votes over frames), journals, confirms on screen and
publishes through Mosquitto. Prints median and p95 of both times over the trials, beside
the floor set by the camera: the frames the vote needs.

    .venv/bin/python bench/bench_station.py [--trials 30] [--fps 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from drivers.camera import Camera
from drivers.feedback import Notice
from edge.station.config import StationConfig
from edge.station.station import Station
from models.enrolment import enrol_photos
from models.images import read_image
from models.packs import PackStore
from models.pipeline import FacePipeline
from mqtt import schema
from mqtt.client import BrokerConfig, MqttClient

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
ENROL = SHARED / "faces/identities/deepface_p01/img1.jpg"
PROBE = SHARED / "faces/identities/deepface_p01/img2.jpg"


class Scene:
    """A camera at `fps` showing an empty room until `appear()`, then the person."""

    name = "bench-scene"

    def __init__(self, person: np.ndarray, fps: float) -> None:
        self.person = person
        self.empty = np.full_like(person, 90)
        self.period = 1 / fps
        self.appeared_at: float | None = None
        self._next = 0.0

    def open(self) -> None:
        self._next = time.monotonic()

    def read(self) -> np.ndarray:
        self._next += self.period
        time.sleep(max(0.0, self._next - time.monotonic()))
        return self.person if self.appeared_at is not None else self.empty

    def close(self) -> None:
        pass


class Confirmations:
    def __init__(self) -> None:
        self.at: list[float] = []

    def show(self, notice: Notice) -> None:
        if notice.kind == "ok":
            self.at.append(time.monotonic())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--fps", type=float, default=15.0)
    args = parser.parse_args()
    site = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        PackStore(data / "models").install(str(SHARED / "models"), "permissive")
        pipeline = FacePipeline.from_pack(data / "models" / "permissive")
        gallery = pipeline.open_gallery(data / "gallery.db")
        enrol_photos(pipeline, gallery, "S001", "bench", [ENROL])
        gallery.close()
        config = StationConfig(
            site=site,
            device="st-01",
            data_dir=data,
            identify="face",
            debounce_s=0.05,
            heartbeat_s=3600,
            camera={"source": str(PROBE.parent)},
        )
        confirmations = Confirmations()
        station = Station(config, feedback=confirmations)
        scene = Scene(read_image(PROBE), args.fps)
        station.camera = Camera(scene)
        published: list[float] = []
        received = threading.Event()

        def on_message(topic: str, payload: bytes) -> None:
            if isinstance(schema.decode(payload, topic), schema.Punch):
                published.append(time.monotonic())
                received.set()

        central = MqttClient(
            BrokerConfig(persistent_session=False), f"bench-{site}", on_message=on_message
        )
        central.subscribe(f"hallwatch/v1/{site}/st-01/clock")
        central.start()
        station.start()
        stop = threading.Event()
        loop = threading.Thread(target=station.run, args=(stop,), daemon=True)
        loop.start()
        journaled_ms, published_ms = [], []
        for _ in range(args.trials):
            received.clear()
            time.sleep(0.5)  # an empty room: the vote starts afresh
            scene.appeared_at = time.monotonic()
            if not received.wait(10):
                raise SystemExit("benchmark: a punch was not published within 10 s")
            journaled_ms.append((confirmations.at[-1] - scene.appeared_at) * 1e3)
            published_ms.append((published[-1] - scene.appeared_at) * 1e3)
            scene.appeared_at = None
        stop.set()
        loop.join(5)
        station.stop()
        central.stop()
    # The first frame with the face comes at once at best; each further vote waits a frame.
    floor = (config.face.votes_needed - 1) / args.fps * 1e3

    def p95(values: list[float]) -> float:
        return float(np.percentile(values, 95))

    print(
        f"face appears -> punch journaled and confirmed: median {statistics.median(journaled_ms):7.1f} ms"
        f"   p95 {p95(journaled_ms):7.1f} ms"
    )
    print(
        f"face appears -> punch published (PUBACK, received): median {statistics.median(published_ms):7.1f} ms"
        f"   p95 {p95(published_ms):7.1f} ms"
    )
    print(
        f"reference: the camera alone needs {floor:.0f} ms ({config.face.votes_needed} agreeing frames at"
        f" {args.fps:g} fps); ratio {statistics.median(journaled_ms) / floor:.2f};"
        f" {args.trials} trials, permissive pack, Mosquitto at 127.0.0.1:1883"
    )


if __name__ == "__main__":
    main()
