"""The gallery: SQLite on disk (0600), one matrix in memory, enrolment rules."""

from __future__ import annotations

import sqlite3
import stat

import numpy as np
import pytest

from drivers.camera import Camera, ReplaySource, capture_frames
from models.enrolment import enrol_captures, enrol_photos
from models.gallery import Gallery, GalleryError, Template
from models.pipeline import FacePipeline
from models.settings import FaceConfig

MODEL = "m" * 64


def _unit(rng: np.random.Generator, n: int, dim: int = 128) -> np.ndarray:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_file_is_private_and_reloads_the_same_matrix(tmp_path):
    rng = np.random.default_rng(1)
    vectors = _unit(rng, 6)
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    for index in range(3):
        gallery.enrol(
            f"S{index}",
            f"person {index}",
            [Template(vectors[2 * index], "a"), Template(vectors[2 * index + 1], "b")],
            duplicate_threshold=0.9,
        )
    assert stat.S_IMODE((tmp_path / "g.db").stat().st_mode) == 0o600
    gallery.close()
    reopened = Gallery(tmp_path / "g.db", MODEL, 128)
    assert len(reopened) == 3 and reopened.template_count == 6
    found = reopened.search(vectors[3])
    assert found.staff_id == "S1" and found.score == pytest.approx(1.0, abs=1e-5)
    assert found.runner_up_id in {"S0", "S2"} and found.margin > 0.5


def test_runner_up_is_another_person_not_another_template(tmp_path):
    rng = np.random.default_rng(2)
    base, other = _unit(rng, 2)
    near = base + 0.05 * _unit(rng, 1)[0]
    near /= np.linalg.norm(near)
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    gallery.enrol("A", "A", [Template(base, "1"), Template(near, "2")], duplicate_threshold=0.9)
    gallery.enrol("B", "B", [Template(other, "1")], duplicate_threshold=0.9)
    found = gallery.search(base)
    assert found.staff_id == "A" and found.runner_up_id == "B"


def test_duplicate_face_for_another_person_is_refused_and_nothing_changes(tmp_path):
    rng = np.random.default_rng(3)
    face, stranger = _unit(rng, 2)
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    gallery.enrol("A", "A", [Template(face, "a.jpg")], duplicate_threshold=0.5)
    with pytest.raises(GalleryError, match="already matches A"):
        gallery.enrol(
            "B",
            "B",
            [Template(stranger, "s.jpg"), Template(face, "dup.jpg")],
            duplicate_threshold=0.5,
        )
    assert [p.staff_id for p in gallery.people()] == ["A"] and gallery.template_count == 1
    # The same person may add templates of their own face.
    assert gallery.enrol("A", "A", [Template(face, "again.jpg")], duplicate_threshold=0.5) == 2


def test_reenrol_replaces_and_delete_removes(tmp_path):
    rng = np.random.default_rng(4)
    old, new = _unit(rng, 2)
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    gallery.enrol("A", "A", [Template(old, "old")], duplicate_threshold=0.9)
    assert gallery.enrol("A", "A", [Template(new, "new")], 0.9, replace=True) == 1
    assert gallery.search(old).score < 0.5 and gallery.search(new).staff_id == "A"
    gallery.delete("A")
    assert len(gallery) == 0 and gallery.search(new).staff_id is None
    with pytest.raises(GalleryError, match="no staff member 'A'"):
        gallery.delete("A")
    rows = sqlite3.connect(tmp_path / "g.db").execute("SELECT count(*) FROM templates")
    assert rows.fetchone()[0] == 0


def test_templates_of_another_model_are_refused(tmp_path):
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    gallery.enrol("A", "A", [Template(_unit(np.random.default_rng(5), 1)[0], "x")], 0.9)
    gallery.close()
    with pytest.raises(GalleryError, match=r"another recogniser model.*Re-enrol"):
        Gallery(tmp_path / "g.db", "n" * 64, 128)


def test_wrong_dimension_is_refused(tmp_path):
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    with pytest.raises(GalleryError, match="gallery model makes 128"):
        gallery.enrol("A", "A", [Template(np.ones(512, np.float32), "x")], 0.9)


