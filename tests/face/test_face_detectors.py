"""The detectors' own decoding finds what the reference decoders find, on real photos:
YuNet against OpenCV's `FaceDetectorYN`, SCRFD against insightface's `SCRFD.detect`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.detection import DetectedFace, make_detector
from models.images import read_image
from models.packs import PackStore, verify_pack

PHOTOS = (
    "identities/deepface_p01/img1.jpg",  # portrait
    "identities/ms_family2_lady/Family2-Lady3.jpg",  # tight head crop
    "multi/ms_test-image-person-group.jpg",  # two people
    "multi/cf_016_8.jpg",  # eight people
    "multi/deepface_selfie-many-people.jpg",  # a crowd, small faces
)
# Two backends' float arithmetic: ~1e-4 px measured; a different face would be pixels off.
CLOSE_PX = 0.01


def small(image: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, longest / max(image.shape[:2]))
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def yunet_reference(path: Path, image: np.ndarray) -> list[DetectedFace]:
    net = cv2.FaceDetectorYN.create(str(path), "", (image.shape[1], image.shape[0]), 0.6, 0.3)
    _, rows = net.detect(image)
    rows = [] if rows is None else rows
    return [
        DetectedFace(np.r_[r[:2], r[:2] + r[2:4]], r[4:14].reshape(5, 2), float(r[14]))
        for r in rows
    ]


def scrfd_reference(path: Path, image: np.ndarray) -> list[DetectedFace]:
    from insightface.model_zoo import get_model

    net = get_model(str(path), providers=["CPUExecutionProvider"])
    net.prepare(ctx_id=-1, det_thresh=0.5, nms_thresh=0.4)
    height, width = (-(-side // 64) * 64 for side in image.shape[:2])
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    boxes, points = net.detect(canvas, input_size=(width, height))
    return [DetectedFace(b[:4], p, float(b[4])) for b, p in zip(boxes, points, strict=True)]


@pytest.mark.parametrize(
    ("pack", "reference"),
    [("permissive", yunet_reference), ("scrfd_mobilefacenet", scrfd_reference)],
)
@pytest.mark.parametrize("photo", PHOTOS)
@pytest.mark.parametrize("longest", [320, 640])
def test_the_detector_finds_what_its_reference_decoder_finds(
    pack_store: PackStore, faces_dir: Path, pack, reference, photo, longest
):
    pack_dir = pack_store.path(pack)
    manifest = verify_pack(pack_dir)
    detector = make_detector(pack_dir / manifest.detector.file, manifest.detector, 1)
    image, _ = small(read_image(faces_dir / photo), longest)
    ours = detector.detect(image, longest)
    theirs = reference(pack_dir / manifest.detector.file, image)
    assert ours, f"{photo}: no face found"
    assert len(ours) == len(theirs)
    for mine, other in zip(ours, theirs, strict=True):
        assert np.abs(mine.box - other.box).max() < CLOSE_PX
        assert np.abs(mine.landmarks - other.landmarks).max() < CLOSE_PX
        assert mine.score == pytest.approx(other.score, abs=1e-4)
