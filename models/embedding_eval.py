"""`hallwatch models eval --embeddings`: which embeddings and templates identify best.

Every photo is embedded once, plainly and mirror-averaged (`Embedder.embed_mirror_averaged`).
People with more than `ENROL_PHOTOS` usable photos are enrolled from their first photo,
or from their first `ENROL_PHOTOS` kept as separate templates (the best one counts) or
combined into one (`models.gallery.combine_templates`); their other photos are the
genuine probes, the same in every variant. Everyone else is enrolled from their first
photo, as distractors; the `unknown/` photos are the strangers. Each probe is searched
and decided as the station would (`FacePipeline.decide`).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation import people_in, unknown_in
from models.gallery import Gallery
from models.images import ImageError, read_image
from models.pipeline import FacePipeline, FrameResult

ENROL_PHOTOS = 3


@dataclass(frozen=True)
class Variant:
    name: str
    mirror: bool  # mirror-averaged embeddings, for enrolment and probes alike
    photos: int  # enrolment photos of each probed person
    combine: bool  # their templates combined into one


VARIANTS = (
    Variant("1 photo", False, 1, False),
    Variant(f"{ENROL_PHOTOS} photos, best", False, ENROL_PHOTOS, False),
    Variant(f"{ENROL_PHOTOS} photos, combined", False, ENROL_PHOTOS, True),
    Variant("mirror, 1 photo", True, 1, False),
    Variant(f"mirror, {ENROL_PHOTOS} combined", True, ENROL_PHOTOS, True),
)


@dataclass
class VariantResult:
    variant: Variant
    accepted: int = 0  # genuine probes accepted as the right person
    second_factor: int = 0  # ... in the grey zone for the right person
    wrong_person: int = 0  # genuine probes accepted as someone else
    strangers_accepted: int = 0
    genuine: list[float] = field(default_factory=list)  # each probe's score for its person
    impostor: list[float] = field(default_factory=list)  # each stranger's best score

    def as_dict(self, threshold: float) -> dict[str, Any]:
        return {
            "variant": self.variant.name,
            "mirror": self.variant.mirror,
            "photos": self.variant.photos,
            "combine": self.variant.combine,
            "probes": len(self.genuine),
            "accepted": self.accepted,
            "second_factor": self.second_factor,
            "wrong_person": self.wrong_person,
            "strangers": len(self.impostor),
            "strangers_accepted": self.strangers_accepted,
            "genuine_mean": round(float(np.mean(self.genuine)), 4),
            "genuine_margin": round(min(self.genuine) - threshold, 4),
            "impostor_margin": round(threshold - max(self.impostor), 4),
        }


@dataclass(frozen=True)
class EmbeddingEvaluation:
    threshold: float
    lower_threshold: float
    results: list[VariantResult]
    embed_ms: float  # one recogniser pass, mean over the photos
    mirror_ms: float  # the mirror-averaged embedding (two passes)
    unusable: dict[str, str]


@dataclass(frozen=True)
class _Embedded:
    plain: np.ndarray
    mirrored: np.ndarray

    def of(self, variant: Variant) -> np.ndarray:
        return self.mirrored if variant.mirror else self.plain


def _embed_all(
    pipeline: FacePipeline, photos: list[Path], unusable: dict[str, str], cost: list[float]
) -> list[_Embedded]:
    embedded = []
    for photo in photos:
        try:
            result = pipeline.analyse(read_image(photo), check_liveness=False)
        except ImageError as exc:
            unusable[str(photo)] = str(exc)
            continue
        if result.embedding is None or result.aligned is None:
            unusable[str(photo)] = result.photo_reason or "no embedding"
            continue
        started = time.perf_counter()
        mirrored = pipeline.embedder.embed_mirror_averaged(result.aligned)
        cost.append((time.perf_counter() - started) * 1e3)
        cost.append(result.timings_ms["embed"])
        embedded.append(_Embedded(result.embedding, mirrored))
    return embedded


def _run(
    pipeline: FacePipeline,
    variant: Variant,
    people: dict[str, list[_Embedded]],
    strangers: list[_Embedded],
    folder: Path,
) -> VariantResult:
    gallery = pipeline.open_gallery(folder / "gallery.db", combine=variant.combine)
    probed = {name for name, photos in people.items() if len(photos) > ENROL_PHOTOS}
    gallery.import_templates(
        (name, name, photo.of(variant), f"{name} #{index}")
        for name, photos in people.items()
        for index, photo in enumerate(photos[: variant.photos if name in probed else 1])
    )
    found = VariantResult(variant)
    for name in sorted(probed):
        for photo in people[name][ENROL_PHOTOS:]:
            result = _decided(pipeline, gallery, photo.of(variant))
            found.genuine.append(gallery.score_for(name, photo.of(variant)) or -1.0)
            if result.match is not None:
                found.accepted += result.match.staff_id == name
                found.wrong_person += result.match.staff_id != name
            found.second_factor += (
                result.candidate is not None and result.candidate.staff_id == name
            )
    for photo in strangers:
        result = _decided(pipeline, gallery, photo.of(variant))
        assert result.search is not None
        found.impostor.append(result.search.score)
        found.strangers_accepted += result.match is not None
    gallery.close()
    return found


def _decided(pipeline: FacePipeline, gallery: Gallery, embedding: np.ndarray) -> FrameResult:
    result = FrameResult(face_count=1, embedding=embedding, search=gallery.search(embedding))
    pipeline.decide(result, gallery)
    return result


def evaluate_embeddings(
    pipeline: FacePipeline, faces_dir: Path, variants: tuple[Variant, ...] = VARIANTS
) -> EmbeddingEvaluation:
    unusable: dict[str, str] = {}
    cost: list[float] = []
    people = {
        name: _embed_all(pipeline, photos, unusable, cost)
        for name, photos in people_in(faces_dir).items()
    }
    strangers = _embed_all(pipeline, unknown_in(faces_dir), unusable, cost)
    with tempfile.TemporaryDirectory(prefix="hallwatch-embeddings-") as tmp:
        results = []
        for index, variant in enumerate(variants):
            folder = Path(tmp) / str(index)
            folder.mkdir()
            results.append(_run(pipeline, variant, people, strangers, folder))
    return EmbeddingEvaluation(
        pipeline.threshold,
        pipeline.lower_threshold,
        results,
        float(np.mean(cost[1::2])) if cost else 0.0,
        float(np.mean(cost[0::2])) if cost else 0.0,
        unusable,
    )


def embeddings_report(pack: str, result: EmbeddingEvaluation) -> tuple[dict[str, Any], str]:
    rows = [r.as_dict(result.threshold) for r in result.results]
    data = {
        "pack": pack,
        "threshold": result.threshold,
        "lower_threshold": result.lower_threshold,
        "variants": rows,
        "embed_ms": round(result.embed_ms, 2),
        "mirror_averaged_ms": round(result.mirror_ms, 2),
        "unusable": result.unusable,
    }
    first = rows[0] if rows else {"probes": 0, "strangers": 0}
    lines = [
        f"pack {pack}, threshold {result.threshold:.3f}, grey zone from "
        f"{result.lower_threshold:.3f}; {first['probes']} genuine probes of the people with "
        f"more than {ENROL_PHOTOS} photos, {first['strangers']} strangers",
        f"{'variant':<22} {'accept':>6} {'2nd f.':>6} {'false acc.':>10} {'genuine':>7} "
        f"{'margin gen.':>11} {'margin imp.':>11}",
    ]
    for row in rows:
        false = f"{row['wrong_person']}+{row['strangers_accepted']}"
        lines.append(
            f"{row['variant']:<22} {row['accepted']:>6} {row['second_factor']:>6} {false:>10} "
            f"{row['genuine_mean']:>7.3f} {row['genuine_margin']:>+11.3f} "
            f"{row['impostor_margin']:>+11.3f}"
        )
    lines += [
        "genuine: mean score of the probes for their own person; margin gen.: the lowest of "
        "them minus the threshold; margin imp.: the threshold minus the highest stranger",
        f"recogniser: {result.embed_ms:.1f} ms a frame; mirror-averaged "
        f"{result.mirror_ms:.1f} ms (a second pass on every frame)",
    ]
    lines += [f"unusable: {photo}: {why}" for photo, why in result.unusable.items()]
    return data, "\n".join(lines)
