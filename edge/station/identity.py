"""Combining face and finger into one identification, per the site's policy.

Pure: the station feeds what the camera and the sensor said, with the time, and gets
back who to punch for, what to ask next, or a mismatch to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mqtt.schema import Method, SecondFactor

Mode = Literal["face", "finger", "face_or_finger", "face_and_finger"]


@dataclass(frozen=True, slots=True)
class FaceId:
    staff_id: str
    score: float  # cosine similarity
    liveness: float | None


@dataclass(frozen=True, slots=True)
class FingerId:
    staff_id: str
    score: int  # the sensor's match score


@dataclass(frozen=True, slots=True)
class Identified:
    staff_id: str
    method: Method
    score: float
    finger_score: int | None = None
    liveness: float | None = None
    second_factor: SecondFactor | None = None  # what confirmed a face in the grey zone


@dataclass(frozen=True, slots=True)
class NeedSecond:
    staff_id: str
    factor: Literal["face", "finger"]


@dataclass(frozen=True, slots=True)
class Mismatch:
    face_staff_id: str
    finger_staff_id: str


Identification = Identified | NeedSecond | Mismatch | None


def _both(face: FaceId, finger: FingerId) -> Identified | Mismatch:
    if face.staff_id != finger.staff_id:
        return Mismatch(face.staff_id, finger.staff_id)
    return Identified(face.staff_id, Method.FACE_FINGER, face.score, finger.score, face.liveness)


class Combiner:
    def __init__(self, mode: Mode, window_s: float) -> None:
        self.mode = mode
        self.window_s = window_s
        self._pending: tuple[FaceId | FingerId, float] | None = None

    def _waiting(self, now: float) -> FaceId | FingerId | None:
        if self._pending is not None and now - self._pending[1] <= self.window_s:
            return self._pending[0]
        self._pending = None
        return None

    def face(self, seen: FaceId, now: float) -> Identification:
        if self.mode == "finger":
            return None
        if self.mode != "face_and_finger":
            return Identified(seen.staff_id, Method.FACE, seen.score, liveness=seen.liveness)
        return self._with_the_other(seen, now)

    def finger(self, touched: FingerId, now: float) -> Identification:
        if self.mode == "face":
            return None
        if self.mode != "face_and_finger":
            return Identified(touched.staff_id, Method.FINGER, float(touched.score), touched.score)
        return self._with_the_other(touched, now)

    def _with_the_other(self, given: FaceId | FingerId, now: float) -> Identification:
        """face_and_finger: `given` and the other factor, if it waits; else wait for it."""
        waiting = self._waiting(now)
        face, finger = (given, waiting) if isinstance(given, FaceId) else (waiting, given)
        if isinstance(face, FaceId) and isinstance(finger, FingerId):
            self._pending = None
            return _both(face, finger)
        self._pending = (given, now)
        return NeedSecond(given.staff_id, "finger" if isinstance(given, FaceId) else "face")
