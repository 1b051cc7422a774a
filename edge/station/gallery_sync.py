"""The station's share of its site's gallery: names, face templates, finger templates, and
the gallery version the centre's updates build on.

A versioned update (`Config.gallery_base` .. `gallery_version`) is applied whole or not
at all: everything is checked first (embedding model and size, finger template size, the
sensor's free slots), then the fingers are installed through the finger worker (the one
thread that talks to the sensor), then faces, names and the new version are written. A
failure on the sensor part way leaves the version where it was: the centre sends the
update again, and each entry replaces the person's whole (a delete of someone absent is
done), so applying it again converges.

A station keeps the factors it identifies by: a finger-only station keeps names and
fingers of a person and not their face templates, a face-only one the converse.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from base.migrations import Migration, migrate, sqlite_database
from base.private_files import connect_private
from drivers.fingerprint.errors import FingerprintError
from drivers.fingerprint.sensor import FingerprintSensor, check_template
from edge.station.finger_worker import FingerWorker
from models.gallery import Gallery, GalleryChange, GalleryError
from mqtt import schema

log = logging.getLogger(__name__)

FINGER_JOB_S = 120.0  # installing a whole hall's fingers over a serial line takes a while

# Version 1: the file as the first versioned release made it (and any before).
MIGRATIONS = (
    Migration(
        1,
        "the names of staff enrolled here; the gallery version applied",
        [
            "CREATE TABLE IF NOT EXISTS staff (staff_id TEXT PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sync (what TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        ],
    ),
)


class UpdateRefused(Exception):
    """An update the station does not apply, with the reason its ack gives."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What an update changed: None when there was nothing to apply."""

    version: int
    people: int


