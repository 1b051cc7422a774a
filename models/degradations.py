"""Deterministic degradations of a photo: what a station's camera sees in bad conditions.

`hallwatch models eval --degrade` applies each kind to labelled photos at run time (no
degraded photo is ever stored or shipped) and counts what the pipeline answers. The
photometric kinds act on the whole frame; the others are placed from the face the
pipeline found in the clean photo (its box and five landmarks), so a kind means the
same for a tight head crop and for a face in a group scene. The one varying choice,
the mask's colour, is drawn from the caller's seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from models.detection import DetectedFace
from models.reasons import Reason

# Surgical light blue, white, black (BGR): the masks seen in halls.
MASK_COLOURS: dict[str, tuple[int, int, int]] = {
    "light blue": (224, 200, 150),
    "white": (236, 236, 232),
    "black": (38, 38, 40),
}
# The mask's outline in face coordinates: u across, in inter-ocular distances from the
# eyes' midpoint; v down, in eye-to-mouth distances (0 the eye line, 1 the mouth line).
_MASK_OUTLINE = (
    (-1.05, 0.55), (-0.5, 0.38), (0.0, 0.32), (0.5, 0.38), (1.05, 0.55), (1.0, 1.35),
    (0.6, 1.8), (0.0, 1.95), (-0.6, 1.8), (-1.0, 1.35),
)  # fmt: skip
_PLEATS_V = (0.85, 1.15, 1.45)


def _eye_distance(face: DetectedFace) -> float:
    return float(np.linalg.norm(face.landmarks[1] - face.landmarks[0]))


def blur(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """Motion-free defocus: a Gaussian of a quarter of the eye distance."""
    return cv2.GaussianBlur(frame, (0, 0), sigmaX=0.25 * _eye_distance(face))


def dark(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """An unlit hall: gamma 2.2 on the levels, then a third of the light."""
    levels = (np.arange(256) / 255.0) ** 2.2 * 255 * 0.33
    return cv2.LUT(frame, levels.round().astype(np.uint8))


def overexposed(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """Direct sunlight on the face: 2.5x the light plus a veil, clipped."""
    return cv2.convertScaleAbs(frame, alpha=2.5, beta=40)


def jpeg(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """A cheap camera's stream: JPEG at quality 10."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 10])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def rotated(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """The head (or a loose camera) tilted 30 degrees about the face's centre."""
    matrix = cv2.getRotationMatrix2D(face.center, 30.0, 1.0)
    return cv2.warpAffine(frame, matrix, (frame.shape[1], frame.shape[0]), borderValue=0)


def small(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """Standing far back: the frame scaled so the eyes are 14 px apart (the gate is 20)."""
    scale = min(1.0, 14.0 / max(_eye_distance(face), 1.0))
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def mirrored(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """A selfie camera's mirror image."""
    return cv2.flip(frame, 1)


def masked(frame: np.ndarray, face: DetectedFace, rng: np.random.Generator) -> np.ndarray:
    """A face mask over the nose, mouth and chin, with three pleats, of a drawn colour."""
    return mask_of(frame, face, list(MASK_COLOURS)[int(rng.integers(len(MASK_COLOURS)))])


def mask_of(frame: np.ndarray, face: DetectedFace, colour: str) -> np.ndarray:
    """A face mask of `colour` (one of `MASK_COLOURS`)."""
    left_eye, right_eye, _, mouth_left, mouth_right = face.landmarks.astype(np.float64)
    eyes = (left_eye + right_eye) / 2
    across = right_eye - left_eye
    down = (mouth_left + mouth_right) / 2 - eyes

    def point(u: float, v: float) -> np.ndarray:
        return eyes + u * across + v * down

    outline = np.round([point(u, v) for u, v in _MASK_OUTLINE]).astype(np.int32)
    fill = MASK_COLOURS[colour]
    cloth = np.zeros_like(frame)
    cloth[:] = fill
    pleat = tuple(max(0, c - 40) if c > 128 else c + 30 for c in fill)
    thickness = max(1, round(0.03 * float(np.linalg.norm(across))))
    for v in _PLEATS_V:
        ends = np.round([point(-0.9, v), point(0.9, v)]).astype(np.int32)
        cv2.line(cloth, tuple(ends[0]), tuple(ends[1]), pleat, thickness, cv2.LINE_AA)
    # The cloth takes the scene's light: shaded by the face's own smoothed brightness
    # under it (0.6-1.4x around its mean), as a real mask is.
    covered = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(covered, [outline], 255, cv2.LINE_AA)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    light = cv2.GaussianBlur(grey, (0, 0), sigmaX=0.3 * float(np.linalg.norm(across)))
    inside = covered > 127
    shade = np.clip(0.6 + 0.4 * light / max(float(light[inside].mean()), 1.0), 0.6, 1.4)
    shaded = np.clip(cloth * shade[:, :, None], 0, 255)
    alpha = (covered.astype(np.float32) / 255)[:, :, None]
    return (shaded * alpha + frame * (1 - alpha)).round().astype(np.uint8)


@dataclass(frozen=True)
class Kind:
    """One degradation and the answers that are right for it when the face is not
    accepted: what the person should do about it."""

    name: str
    describe: str
    # (frame, the clean photo's face, a seeded generator for the kinds that vary)
    apply: Callable[[np.ndarray, DetectedFace, np.random.Generator], np.ndarray]
    right: frozenset[Reason]


KINDS: tuple[Kind, ...] = (
    Kind("blur", "Gaussian blur, sigma = 1/4 eye distance", blur, frozenset({Reason.BLURRY})),
    Kind("dark", "gamma 2.2, then 1/3 of the light", dark, frozenset({Reason.TOO_DARK})),
    Kind("bright", "2.5x the light + 40, clipped", overexposed, frozenset({Reason.TOO_BRIGHT})),
    Kind("jpeg", "JPEG quality 10", jpeg, frozenset({Reason.BLURRY})),
    Kind("rotation", "turned 30 degrees", rotated, frozenset({Reason.POSE})),
    Kind("small", "eyes 14 px apart", small, frozenset({Reason.TOO_SMALL})),
    Kind("mask", "a mask over nose, mouth and chin", masked, frozenset({Reason.MASKED})),
    Kind("mirror", "mirror image", mirrored, frozenset()),
)
KIND_NAMES = tuple(k.name for k in KINDS)
