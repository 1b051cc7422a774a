"""`hallwatch models eval --degrade`: what the pipeline answers to degraded photos.

Each person is enrolled from their first photo; each probe (by default one other photo
a person, drawn with the seed; every one with `all_photos`) and each unknown person's
photo is degraded by each kind of `models.degradations` at run time, and the answer
counted: accepted, asked for a second factor, or rejected, and whether the rejection
says what to do about that degradation (`Kind.right`) or only "not recognised".
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.degradations import KINDS, Kind
from models.detection import DetectedFace
from models.enrolment import enrol_photos
from models.evaluation import people_in, unknown_in
from models.gallery import Gallery, GalleryError
from models.images import read_image
from models.pipeline import FacePipeline
from models.reasons import Reason


@dataclass
class KindCounts:
    """The answers to one degradation kind."""

    kind: Kind | None  # None: the clean photos, for comparison
    probes: int = 0  # genuine probes (enrolled people)
    accepted: int = 0  # as the right person
    second_factor: int = 0  # in the grey zone for the right person
    rejected: int = 0
    right_message: int = 0  # rejections that say what to do about this degradation
    not_recognised: int = 0  # rejections as "not recognised", wrong for an enrolled face
    wrong_person: int = 0  # accepted as someone else: false accepts
    strangers: int = 0  # unknown people's probes
    strangers_accepted: int = 0  # false accepts too
    reasons: Counter[str] = field(default_factory=Counter)  # rejection codes, genuine

    @property
    def name(self) -> str:
        return self.kind.name if self.kind else "none"

    def as_dict(self) -> dict[str, Any]:
        described = self.kind.describe if self.kind else "the photo as it is"
        return {**self.__dict__, "kind": self.name, "describe": described} | {
            "reasons": dict(self.reasons)
        }


@dataclass(frozen=True)
class DegradedEvaluation:
    seed: int
    all_photos: bool
    kinds: list[KindCounts]
    unusable: dict[str, str]  # clean photo -> why it could not be degraded


def _probe(
    pipeline: FacePipeline, gallery: Gallery, frame: np.ndarray, who: str | None, counts: KindCounts
) -> None:
    result = pipeline.analyse(frame, gallery, check_liveness=False)
    if who is None:
        counts.strangers += 1
        counts.strangers_accepted += result.accepted
        return
    counts.probes += 1
    if result.accepted:
        assert result.match is not None
        right = result.match.staff_id == who
        counts.accepted += right
        counts.wrong_person += not right
    elif result.second_factor and result.candidate and result.candidate.staff_id == who:
        counts.second_factor += 1
    else:
        counts.rejected += 1
        reason = result.rejection
        counts.reasons[reason.code if reason else "wrong candidate"] += 1
        counts.right_message += counts.kind is not None and reason in counts.kind.right
        counts.not_recognised += reason is Reason.UNKNOWN


def evaluate_degraded(
    pipeline: FacePipeline,
    faces_dir: Path,
    *,
    kinds: tuple[Kind, ...] = KINDS,
    all_photos: bool = False,
    seed: int = 0,
) -> DegradedEvaluation:
    people = people_in(faces_dir)
    rng = np.random.default_rng(seed)
    probes: list[tuple[Path, str | None]] = []
    for name, photos in people.items():
        others = photos[1:]
        if all_photos:
            probes += [(p, name) for p in others]
        elif others:
            probes.append((others[int(rng.integers(len(others)))], name))
    probes += [(p, None) for p in unknown_in(faces_dir)]
    clean_counts = KindCounts(None)
    counts = {k.name: KindCounts(k) for k in kinds}
    unusable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="hallwatch-degrade-") as tmp:
        gallery = pipeline.open_gallery(Path(tmp) / "gallery.db")
        for name, photos in people.items():
            try:
                enrol_photos(pipeline, gallery, name, name, photos[:1])
            except GalleryError as exc:
                unusable[str(photos[0])] = str(exc)
        for photo, who in probes:
            frame = read_image(photo)
            clean = pipeline.analyse(frame, check_liveness=False)
            face: DetectedFace | None = clean.subject
            if face is None:
                unusable[str(photo)] = clean.photo_reason or "no face"
                continue
            _probe(pipeline, gallery, frame, who, clean_counts)
            for kind in kinds:
                _probe(pipeline, gallery, kind.apply(frame, face, rng), who, counts[kind.name])
        gallery.close()
    return DegradedEvaluation(seed, all_photos, [clean_counts, *counts.values()], unusable)


def degraded_report(pack: str, result: DegradedEvaluation) -> tuple[dict[str, Any], str]:
    data = {
        "pack": pack,
        "seed": result.seed,
        "all_photos": result.all_photos,
        "kinds": [k.as_dict() for k in result.kinds],
        "unusable": result.unusable,
    }
    sample = "every probe photo" if result.all_photos else f"one probe a person, seed {result.seed}"
    lines = [
        f"pack {pack}, degraded probes ({sample}); each person enrolled from one clean photo",
        f"{'kind':<9} {'probes':>6} {'accept':>6} {'2nd f.':>6} {'reject':>6} "
        f"{'right msg':>9} {'not rec.':>8} {'false acc.':>10}  rejections",
    ]
    for k in result.kinds:
        false = f"{k.wrong_person}+{k.strangers_accepted}/{k.strangers}"
        why = ", ".join(f"{code} {n}" for code, n in k.reasons.most_common())
        lines.append(
            f"{k.name:<9} {k.probes:>6} {k.accepted:>6} {k.second_factor:>6} {k.rejected:>6} "
            f"{k.right_message:>9} {k.not_recognised:>8} {false:>10}  {why}"
        )
    lines += [
        "right msg: rejected with what to do about the degradation (blur: hold still; "
        "dark/bright: the light; small: move closer; mask: lower it or use the finger)",
        "not rec.: rejected as 'not recognised' although enrolled; false acc.: genuine "
        "accepted as someone else + strangers accepted / strangers",
    ]
    lines += [f"unusable: {photo}: {why}" for photo, why in result.unusable.items()]
    return data, "\n".join(lines)