class StationGallery:
    """Names and the gallery version in the station's own private SQLite file, with the
    face gallery and the sensor it keeps in step."""

    def __init__(self, path: Path, faces: Gallery | None, fingers: FingerWorker | None) -> None:
        self.path, self.faces, self.fingers = path, faces, fingers
        self._lock = threading.Lock()
        self._db = connect_private(path)
        migrate(sqlite_database(self._db, f"the station's staff file {path}"), MIGRATIONS)

    def close(self) -> None:
        self._db.close()

    @property
    def version(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT version FROM sync WHERE what = 'gallery'").fetchone()
        return int(row[0]) if row else 0

    def names(self) -> dict[str, str]:
        """Everyone enrolled here (by face, finger or both) and their name."""
        with self._lock:
            known = dict(self._db.execute("SELECT staff_id, name FROM staff").fetchall())
        if self.faces is not None:
            known.update({p.staff_id: p.name for p in self.faces.people()})
        return known

    def remember(self, staff_id: str, name: str) -> None:
        """A person enrolled here (their templates are kept by the gallery or the sensor)."""
        with self._lock, self._db:
            self._upsert(staff_id, name)

    def _upsert(self, staff_id: str, name: str) -> None:
        self._db.execute(
            "INSERT INTO staff (staff_id, name) VALUES (?, ?) "
            "ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name",
            (staff_id, name),
        )

    # -- central updates -------------------------------------------------------------
    def apply(self, config: schema.Config) -> Applied | None:
        """Apply `config`'s gallery part; None if it has none or the station has it
        already. An UpdateRefused says why not, with nothing changed."""
        if config.gallery_version is None:
            if not config.gallery:
                return None
            return self._apply_ops(config.gallery, None)  # an unversioned (manual) update
        assert config.gallery_base is not None
        mine = self.version
        if mine >= config.gallery_version:
            return None  # already applied (a retained copy, a resend)
        if config.gallery_base > mine:
            raise UpdateRefused(f"gallery is at {mine}, update starts at {config.gallery_base}")
        # base <= mine: each entry is whole, so entries this station has already are
        # applied again harmlessly.
        return self._apply_ops(config.gallery, config.gallery_version)

    def _apply_ops(self, ops: list[schema.GalleryOp], version: int | None) -> Applied:
        faces = self._face_changes(ops)
        fingers = self._finger_changes(ops)
        if fingers:
            assert self.fingers is not None
            try:
                self.fingers.run(lambda sensor: _install(sensor, fingers), FINGER_JOB_S)
            except FingerprintError as exc:
                raise UpdateRefused(f"fingerprint sensor: {exc}") from None
        if faces and self.faces is not None:
            try:
                self.faces.apply_sync(faces)
            except GalleryError as exc:  # checked before: only the disk can fail here
                raise UpdateRefused(str(exc)) from None
        with self._lock, self._db:
            for op in ops:
                if op.op == "delete":
                    self._db.execute("DELETE FROM staff WHERE staff_id = ?", (op.staff_id,))
                else:
                    self._upsert(op.staff_id, op.name or op.staff_id)
            if version is not None:
                self._db.execute(
                    "INSERT INTO sync (what, version) VALUES ('gallery', ?) "
                    "ON CONFLICT (what) DO UPDATE SET version = excluded.version",
                    (version,),
                )
        return Applied(version or self.version, len(ops))

    def _face_changes(self, ops: list[schema.GalleryOp]) -> list[GalleryChange]:
        """The face part of `ops`, every template checked; none for a station without
        face recognition."""
        if self.faces is None:
            return []
        changes = []
        for op in ops:
            if op.face_templates and op.face_model not in (None, self.faces.model):
                raise UpdateRefused(
                    f"{op.staff_id}: face templates of another recogniser model "
                    f"({op.face_model[:12]}...), this station's is {self.faces.model[:12]}..."
                )
            embeddings = []
            for template in op.face_templates:
                if len(template) != self.faces.dimensions * 4:
                    raise UpdateRefused(
                        f"{op.staff_id}: a face template of {len(template)} bytes "
                        f"({len(template) // 4} values), this station's model makes "
                        f"{self.faces.dimensions} float32 values"
                    )
                embeddings.append(np.frombuffer(template, dtype=np.float32))
            if op.op == "delete" or (op.op == "reenrol" and not embeddings):
                # No face here any more (a finger-only entry keeps no empty face record).
                changes.append(GalleryChange("delete", op.staff_id))
            elif embeddings:
                changes.append(
                    GalleryChange(op.op, op.staff_id, op.name, tuple(embeddings), op.second_factor)
                )
        return changes

    def _finger_changes(self, ops: list[schema.GalleryOp]) -> list[schema.GalleryOp]:
        """The ops that change fingers, every template checked; none without a sensor."""
        if self.fingers is None:
            return []
        for op in ops:
            for template in op.finger_templates:
                try:
                    check_template(template, op.staff_id)
                except FingerprintError as exc:
                    raise UpdateRefused(str(exc)) from None
        return [op for op in ops if op.op != "enrol" or op.finger_templates]


def _install(sensor: FingerprintSensor, ops: list[schema.GalleryOp]) -> None:
    """In the finger worker's thread: each person's fingers replaced by theirs in `ops`
    (none for a delete), their old slots freed first."""
    registry = sensor.registry
    freed = [r.slot for op in ops if op.op != "enrol" for r in registry.slots_of(op.staff_id)]
    free = sorted(set(sensor.free_slots()) | set(freed))
    needed = sum(len(op.finger_templates) for op in ops)
    if needed > len(free):
        raise sensor.store_full(needed=needed, free=len(free))
    for op in ops:
        if op.op != "enrol" and registry.slots_of(op.staff_id):
            sensor.delete(op.staff_id)
    now = datetime.now(UTC)
    for op in ops:
        for template in op.finger_templates:
            sensor.install_template(template, op.staff_id, free.pop(0), now)


def open_station_gallery(
    data_dir: Path, faces: Gallery | None, fingers: FingerWorker | None
) -> StationGallery:
    try:
        return StationGallery(data_dir / "staff.db", faces, fingers)
    except (sqlite3.Error, OSError) as exc:
        raise GalleryError(f"cannot open {data_dir / 'staff.db'}: {exc}") from None
