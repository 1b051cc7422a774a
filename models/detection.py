"""Face detectors that return boxes plus the 5 landmarks in ArcFace order.

YuNet runs through OpenCV's `FaceDetectorYN` (insightface routes it wrongly); SCRFD runs
through insightface's own decoder, imported only when an SCRFD pack is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from models.manifest import DetectorSpec

# Tight head crops (a face filling the frame) defeat both detectors; a black border
# around them restores the context they were trained on.
_TIGHT_CROP_AREA = 0.30
_PAD_FRACTION = 0.5
# Faces narrower than this at the detector's scale get a second, closer look, in a
# window this many face-widths wide.
_REFINE_FACE_PX = 128
_REFINE_CONTEXT = 2.5


@dataclass(frozen=True)
class DetectedFace:
    """One face in frame coordinates: box (x1, y1, x2, y2), landmarks (5, 2), score."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2

    def shifted(self, dx: float, dy: float) -> DetectedFace:
        """The face in a frame whose origin was at (dx, dy) in this one."""
        offset = np.array([dx, dy], dtype=np.float32)
        return DetectedFace(self.box - np.tile(offset, 2), self.landmarks - offset, self.score)


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[DetectedFace]: ...


def _downscale(image: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    height, width = image.shape[:2]
    scale = min(1.0, longest / max(height, width))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


class YuNetDetector:
    """OpenCV Zoo YuNet through `cv2.FaceDetectorYN`."""

    def __init__(self, path: Path, spec: DetectorSpec) -> None:
        self.spec = spec
        # OpenCV 5 warns on every load that the new DNN engine ignores target hints.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._net = cv2.FaceDetectorYN.create(
            str(path), "", (spec.input_size, spec.input_size),
            spec.score_threshold, spec.nms_threshold, 100,
        )

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        small, scale = _downscale(image, self.spec.input_size)
        self._net.setInputSize((small.shape[1], small.shape[0]))
        _, rows = self._net.detect(small)
        if rows is None:
            return []
        faces = []
        for row in rows:
            x, y, w, h = row[:4] / scale
            landmarks = (row[4:14].reshape(5, 2) / scale).astype(np.float32)
            box = np.array([x, y, x + w, y + h], dtype=np.float32)
            faces.append(DetectedFace(box, landmarks, float(row[14])))
        return faces


class ScrfdDetector:
    """InsightFace SCRFD through insightface's model zoo (never downloads: a path is given)."""

    def __init__(self, path: Path, spec: DetectorSpec) -> None:
        from insightface.model_zoo import get_model

        self.spec = spec
        self._net = get_model(str(path), providers=["CPUExecutionProvider"])
        self._net.prepare(
            ctx_id=-1, input_size=(spec.input_size, spec.input_size),
            det_thresh=spec.score_threshold, nms_thresh=spec.nms_threshold,
        )

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        small, scale = _downscale(image, self.spec.input_size)
        # Detect at the frame's own aspect (multiples of 32), not a padded square.
        size = tuple(int(np.ceil(side / 32) * 32) for side in (small.shape[1], small.shape[0]))
        boxes, landmarks = self._net.detect(small, input_size=size)
        return [
            DetectedFace(
                (box[:4] / scale).astype(np.float32),
                (points / scale).astype(np.float32),
                float(box[4]),
            )
            for box, points in zip(boxes, landmarks, strict=True)
        ]


def make_detector(path: Path, spec: DetectorSpec) -> Detector:
    if spec.kind == "yunet":
        return YuNetDetector(path, spec)
    return ScrfdDetector(path, spec)


def detect_faces(detector: Detector, image: np.ndarray) -> list[DetectedFace]:
    """Detect; when nothing is found, retry on a black-bordered copy (tight head crops)."""
    faces = detector.detect(image)
    if faces:
        return faces
    pad_y = int(image.shape[0] * _PAD_FRACTION)
    pad_x = int(image.shape[1] * _PAD_FRACTION)
    padded = cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=0)
    return [face.shifted(pad_x, pad_y) for face in detector.detect(padded)]


def needs_refinement(face: DetectedFace, image: np.ndarray, detector_side: int) -> bool:
    """Small at the detector's working scale, or filling the frame: landmarks are coarse."""
    scale = min(1.0, detector_side / max(image.shape[:2]))
    fills_frame = face.area >= _TIGHT_CROP_AREA * image.shape[0] * image.shape[1]
    return face.width * scale < _REFINE_FACE_PX or fills_frame


def refine(detector: Detector, image: np.ndarray, face: DetectedFace) -> DetectedFace:
    """Re-detect one face in a window around it, rescaled so the face is ~_REFINE_FACE_PX wide.

    Gives small faces their full-resolution detail (and upsamples tiny ones), and gives
    faces that fill the frame a black border of context. Keeps `face` if the re-detection
    finds nothing near it.
    """
    side = max(face.width, face.height) * _REFINE_CONTEXT
    scale = _REFINE_FACE_PX * _REFINE_CONTEXT / side
    cx, cy = face.center
    offset_x, offset_y = cx - side / 2, cy - side / 2
    matrix = np.array([[scale, 0, -offset_x * scale], [0, scale, -offset_y * scale]])
    window = round(_REFINE_FACE_PX * _REFINE_CONTEXT)
    crop = cv2.warpAffine(image, matrix, (window, window), borderValue=0)
    candidates = detector.detect(crop)
    if not candidates:
        return face
    middle = np.array([window / 2, window / 2])
    best = min(candidates, key=lambda f: float(np.linalg.norm(np.array(f.center) - middle)))
    if np.linalg.norm(np.array(best.center) - middle) > window / 4:
        return face
    origin = np.array([offset_x, offset_y], dtype=np.float32)
    return DetectedFace(
        (best.box / scale + np.tile(origin, 2)).astype(np.float32),
        (best.landmarks / scale + origin).astype(np.float32),
        best.score,
    )
