"""Face detectors that return boxes plus the 5 landmarks in ArcFace order.

Both run on ONNX Runtime and are decoded here, for the anchors whose score passes the
threshold only: YuNet as OpenCV's `FaceDetectorYN` decodes it, SCRFD as insightface does.

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
from models.runtime import open_any_size_session, open_session

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
# Both detectors' feature levels; SCRFD with landmarks (det_500m) has two anchors a cell.
_STRIDES = (8, 16, 32)
_SCRFD_ANCHORS = 2


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


class _InputBlob:
    """A detector's NCHW float input, reused frame after frame: the image normalised
    (`(pixel - mean) * scale`, BGR or RGB) into the top-left corner of a blob whose
    sides are padded up to a multiple of `multiple`, the padding black as normalised."""

    def __init__(self, multiple: int, mean: float, scale: float, swap_rb: bool) -> None:
        self._multiple = multiple
        self._mean, self._scale, self._swap_rb = mean, scale, swap_rb
        self._blobs: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, image: np.ndarray) -> np.ndarray:
        rows, cols = image.shape[:2]
        height, width = (-(-side // self._multiple) * self._multiple for side in (rows, cols))
        blob = self._blobs.get((height, width))
        if blob is None:
            blob = self._blobs[(height, width)] = np.empty((1, 3, height, width), np.float32)
        blob[:, :, :rows, :cols] = cv2.dnn.blobFromImage(
            image, self._scale, (cols, rows), (self._mean,) * 3, swapRB=self._swap_rb
        )
        black = -self._mean * self._scale
        blob[:, :, rows:, :] = black
        blob[:, :, :rows, cols:] = black
        return blob


def _anchor_cells(passing: np.ndarray, cols: int, anchors: int = 1) -> np.ndarray:
    """(column, row) of the feature-map cell of each passing anchor, as float32."""
    cell = passing // anchors
    return np.stack([cell % cols, cell // cols], axis=1).astype(np.float32)


class YuNetDetector:
    """OpenCV Zoo YuNet on ONNX Runtime at the frame's own size, decoded as OpenCV's
    `FaceDetectorYN` does (its padding to multiples of 32, raw BGR input, score
    sqrt(class x objectness), its NMS), for the anchors that pass the threshold only.
    ONNX Runtime runs it in a third of OpenCV DNN's time (bench/bench_face.py)."""

    def __init__(self, path: Path, spec: DetectorSpec, threads: int) -> None:
        self._session = open_any_size_session(path, threads)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [
            f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in _STRIDES
        ]
        self._blob = _InputBlob(32, 0.0, 1.0, swap_rb=False)
        self._threshold = spec.score_threshold
        self._nms_threshold = spec.nms_threshold

    def detect(self, image: np.ndarray, longest: int) -> list[DetectedFace]:
        small, scale = _downscale(image, longest)
        blob = self._blob(small)
        outs = self._session.run(self._outputs, {self._input: blob})
        scores, boxes, points = [], [], []
        for level, stride in enumerate(_STRIDES):
            cls, obj = (np.clip(outs[level + k].reshape(-1), 0, 1) for k in (0, 3))
            score = np.sqrt(cls * obj)
            passing = np.flatnonzero(score >= self._threshold)
            if passing.size == 0:
                continue
            cells = _anchor_cells(passing, blob.shape[3] // stride)
            box = outs[level + 6].reshape(-1, 4)[passing]
            centre = (cells + box[:, :2]) * stride
            half = np.exp(box[:, 2:]) * stride / 2
            scores.append(score[passing])
            boxes.append(np.hstack([centre - half, centre + half]))
            kps = outs[level + 9].reshape(-1, 5, 2)[passing]
            points.append((kps + cells[:, None, :]) * stride)
        if not scores:
            return []
        score, box, point = np.concatenate(scores), np.vstack(boxes), np.vstack(points)
        # OpenCV's NMS on the boxes truncated to whole pixels, as FaceDetectorYN does.
        whole = np.hstack([box[:, :2], box[:, 2:] - box[:, :2]]).astype(np.int32)
        keep = cv2.dnn.NMSBoxes(
            whole.tolist(), score.tolist(), self._threshold, self._nms_threshold, top_k=100
        )
        return [
            DetectedFace(box[i], point[i], float(score[i])).mapped(scale)
            for i in np.asarray(keep, dtype=int).reshape(-1)
        ]


class ScrfdDetector:
    """InsightFace SCRFD on its own ONNX Runtime session, decoded here.

    The same arithmetic as insightface's `SCRFD.detect` (its blob, its box and landmark
    decoding, its NMS), without its repeated work: the frame is padded once, straight
    into a reused input blob, and only the anchors whose score passes the threshold
    are decoded (insightface decodes every anchor, then pads and copies the frame twice).
    """

    def __init__(self, path: Path, spec: DetectorSpec, threads: int) -> None:
        self._session = open_session(path, threads)
        self._input = self._session.get_inputs()[0].name
        outputs = self._session.get_outputs()
        if len(outputs) != 9:
            raise ValueError(
                f"detector {spec.file}: an SCRFD with landmarks has 9 outputs, this one "
                f"{len(outputs)}; fix the pack manifest"
            )
        self._outputs = [o.name for o in outputs]
        self._threshold = spec.score_threshold
        self._nms_threshold = spec.nms_threshold
        # insightface's normalisation, RGB: (pixel - 127.5) / 128.
        self._blob = _InputBlob(64, 127.5, 1 / 128.0, swap_rb=True)

    def detect(self, image: np.ndarray, longest: int) -> list[DetectedFace]:
        small, scale = _downscale(image, longest)
        blob = self._blob(small)
        outs = self._session.run(self._outputs, {self._input: blob})
        width = blob.shape[3]
        scores, boxes, points = [], [], []
        for level, stride in enumerate(_STRIDES):
            level_scores = outs[level].reshape(-1)
            passing = np.flatnonzero(level_scores >= self._threshold)
            if passing.size == 0:
                continue
            centres = _anchor_cells(passing, width // stride, _SCRFD_ANCHORS) * stride
            distance = outs[level + 3].reshape(-1, 4)[passing] * stride
            offsets = outs[level + 6].reshape(-1, 10)[passing] * stride
            scores.append(level_scores[passing])
            boxes.append(np.hstack([centres - distance[:, :2], centres + distance[:, 2:]]))
            points.append(offsets.reshape(-1, 5, 2) + centres[:, None, :])
        if not scores:
            return []
        score = np.concatenate(scores)
        order = np.argsort(-score, kind="stable")
        score, box, point = score[order], np.vstack(boxes)[order], np.vstack(points)[order]
        return [
            DetectedFace(box[i], point[i], float(score[i])).mapped(scale)
            for i in _nms(box, self._nms_threshold)
        ]


def _nms(boxes: np.ndarray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression over boxes sorted by falling score (insightface's,
    its +1 pixel areas included, so the same boxes survive)."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.arange(len(boxes))
    keep = []
    while order.size > 0:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        width = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        height = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = width * height
        order = rest[inter / (areas[i] + areas[rest] - inter) <= threshold]
    return keep


def make_detector(path: Path, spec: DetectorSpec, threads: int) -> Detector:
    if spec.kind == "yunet":
        return YuNetDetector(path, spec, threads)
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
