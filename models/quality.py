"""Quality gates on the chosen face: size, sharpness, pose and exposure.

Each measure is computed on the detector output and the aligned crop, so it costs well
under a millisecond; each failing gate names what the person should do.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.detection import DetectedFace
from models.reasons import Reason
from models.settings import QualityConfig


@dataclass(frozen=True)
class QualityReport:
    face_px: float  # inter-ocular distance in frame pixels
    sharpness: float  # variance of the Laplacian of the aligned grey crop
    yaw: float  # nose offset from the eye midline, in inter-ocular distances
    pitch: float  # nose height between the eye line (0) and the mouth line (1)
    brightness: float  # mean grey level of the aligned crop, 0..255
    lower_skin: float  # share of the mouth-and-chin area coloured like the skin between the eyes
    lower_uniform: float  # share of that area of one colour (its own median)
    problems: tuple[Reason, ...]
    masked: bool = False  # the lower face looks covered: a reason, should it not be recognised

    @property
    def ok(self) -> bool:
        return not self.problems


# In the aligned 112x112 ArcFace crop (eyes at y 52, mouth corners at y 92): the skin
# between and just below the eyes, above any mask, and the mouth and chin, under one.
_NOSE_BRIDGE = (slice(42, 60), slice(48, 64))
_LOWER_FACE = (slice(80, 104), slice(38, 74))
_SAME_COLOUR = 12.0  # CIELAB distance (lightness at half weight) within which colours match
_LIGHTNESS_WEIGHT = np.array([0.5, 1.0, 1.0])


def _lower_face_colours(aligned_bgr: np.ndarray) -> tuple[float, float]:
    """(share of the lower face within `_SAME_COLOUR` of the nose bridge's median colour,
    share within it of the lower face's own median colour).

    A mask is one material unlike the wearer's skin: little skin, much uniformity. Beside
    the person's own skin, so it holds for every skin tone and most light.
    """
    lab = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    skin = np.median(lab[_NOSE_BRIDGE].reshape(-1, 3), axis=0)
    lower = lab[_LOWER_FACE].reshape(-1, 3)
    own = np.median(lower, axis=0)

    def near(colour: np.ndarray) -> float:
        distance = np.linalg.norm((lower - colour) * _LIGHTNESS_WEIGHT, axis=1)
        return float((distance < _SAME_COLOUR).mean())

    return near(skin), near(own)


def assess(face: DetectedFace, aligned_bgr: np.ndarray, config: QualityConfig) -> QualityReport:
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks.astype(np.float64)
    eyes_mid = (left_eye + right_eye) / 2
    mouth_mid = (mouth_left + mouth_right) / 2
    inter_ocular = float(np.linalg.norm(right_eye - left_eye))
    eye_axis = (right_eye - left_eye) / max(inter_ocular, 1e-6)
    yaw = float(np.dot(nose - eyes_mid, eye_axis)) / max(inter_ocular, 1e-6)
    eye_to_mouth = float(np.linalg.norm(mouth_mid - eyes_mid))
    pitch = float(np.linalg.norm(nose - eyes_mid)) / max(eye_to_mouth, 1e-6)
    # Only the central face region: the warp's black border must not count as sharp edges.
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    centre = grey[24:104, 24:88]
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())

    problems: list[Reason] = []
    if inter_ocular < config.min_eye_distance_px:
        problems.append(Reason.TOO_SMALL)
    # Exposure before sharpness: a dark frame also has little edge energy, and the
    # light is what the person should fix first.
    if brightness < config.min_brightness:
        problems.append(Reason.TOO_DARK)
    elif brightness > config.max_brightness:
        problems.append(Reason.TOO_BRIGHT)
    if abs(yaw) > config.max_yaw or not config.min_pitch <= pitch <= config.max_pitch:
        problems.append(Reason.POSE)
    if sharpness < config.min_sharpness:
        problems.append(Reason.BLURRY)
    lower_skin, lower_uniform = _lower_face_colours(aligned_bgr)
    masked = lower_skin <= config.mask_max_skin and lower_uniform >= config.mask_min_uniform
    return QualityReport(
        inter_ocular,
        sharpness,
        yaw,
        pitch,
        brightness,
        lower_skin,
        lower_uniform,
        tuple(problems),
        masked,
    )
