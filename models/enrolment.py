"""Enrolment: from photo files or live captures, each quality-gated before it counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.gallery import Gallery, GalleryError, Template
from models.images import ImageError, read_image
from models.pipeline import FacePipeline

# Measured with `hallwatch models eval --embeddings` on the shared photos (docs/face.md):
# the 29 probes of the people with more than 3 photos, enrolled from 1 or from 3.
ONE_PHOTO_WARNING = (
    "注意：此人只有一张照片登记。再加两张（正面、稍向左、稍向右）识别更可靠："
    "实测三张照片登记时本人 29/29 次通过（100%），一张时 28/29（97%），"
    "本人最低得分 0.49 对 0.36（阈值 0.455）。\n"
    "warning: this person is enrolled from one photo only; add 2 more (front, slightly "
    "left, slightly right): measured, with 3 photos the person was accepted 29/29 times "
    "(100%), with one 28/29 (97%); their lowest score 0.49 vs 0.36 (threshold 0.455)"
)


@dataclass
class EnrolReport:
    staff_id: str
    accepted: list[str] = field(default_factory=list)  # sources that became templates
    refused: dict[str, str] = field(default_factory=dict)  # source -> reason
    templates: int = 0  # the person's template count afterwards
    embeddings: list[np.ndarray] = field(default_factory=list)  # the new templates' own


def _template(pipeline: FacePipeline, frame: np.ndarray, source: str, live: bool) -> Template:
    """One template from one frame, or ValueError with what the person should do."""
    result = pipeline.analyse(frame, check_liveness=live)
    if result.rejection is not None or result.embedding is None:
        # A live capture says what the person should do; a photo, what is wrong with it.
        raise ValueError((result.reason if live else result.photo_reason) or "no usable face")
    image = None
    if pipeline.config.keep_face_images and result.aligned is not None:
        image = pipeline.encode_face(result.aligned)
    return Template(result.embedding, source, image)


def _store(
    pipeline: FacePipeline,
    gallery: Gallery,
    report: EnrolReport,
    name: str,
    templates: list[Template],
    replace: bool,
) -> EnrolReport:
    if not templates:
        reasons = "".join(f"\n  {source}: {why}" for source, why in report.refused.items())
        raise GalleryError(f"no usable face for {report.staff_id}: nothing enrolled{reasons}")
    report.templates = gallery.enrol(
        report.staff_id, name, templates, pipeline.duplicate_threshold, replace=replace
    )
    report.accepted = [t.source for t in templates]
    report.embeddings = [t.embedding for t in templates]
    return report


def enrol_photos(
    pipeline: FacePipeline,
    gallery: Gallery,
    staff_id: str,
    name: str,
    photos: Iterable[str | Path],
    *,
    replace: bool = False,
) -> EnrolReport:
    """Enrol from photo files (liveness is not judged on photos: an operator supervises).

    Unusable photos are reported and skipped; if none is usable nothing changes.
    """
    report = EnrolReport(staff_id)
    templates = photo_templates(pipeline, photos, report.refused)
    return _store(pipeline, gallery, report, name, templates, replace)


def photo_templates(
    pipeline: FacePipeline, photos: Iterable[str | Path], refused: dict[str, str]
) -> list[Template]:
    """A template from each usable photo; why each other one is not, in `refused`."""
    templates = []
    for photo in photos:
        try:
            templates.append(_template(pipeline, read_image(photo), str(photo), live=False))
        except (ImageError, ValueError) as exc:
            refused[str(photo)] = str(exc)
    return templates


def enrol_captures(
    pipeline: FacePipeline,
    gallery: Gallery,
    staff_id: str,
    name: str,
    frames: Iterable[np.ndarray | None],
    *,
    wanted: int = 3,
    replace: bool = False,
) -> EnrolReport:
    """Enrol from live frames: the first `wanted` frames that pass every gate, liveness too."""
    report = EnrolReport(staff_id)
    templates = []
    seen = 0
    for index, frame in enumerate(frames):
        if frame is None:
            continue
        seen += 1
        source = f"camera frame {index}"
        try:
            templates.append(_template(pipeline, frame, "camera", live=True))
        except ValueError as exc:
            report.refused[source] = str(exc)
        if len(templates) == wanted:
            break
    if not seen:
        report.refused["camera"] = "no frames: is the camera connected?"
    return _store(pipeline, gallery, report, name, templates, replace)
