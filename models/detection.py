"""Face detectors that return boxes plus the 5 landmarks in ArcFace order.

YuNet runs through OpenCV's `FaceDetectorYN` (insightface routes it wrongly); SCRFD runs
through insightface's own decoder, imported only when an SCRFD pack is used.

Detection is coarse-to-fine: the whole frame at a small size finds the faces, then
the chosen face is detected again in a small window cut from the full-resolution
frame, which gives precise landmarks for a fraction of a full-size pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from models.manifest import DetectorSpec
from models.runtime import session_options

# Tight head crops (a face filling the frame) defeat both detectors; a black border
# around them restores the context they were trained on.
_TIGHT_CROP_AREA = 0.30
_PAD_FRACTION = 0.5
# A face narrower than this in the coarse pass gets a second look, in a window this
# many face-widths wide (224 px: 1-2 ms with either detector, one thread).
_REFINE_FACE_PX = 112
_REFINE_CONTEXT = 2.0
_ROLL_SETTLED_DEGREES = 5.0
_MAX_EXTRA_PASSES = 2


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

    def mapped(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> DetectedFace:
        """From a resized/shifted view back to the frame: divide by scale, add (dx, dy)."""
        offset = np.array([dx, dy], dtype=np.float32)
        return DetectedFace(
            (self.box / scale + np.tile(offset, 2)).astype(np.float32),
            (self.landmarks / scale + offset).astype(np.float32),
            self.score,
        )


class Detector(Protocol):
    def detect(self, image: np.ndarray, longest: int) -> list[DetectedFace]:
        """Faces in `image`, scaled down first so its longest side is at most `longest`."""
        ...


def _downscale(image: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    """Shrink so the longest side is at most `longest`; returns the image and the scale.

    Gaussian-pyramid halving, then a bilinear step of less than 2x: as alias-free as
    INTER_AREA at a sixth of its cost (1024 -> 320 px: 0.3 ms against 1.8 ms).
    """
    height, width = image.shape[:2]
    scale = min(1.0, longest / max(height, width))
    if scale == 1.0:
        return image, 1.0
    small = image
    while max(small.shape[:2]) >= 2 * longest:
        small = cv2.pyrDown(small)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR), scale


class YuNetDetector:
    """OpenCV Zoo YuNet through `cv2.FaceDetectorYN`."""

    def __init__(self, path: Path, spec: DetectorSpec) -> None:
        # OpenCV 5 warns on every load that the new DNN engine ignores target hints.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._net = cv2.FaceDetectorYN.create(
            str(path),
            "",
            (spec.input_size, spec.input_size),
            spec.score_threshold,
            spec.nms_threshold,
            100,
        )

    def detect(self, image: np.ndarray, longest: int) -> list[DetectedFace]:
        small, scale = _downscale(image, longest)
        self._net.setInputSize((small.shape[1], small.shape[0]))
        _, rows = self._net.detect(small)
        if rows is None:
            return []
        return [
            DetectedFace(
                np.array([row[0], row[1], row[0] + row[2], row[1] + row[3]], np.float32),
                row[4:14].reshape(5, 2).astype(np.float32),
                float(row[14]),
            ).mapped(scale)
            for row in rows
        ]


class ScrfdDetector:
    """InsightFace SCRFD through insightface's model zoo (never downloads: a path is given)."""

    def __init__(self, path: Path, spec: DetectorSpec, threads: int) -> None:
        from insightface.model_zoo import get_model

        self._net = get_model(
            str(path), providers=["CPUExecutionProvider"], sess_options=session_options(threads)
        )
        self._net.prepare(
            ctx_id=-1,
            input_size=(spec.input_size, spec.input_size),
            det_thresh=spec.score_threshold,
            nms_thresh=spec.nms_threshold,
        )

    def detect(self, image: np.ndarray, longest: int) -> list[DetectedFace]:
        small, scale = _downscale(image, longest)
        # Each side padded up to a multiple of 64: insightface keeps one ONNX session
        # per input size, so a camera's frames always reuse one, and odd photo shapes
        # share a few; no pixels are spent on a letterboxed square.
        height, width = (int(np.ceil(side / 64) * 64) for side in small.shape[:2])
        canvas = np.zeros((height, width, 3), np.uint8)
        canvas[: small.shape[0], : small.shape[1]] = small
        boxes, landmarks = self._net.detect(canvas, input_size=(width, height))
        return [
            DetectedFace(
                box[:4].astype(np.float32), points.astype(np.float32), float(box[4])
            ).mapped(scale)
            for box, points in zip(boxes, landmarks, strict=True)
        ]


