"""Passive liveness with Silent-Face MiniFASNet: is this a live face or a presentation?"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from models.detection import DetectedFace
from models.manifest import AntiSpoofSpec
from models.runtime import open_session


def context_crop(image: np.ndarray, face: DetectedFace, scale: float, size: int) -> np.ndarray:
    """Minivision's CropImage rule: the box scaled around its centre, shifted to stay inside."""
    height, width = image.shape[:2]
    box_w, box_h = face.width, face.height
    scale = min(scale, (height - 1) / max(box_h, 1), (width - 1) / max(box_w, 1))
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = face.center
    x1, y1 = cx - new_w / 2, cy - new_h / 2
    x2, y2 = cx + new_w / 2, cy + new_h / 2
    if x1 < 0:
        x2, x1 = x2 - x1, 0
    if y1 < 0:
        y2, y1 = y2 - y1, 0
    if x2 > width - 1:
        x1, x2 = x1 - (x2 - width + 1), width - 1
    if y2 > height - 1:
        y1, y2 = y1 - (y2 - height + 1), height - 1
    patch = image[int(y1) : int(y2) + 1, int(x1) : int(x2) + 1]
    return cv2.resize(patch, (size, size))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


class LivenessChecker:
    """P(real) for a detected face; BGR crop, raw 0-255, as the model was trained."""

    def __init__(self, path: Path, spec: AntiSpoofSpec, threads: int = 1) -> None:
        self.spec = spec
        self._session = open_session(path, threads)
        self._input = self._session.get_inputs()[0].name

    def real_probability(self, image: np.ndarray, face: DetectedFace) -> float:
        crop = context_crop(image, face, self.spec.crop_scale, self.spec.input_size)
        blob = np.ascontiguousarray(crop.transpose(2, 0, 1)[None].astype(np.float32))
        (logits,) = self._session.run(None, {self._input: blob})
        return float(_softmax(logits.reshape(-1))[self.spec.real_index])
