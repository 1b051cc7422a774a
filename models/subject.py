"""Choosing whose face to identify when the frame holds several."""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.detection import DetectedFace


@dataclass(frozen=True)
class Subject:
    face: DetectedFace
    crowded: bool  # another face is nearly as prominent: someone stands too close


def prominence(face: DetectedFace, frame_width: int, frame_height: int) -> float:
    """Face area, discounted by distance from the frame centre (half at a corner)."""
    cx, cy = face.center
    dx = (cx - frame_width / 2) / (frame_width / 2)
    dy = (cy - frame_height / 2) / (frame_height / 2)
    off_centre = min(math.hypot(dx, dy) / math.sqrt(2), 1.0)
    return face.area * (1.0 - 0.5 * off_centre)


def pick_subject(
    faces: list[DetectedFace], frame_width: int, frame_height: int, crowd_ratio: float
) -> Subject | None:
    """The largest, most central face; crowded when a runner-up reaches `crowd_ratio` of it."""
    if not faces:
        return None
    ranked = sorted(faces, key=lambda f: prominence(f, frame_width, frame_height), reverse=True)
    subject = ranked[0]
    crowded = len(ranked) > 1 and ranked[1].area >= crowd_ratio * subject.area
    return Subject(subject, crowded)