def make_detector(path: Path, spec: DetectorSpec, threads: int) -> Detector:
    if spec.kind == "yunet":
        return YuNetDetector(path, spec)
    return ScrfdDetector(path, spec, threads)


def detect_faces(detector: Detector, image: np.ndarray, longest: int) -> list[DetectedFace]:
    """Detect; when nothing is found, retry on a black-bordered copy (tight head crops)."""
    faces = detector.detect(image, longest)
    if faces:
        return faces
    pad_y = int(image.shape[0] * _PAD_FRACTION)
    pad_x = int(image.shape[1] * _PAD_FRACTION)
    padded = cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=0)
    return [face.mapped(1.0, -pad_x, -pad_y) for face in detector.detect(padded, longest)]


def needs_refinement(face: DetectedFace, image: np.ndarray, longest: int) -> bool:
    """Small in a pass at `longest`, or filling the frame: its landmarks are coarse."""
    scale = min(1.0, longest / max(image.shape[:2]))
    fills_frame = face.area >= _TIGHT_CROP_AREA * image.shape[0] * image.shape[1]
    return face.width * scale < _REFINE_FACE_PX or fills_frame


def _eye_roll(face: DetectedFace) -> float:
    """Head roll in degrees, from the line through the eyes."""
    dx, dy = face.landmarks[1] - face.landmarks[0]
    return float(np.degrees(np.arctan2(dy, dx)))


def refine(detector: Detector, image: np.ndarray, face: DetectedFace) -> DetectedFace:
    """Re-detect one face in a window around it, scaled so the face is ~_REFINE_FACE_PX wide
    and turned upright by its roll.

    Gives small faces their full-resolution detail (and upsamples tiny ones), faces that
    fill the frame a black border of context, and tilted heads the upright pose both
    detectors were trained on. While the estimated roll keeps changing (a detector
    sees a tilted head as less tilted than it is), the window is turned again.
    Keeps `face` if the re-detection finds nothing near it.
    """
    refined = _redetect(detector, image, face)
    for _ in range(_MAX_EXTRA_PASSES):
        if abs(_eye_roll(refined) - _eye_roll(face)) < _ROLL_SETTLED_DEGREES:
            break
        face, refined = refined, _redetect(detector, image, refined)
    return refined


def _redetect(detector: Detector, image: np.ndarray, face: DetectedFace) -> DetectedFace:
    side = max(face.width, face.height) * _REFINE_CONTEXT
    window = round(_REFINE_FACE_PX * _REFINE_CONTEXT)
    matrix = cv2.getRotationMatrix2D(face.center, _eye_roll(face), window / side)
    matrix[:, 2] += np.array([window / 2, window / 2]) - np.array(face.center)
    crop = cv2.warpAffine(image, matrix, (window, window), borderValue=0)
    middle = np.array([window / 2, window / 2])
    near = [
        f
        for f in detector.detect(crop, window)
        if np.linalg.norm(np.array(f.center) - middle) < window / 4
    ]
    if not near:
        return face
    best = min(near, key=lambda f: float(np.linalg.norm(np.array(f.center) - middle)))
    back = cv2.invertAffineTransform(matrix)
    # The box keeps its upright size around the mapped-back centre: rotating its
    # corners would inflate it, and liveness crops are scaled from the box.
    scale = window / side
    centre = back[:, :2] @ np.array(best.center) + back[:, 2]
    half = np.array([best.width, best.height]) / (2 * scale)
    box = np.concatenate([centre - half, centre + half]).astype(np.float32)
    landmarks = (best.landmarks @ back[:, :2].T + back[:, 2]).astype(np.float32)
    return DetectedFace(box, landmarks, best.score)
