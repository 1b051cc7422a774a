"""The face pipeline on the real photos in ../shared/faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.alignment import align_face
from models.images import ImageError, read_image
from models.quality import assess
from models.reasons import Reason
from models.settings import QualityConfig

PACKS = ("permissive", "scrfd_mobilefacenet")


@pytest.mark.parametrize("pack", PACKS)
def test_every_identity_is_rank1_from_one_enrolment_photo(evaluations, pack):
    result = evaluations[pack]
    assert result.rank1_total == 76  # 105 photos of 29 people, one each enrolled
    assert result.rank1_correct == result.rank1_total
    # Accepted at the default threshold and margin, not only ranked first.
    assert result.identified >= 0.94 * result.rank1_total
    assert result.unusable == {}


@pytest.mark.parametrize("pack", PACKS)
def test_every_unknown_probe_is_rejected_at_the_default_threshold(evaluations, pack):
    result = evaluations[pack]
    assert result.unknown_total == 7
    assert result.unknown_accepted == 0
    assert result.false_accept_rate < 0.001  # at most a few of 5,273 different-person pairs
    assert result.same.mean() - result.different.mean() > 0.6


@pytest.mark.parametrize("pack", PACKS)
def test_multi_face_scenes_give_their_labelled_counts(pipelines, faces_dir, face_manifest, pack):
    scenes = [row for row in face_manifest if row["kind"] == "multi"]
    assert len(scenes) == 19
    counted = {
        row["file"]: len(pipelines[pack].detect(read_image(faces_dir / row["file"])))
        for row in scenes
    }
    assert counted == {row["file"]: int(row["label"]) for row in scenes}


def test_spoof_samples_are_flagged_and_the_live_one_passes(pipeline, faces_dir):
    for name in ("image_F1.jpg", "image_F2.jpg"):
        result = pipeline.analyse(read_image(faces_dir / "spoof" / name))
        assert result.live is False and result.rejection is Reason.SPOOF, name
        assert result.liveness is not None and result.liveness < 0.1
    live = pipeline.analyse(read_image(faces_dir / "spoof" / "image_T1.jpg"))
    assert live.live is True and live.liveness > 0.9
    assert live.rejection is None  # no gallery: not rejected, just not matched


def test_a_crowd_is_reported_and_the_subject_still_identified(pipeline, faces_dir, tmp_path):
    from models.enrolment import enrol_photos

    gallery = pipeline.open_gallery(tmp_path / "g.db")
    for staff in ("fr_obama", "fr_biden"):
        enrol_photos(
            pipeline, gallery, staff, staff, [faces_dir / "identities" / staff / f"{staff[3:]}.jpg"]
        )
    result = pipeline.analyse(read_image(faces_dir / "multi" / "fr_obama_and_biden.jpg"), gallery)
    assert result.face_count == 3 and result.crowded
    assert result.rejection is Reason.CROWD and not result.accepted
    # The two men are nearly the same size: whichever is the subject is identified.
    assert result.match is not None and result.match.staff_id in {"fr_obama", "fr_biden"}


def test_no_face_gives_an_actionable_reason(pipeline, faces_dir):
    result = pipeline.analyse(read_image(faces_dir / "multi" / "cf_017_0.jpg"))
    assert result.face_count == 0 and result.rejection is Reason.NO_FACE
    assert "look at the camera" in (result.reason or "")
    blank = pipeline.analyse(np.zeros((480, 640, 3), np.uint8))
    assert blank.rejection is Reason.NO_FACE


def test_hard_cases_give_clear_results(pipeline, faces_dir, tmp_path):
    from models.enrolment import enrol_photos

    gallery = pipeline.open_gallery(tmp_path / "g.db")
    enrol_photos(
        pipeline,
        gallery,
        "fr_obama",
        "Obama",
        [faces_dir / "identities" / "fr_obama" / "obama.jpg"],
    )
    for path in sorted((faces_dir / "hard").iterdir()):
        result = pipeline.analyse(read_image(path), gallery)
        assert result.accepted or result.reason, path.name
        if path.name.startswith("obama_partial"):
            assert result.search is not None and result.search.staff_id == "fr_obama"
    rgba = cv2.imread(str(faces_dir / "hard" / "32bit.png"), cv2.IMREAD_UNCHANGED)
    assert rgba.shape[2] == 4
    assert pipeline.analyse(rgba).embedding is not None  # 4-channel frames are converted
    grey = cv2.cvtColor(read_image(faces_dir / "spoof" / "image_T1.jpg"), cv2.COLOR_BGR2GRAY)
    assert pipeline.analyse(grey).face_count == 1


def test_corrupt_empty_and_non_image_files_are_clear_errors(tmp_path, faces_dir):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    expected = {
        empty: "empty",
        text: "not a readable image",
        garbage: "not a readable image",
        tmp_path / "missing.jpg": "no such file",
        tmp_path: "directory",
    }
    for path, message in expected.items():
        with pytest.raises(ImageError, match=message):
            read_image(path)
    # A truncated JPEG decodes partially or not at all: either way, no exception escapes.
    photo = (faces_dir / "identities" / "fr_obama" / "obama.jpg").read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photo[: len(photo) // 3])
    try:
        read_image(truncated)
    except ImageError as exc:
        assert "corrupt" in str(exc)


def test_malformed_frames_are_clear_errors(pipeline):
    for frame in (np.zeros((0, 0, 3), np.uint8), np.zeros((4, 4, 7), np.uint8), "frame"):
        with pytest.raises(ImageError, match="not an image frame"):
            pipeline.analyse(frame)
    assert pipeline.analyse(np.zeros((48, 64, 1), np.uint8)).rejection is Reason.NO_FACE


def _subject_and_crop(pipeline, image):
    face = max(pipeline.detect(image), key=lambda f: f.area)
    return face, align_face(image, face.landmarks)


def test_quality_gates_name_what_to_do(pipeline, faces_dir):
    image = read_image(faces_dir / "identities" / "fr_obama" / "obama.jpg")
    assert pipeline.analyse(image).quality.ok
    blurred = pipeline.analyse(cv2.GaussianBlur(image, (0, 0), 6))
    assert blurred.rejection is Reason.BLURRY and "hold still" in blurred.reason
    dark = pipeline.analyse((image * 0.12).astype(np.uint8))
    assert dark.rejection is Reason.TOO_DARK
    glare = pipeline.analyse(cv2.convertScaleAbs(image, alpha=1.0, beta=150))
    assert glare.rejection is Reason.TOO_BRIGHT and "light" in glare.reason
    small = cv2.resize(image, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((480, 640, 3), np.uint8)
    canvas[200 : 200 + small.shape[0], 300 : 300 + small.shape[1]] = small
    far = pipeline.analyse(canvas)
    assert far.rejection in (Reason.TOO_SMALL, Reason.NO_FACE)
    assert "closer" in far.reason or "look at the camera" in far.reason


def test_pose_gate_uses_the_landmarks(pipeline, faces_dir):
    image = read_image(faces_dir / "identities" / "fr_obama" / "obama.jpg")
    face, crop = _subject_and_crop(pipeline, image)
    config = QualityConfig()
    assert assess(face, crop, config).ok
    eye_distance = float(np.linalg.norm(face.landmarks[1] - face.landmarks[0]))
    turned = face.landmarks.copy()
    turned[2, 0] += 0.6 * eye_distance  # nose far to one side: head turned
    from models.detection import DetectedFace

    report = assess(DetectedFace(face.box, turned, face.score), crop, config)
    assert Reason.POSE in report.problems and abs(report.yaw) > config.max_yaw


def test_alignment_matches_insightface_norm_crop(pipeline, faces_dir):
    from insightface.utils import face_align

    image = read_image(faces_dir / "identities" / "deepface_p01" / "img1.jpg")
    face = max(pipeline.detect(image), key=lambda f: f.area)
    ours = align_face(image, face.landmarks).astype(int)
    theirs = face_align.norm_crop(image, face.landmarks).astype(int)
    assert np.abs(ours - theirs).mean() < 1.0


def test_embeddings_are_unit_length_and_stable(pipeline, faces_dir):
    image = read_image(faces_dir / "identities" / "fr_biden" / "biden.jpg")
    first, second = pipeline.analyse(image).embedding, pipeline.analyse(image).embedding
    assert first.dtype == np.float32 and first.shape == (128,)
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-5
    assert float(first @ second) > 0.9999


def test_per_stage_timings_are_reported(pipeline, faces_dir, tmp_path):
    from models.enrolment import enrol_photos

    photo = faces_dir / "spoof" / "image_T1.jpg"
    gallery = pipeline.open_gallery(tmp_path / "g.db")
    enrol_photos(pipeline, gallery, "T1", "T1", [photo])
    result = pipeline.analyse(read_image(photo), gallery)
    assert result.accepted and result.match.staff_id == "T1"
    assert set(result.timings_ms) >= {"detect", "align", "liveness", "embed", "search"}
    assert all(ms >= 0 for ms in result.timings_ms.values())


def test_liveness_is_skipped_for_a_face_that_cannot_match(pipeline, faces_dir, tmp_path):
    from models.enrolment import enrol_photos

    gallery = pipeline.open_gallery(tmp_path / "g.db")
    enrol_photos(pipeline, gallery, "T1", "T1", [faces_dir / "spoof" / "image_T1.jpg"])
    stranger = pipeline.analyse(read_image(faces_dir / "unknown" / "carell.jpg"), gallery)
    assert stranger.rejection is Reason.UNKNOWN
    assert stranger.liveness is None and "liveness" not in stranger.timings_ms
