"""Measuring a pack on a folder of labelled photos.

Layout: `<faces>/identities/<person>/<photo>` (at least two photos per person for
same-person pairs) and optionally `<faces>/unknown/<photo>` (people not enrolled).
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import HallwatchError
from models.enrolment import enrol_photos
from models.gallery import GalleryError
from models.images import ImageError, read_image
from models.pipeline import FacePipeline

_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class FacesFolderError(HallwatchError, FileNotFoundError):
    """The folder to evaluate on is not laid out as `identities/<person>/<photo>`."""


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _PHOTO_SUFFIXES)


def people_in(faces_dir: Path) -> dict[str, list[Path]]:
    """Each person's photos, from `<faces_dir>/identities/<person>/`."""
    identities = faces_dir / "identities"
    if not identities.is_dir():
        raise FacesFolderError(f"{faces_dir}: expected an identities/<person>/ folder of photos")
    return {p.name: photos_in(p) for p in sorted(identities.iterdir()) if p.is_dir()}


def unknown_in(faces_dir: Path) -> list[Path]:
    """Photos of people not enrolled, from `<faces_dir>/unknown/` (none without it)."""
    return photos_in(faces_dir / "unknown") if (faces_dir / "unknown").is_dir() else []


@dataclass(frozen=True)
class Evaluation:
    threshold: float
    lower_threshold: float  # the grey zone is [lower_threshold, threshold)
    verify_threshold: float | None  # the 1:1 check by staff number
    same: np.ndarray  # cosines of same-person pairs
    different: np.ndarray  # cosines of different-person pairs
    rank1_correct: int  # the right person was the best candidate
    rank1_total: int
    identified: int  # ... and was accepted (threshold and margin)
    unknown_accepted: int
    unknown_total: int
    unusable: dict[str, str]  # photo -> why it gave no embedding
    second_factor: int  # rank-1 probes in the grey zone for the right person
    unknown_second_factor: int  # unknown probes in the grey zone: a second factor stops them

    def in_zone(self, scores: np.ndarray) -> int:
        """How many scores fall in the grey zone."""
        return int(((scores >= self.lower_threshold) & (scores < self.threshold)).sum())

    @property
    def impostors_at_verify(self) -> int:
        """Different-person pairs that would pass the 1:1 staff-number check."""
        if self.verify_threshold is None:
            return 0
        return int((self.different >= self.verify_threshold).sum())

    @property
    def false_accept_rate(self) -> float:
        return float((self.different >= self.threshold).mean()) if self.different.size else 0.0

    @property
    def false_reject_rate(self) -> float:
        return float((self.same < self.threshold).mean()) if self.same.size else 0.0

    @property
    def margin_to_impostors(self) -> float:
        """Threshold minus the highest different-person score (negative: false accepts)."""
        return self.threshold - float(self.different.max()) if self.different.size else 1.0

    @property
    def margin_to_genuine(self) -> float:
        """Lowest same-person score minus the threshold (negative: false rejects)."""
        return float(self.same.min()) - self.threshold if self.same.size else 1.0


def _embed(pipeline: FacePipeline, photo: Path, unusable: dict[str, str]) -> np.ndarray | None:
    try:
        result = pipeline.analyse(read_image(photo), check_liveness=False)
    except ImageError as exc:
        unusable[str(photo)] = str(exc)
        return None
    if result.embedding is None:
        unusable[str(photo)] = result.photo_reason or "no embedding"
    return result.embedding


def evaluate(pipeline: FacePipeline, faces_dir: Path) -> Evaluation:
    people = people_in(faces_dir)
    unusable: dict[str, str] = {}
    vectors = {
        name: [v for p in photos if (v := _embed(pipeline, p, unusable)) is not None]
        for name, photos in people.items()
    }
    same = [float(a @ b) for vs in vectors.values() for a, b in itertools.combinations(vs, 2)]
    different = [
        float(a @ b)
        for (_, va), (_, vb) in itertools.combinations(vectors.items(), 2)
        for a in va
        for b in vb
    ]
    correct = identified = total = accepted_unknown = second = unknown_second = 0
    unknown_photos = unknown_in(faces_dir)
    with tempfile.TemporaryDirectory(prefix="hallwatch-eval-") as tmp:
        gallery = pipeline.open_gallery(Path(tmp) / "gallery.db")
        # Rank-1: each person enrolled from their first photo, probed with the others.
        for name, photos in people.items():
            try:
                enrol_photos(pipeline, gallery, name, name, photos[:1])
            except GalleryError as exc:  # an unusable first photo: counted as missed probes
                unusable[str(photos[0])] = str(exc)
        for name, photos in people.items():
            for photo in photos[1:]:
                total += 1
                result = pipeline.analyse(read_image(photo), gallery, check_liveness=False)
                correct += result.search is not None and result.search.staff_id == name
                identified += result.match is not None and result.match.staff_id == name
                grey = result.candidate if result.second_factor else None
                second += grey is not None and grey.staff_id == name
        for photo in unknown_photos:
            result = pipeline.analyse(read_image(photo), gallery, check_liveness=False)
            accepted_unknown += result.match is not None
            unknown_second += result.second_factor
        gallery.close()
    return Evaluation(
        pipeline.threshold,
        pipeline.lower_threshold,
        pipeline.verify_threshold,
        np.array(same),
        np.array(different),
        correct,
        total,
        identified,
        accepted_unknown,
        len(unknown_photos),
        unusable,
        second,
        unknown_second,
    )
