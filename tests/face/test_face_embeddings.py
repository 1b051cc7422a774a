"""Templates combined from several enrolment photos, and `models eval --embeddings`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.embedding_eval import embeddings_report, evaluate_embeddings
from models.enrolment import enrol_photos
from models.evaluation import photos_in
from models.gallery import combine_templates
from models.images import read_image
from models.pipeline import FacePipeline


def _embedding(pipeline: FacePipeline, photo: Path) -> np.ndarray:
    result = pipeline.analyse(read_image(photo), check_liveness=False)
    assert result.embedding is not None, result.photo_reason
    return result.embedding


def test_a_photo_of_someone_else_is_left_out_of_the_combined_template(pipeline, faces_dir):
    own = photos_in(faces_dir / "identities" / "deepface_p01")[:3]
    vectors = np.stack([_embedding(pipeline, p) for p in own])
    stranger = _embedding(pipeline, faces_dir / "identities" / "fr_obama" / "obama.jpg")
    combined = combine_templates(np.vstack([vectors, stranger]))
    assert combined == pytest.approx(combine_templates(vectors), abs=1e-6)
    assert float(np.linalg.norm(combined)) == pytest.approx(1.0, abs=1e-5)
    # Without the rejection the stranger would have pulled the mean towards himself.
    plain = vectors.sum(axis=0) + stranger
    assert float(stranger @ combined) < float(stranger @ plain) / np.linalg.norm(plain)


def test_the_gallery_searches_the_combined_template_and_keeps_every_photo(
    pipeline, faces_dir, tmp_path
):
    photos = photos_in(faces_dir / "identities" / "deepface_p01")
    gallery = pipeline.open_gallery(tmp_path / "g.db")  # combine_templates: on by default
    report = enrol_photos(pipeline, gallery, "P01", "p01", photos[:3])
    assert report.templates == 3 and gallery.template_count == 3
    probe = _embedding(pipeline, photos[-1])
    combined = combine_templates(np.stack(report.embeddings))
    assert gallery.search(probe).score == pytest.approx(float(probe @ combined), abs=1e-5)
    gallery.close()
    best_of = pipeline.open_gallery(tmp_path / "g.db", combine=False)
    assert best_of.search(probe).score == pytest.approx(
        max(float(probe @ e) for e in report.embeddings), abs=1e-5
    )
    best_of.close()


def test_eval_compares_one_photo_with_three_combined(pipeline, faces_dir, tmp_path):
    """A small copy of the shared layout: two people with 7-8 photos, two distractors."""
    for group, names in {
        "identities": ("deepface_p01", "deepface_p03", "fr_biden", "of_lennon"),
        "unknown": (),
    }.items():
        (tmp_path / group).mkdir()
        for name in names:
            (tmp_path / group / name).symlink_to(faces_dir / group / name)
    for photo in photos_in(faces_dir / "unknown")[:3]:
        (tmp_path / "unknown" / photo.name).symlink_to(photo)
    found = evaluate_embeddings(pipeline, tmp_path)
    rows = {r.variant.name: r for r in found.results}
    one, combined = rows["1 photo"], rows["3 photos, combined"]
    assert len(one.genuine) == len(combined.genuine) == 9  # photos 4.. of p01 and p03
    assert len(one.impostor) == 3 and not one.strangers_accepted + combined.strangers_accepted
    assert np.mean(combined.genuine) > np.mean(one.genuine) + 0.05
    assert min(combined.genuine) > min(one.genuine)
    assert combined.accepted >= one.accepted and not combined.wrong_person
    assert found.mirror_ms > found.embed_ms > 0
    data, human = embeddings_report("permissive", found)
    assert [v["variant"] for v in data["variants"]] == list(rows)
    assert "3 photos, combined" in human and "a second pass on every frame" in human
