"""The station's control commands (base.control_socket, `<data_dir>/control.sock`):
enrol a face from photos, enrol a finger, and status.

An enrolment happens here, on the station's own pipeline and sensor (the finger worker
runs the sensor's enrolment: no second process ever opens the serial port), and is
journaled as an `Enrolment` event carrying the new templates: the centre keeps them and
sends them to every station of the site.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from base.control_socket import Prompt, Reply
from base.errors import HallwatchError
from base.identifiers import check_staff_id
from drivers.fingerprint.sensor import EnrolledFinger, FingerprintSensor
from models.enrolment import enrol_photos
from mqtt import schema

if TYPE_CHECKING:
    import threading
    from datetime import datetime

    from edge.journal import Journal
    from edge.station.config import StationConfig
    from edge.station.finger_worker import FingerWorker
    from edge.station.gallery_sync import StationGallery
    from models.gallery import Gallery
    from models.pipeline import FacePipeline

log = logging.getLogger(__name__)

TOUCH_S = 15.0  # each touch of a finger enrolment


class ControlRefused(HallwatchError):
    """A control command this station cannot carry out, and why."""


class Enrolling(Protocol):
    """What the commands use of the station (edge.station.station.Station)."""

    config: StationConfig
    staff: StationGallery
    names: dict[str, str]
    pipeline: FacePipeline | None
    gallery: Gallery
    fingers: FingerWorker | None
    config_lock: threading.Lock
    journal: Journal

    def now(self) -> datetime: ...


class StationControl:
    """The commands, carried out on a running station."""

    def __init__(self, station: Enrolling) -> None:
        self.station = station

    def __call__(self, request: Reply, prompt: Prompt) -> Reply:
        commands: dict[str, Callable[[Reply, Prompt], Reply]] = {
            "status": self.status,
            "enrol-face": self.enrol_face,
            "enrol-finger": self.enrol_finger,
        }
        command = commands.get(str(request.get("command")))
        if command is None:
            raise ControlRefused(
                f"unknown command {request.get('command')!r} (known: {', '.join(commands)})"
            )
        return command(request, prompt)

    def status(self, request: Reply, prompt: Prompt) -> Reply:
        station = self.station
        return {
            "site": station.config.site,
            "device": station.config.device,
            "gallery_version": station.staff.version,
            "staff": len(station.names),
            "face": station.pipeline is not None,
            "sensor": station.fingers.status if station.fingers is not None else None,
        }

    def enrol_face(self, request: Reply, prompt: Prompt) -> Reply:
        station = self.station
        if station.pipeline is None:
            raise ControlRefused("this station has no face recognition: enrol a finger")
        staff_id, name = _who(request, station.names)
        photos = [str(p) for p in request.get("photos", [])]
        if not photos:
            raise ControlRefused("give the photos to enrol from")
        replace = bool(request.get("replace", False))
        with station.config_lock:
            report = enrol_photos(
                station.pipeline, station.gallery, staff_id, name, photos, replace=replace
            )
            station.staff.remember(staff_id, name)
            station.names = station.staff.names()
        self._send_up(
            staff_id,
            name,
            replace,
            face_templates=[e.astype("float32").tobytes() for e in report.embeddings],
            face_model=station.gallery.model,
        )
        return {"staff_id": staff_id, "templates": report.templates, "refused": report.refused}

    def enrol_finger(self, request: Reply, prompt: Prompt) -> Reply:
        station = self.station
        if station.fingers is None:
            raise ControlRefused("this station has no fingerprint sensor")
        staff_id, name = _who(request, station.names)
        touch_s = float(request.get("timeout_s", TOUCH_S))

        def enrol(sensor: FingerprintSensor) -> tuple[EnrolledFinger, bytes]:
            enrolled = sensor.enrol(staff_id, timeout_s=touch_s, prompt=lambda s: prompt(s.value))
            return enrolled, sensor.read_template(enrolled.slot)

        with station.config_lock:
            enrolled, template = station.fingers.run(enrol, touch_s * 3 + 10)
            station.staff.remember(staff_id, name)
            station.names = station.staff.names()
        self._send_up(staff_id, name, False, finger_templates=[template])
        return {"staff_id": staff_id, "slot": enrolled.slot, "score": enrolled.score}

    def _send_up(self, staff_id: str, name: str, replace: bool, **templates: Any) -> None:
        station = self.station
        station.journal.append(
            schema.new_event(
                schema.Enrolment,
                station.config.site,
                station.config.device,
                station.now(),
                staff_id=staff_id,
                name=name,
                replace=replace,
                **templates,
            )
        )
        log.info("%s enrolled here; templates sent to the centre", staff_id)


def _who(request: Reply, names: dict[str, str]) -> tuple[str, str]:
    """The staff id asked for, and their name: the one given, else the one known here."""
    try:
        staff_id = check_staff_id(str(request.get("staff_id", "")))
    except ValueError as exc:
        raise ControlRefused(str(exc)) from None
    return staff_id, str(request.get("name") or names.get(staff_id) or staff_id)[:200]