def test_ten_thousand_people_search_finds_the_planted_face(tmp_path):
    rng = np.random.default_rng(6)
    vectors = _unit(rng, 10_000)
    gallery = Gallery(tmp_path / "big.db", MODEL, 128)
    gallery.import_templates((f"S{i:05d}", f"n{i}", v, "sync") for i, v in enumerate(vectors))
    assert len(gallery) == 10_000
    probe = vectors[4321] + 0.3 * _unit(rng, 1)[0]
    found = gallery.search(probe / np.linalg.norm(probe))
    assert found.staff_id == "S04321" and found.margin > 0.3


def test_enrol_photos_skips_bad_files_and_keeps_no_images(pipeline, faces_dir, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    gallery = pipeline.open_gallery(tmp_path / "g.db")
    photo = faces_dir / "identities" / "fr_biden" / "biden.jpg"
    crowd = faces_dir / "multi" / "fr_two_people.jpg"
    report = enrol_photos(pipeline, gallery, "B", "Biden", [photo, bad, crowd])
    assert str(bad) in report.refused and "not a readable image" in report.refused[str(bad)]
    # Two people of the same size: refused rather than guessing which face is meant.
    assert report.refused[str(crowd)].startswith("the photo shows more than one face")
    assert report.accepted == [str(photo)] and report.templates == 1
    stored = sqlite3.connect(tmp_path / "g.db").execute("SELECT face_image FROM templates")
    assert [row[0] for row in stored] == [None]
    with pytest.raises(GalleryError, match="nothing enrolled"):
        enrol_photos(pipeline, gallery, "C", "C", [bad])
    assert [p.staff_id for p in gallery.people()] == ["B"]


def test_face_images_are_kept_only_when_configured(pack_store, faces_dir, tmp_path):
    keeping = FacePipeline.from_pack(
        pack_store.path("permissive"), FaceConfig(keep_face_images=True)
    )
    gallery = keeping.open_gallery(tmp_path / "g.db")
    enrol_photos(
        keeping, gallery, "O", "Obama", [faces_dir / "identities" / "fr_obama" / "obama.jpg"]
    )
    (image,) = sqlite3.connect(tmp_path / "g.db").execute("SELECT face_image FROM templates")
    assert image[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_enrol_from_live_captures_gates_each_frame(pipeline, faces_dir, tmp_path):
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    sources = [
        faces_dir / "spoof" / "image_F1.jpg",  # a presentation attack: refused
        *sorted((faces_dir / "identities" / "deepface_p03").iterdir())[:4],
    ]
    for index, source in enumerate(sources):
        (frames_dir / f"{index:02d}.jpg").write_bytes(source.read_bytes())
    gallery = pipeline.open_gallery(tmp_path / "g.db")
    camera = Camera(ReplaySource(frames_dir, fps=0, loop=False))
    report = enrol_captures(pipeline, gallery, "P03", "p03", capture_frames(camera, 10), wanted=3)
    assert report.templates == 3
    assert any("liveness" in why for why in report.refused.values())
    probe = sorted((faces_dir / "identities" / "deepface_p03").iterdir())[-1]
    from models.images import read_image

    assert pipeline.analyse(read_image(probe), gallery).search.staff_id == "P03"


def test_enrol_from_a_dead_camera_says_so(pipeline, tmp_path):
    gallery = pipeline.open_gallery(tmp_path / "g.db")
    camera = Camera(ReplaySource(tmp_path / "unplugged"), backoff_start=0.01)
    with pytest.raises(GalleryError, match="no frames: is the camera connected"):
        enrol_captures(pipeline, gallery, "X", "X", capture_frames(camera, 3))


def test_a_damaged_template_is_a_clear_error(tmp_path):
    gallery = Gallery(tmp_path / "g.db", MODEL, 128)
    gallery.enrol("A", "A", [Template(_unit(np.random.default_rng(7), 1)[0], "x")], 0.9)
    gallery.close()
    db = sqlite3.connect(tmp_path / "g.db")
    db.execute("UPDATE templates SET embedding = x'00010203'")
    db.commit()
    db.close()
    with pytest.raises(GalleryError, match="damaged file"):
        Gallery(tmp_path / "g.db", MODEL, 128)
