"""Votes over several frames, on real pipeline results."""

from __future__ import annotations

import cv2
import pytest

from models.decision import Decider, FaceOutcome
from models.enrolment import enrol_photos
from models.images import read_image
from models.reasons import Reason


@pytest.fixture(scope="module")
def scene(pipeline, faces_dir, tmp_path_factory):
    gallery = pipeline.open_gallery(tmp_path_factory.mktemp("decide") / "g.db")
    for staff, photo in (("fr_obama", "fr_obama/obama.jpg"), ("fr_biden", "fr_biden/biden.jpg")):
        enrol_photos(pipeline, gallery, staff, staff, [faces_dir / "identities" / photo])
    obama = read_image(faces_dir / "identities" / "fr_obama" / "obama2.jpg")

    def frame(image, live=True):
        return pipeline.analyse(image, gallery, check_liveness=live)

    return {
        "obama": frame(obama),
        "blurred": frame(cv2.GaussianBlur(obama, (0, 0), 6)),
        # Web photos are not live captures: judge the stranger on recognition alone.
        "stranger": frame(read_image(faces_dir / "unknown" / "adams.jpg"), live=False),
        "crowd": frame(read_image(faces_dir / "multi" / "fr_obama_and_biden.jpg")),
    }


def test_identified_after_enough_agreeing_frames(scene):
    decider = Decider(votes_needed=3, vote_window=5)
    verdicts = [decider.add(scene[name]) for name in ("obama", "blurred", "obama", "obama")]
    assert [v.outcome for v in verdicts[:3]] == [FaceOutcome.PENDING] * 3
    assert verdicts[1].reason is Reason.BLURRY  # feedback while still looking
    assert verdicts[3].outcome is FaceOutcome.IDENTIFIED and verdicts[3].staff_id == "fr_obama"
    assert verdicts[3].score == pytest.approx(scene["obama"].match.score)
    assert decider.add(scene["obama"]).outcome is FaceOutcome.PENDING  # a fresh decision starts


def test_a_stranger_is_rejected_once_no_majority_can_form(scene):
    decider = Decider(votes_needed=3, vote_window=5)
    verdicts = [decider.add(scene["stranger"]) for _ in range(3)]
    assert [v.outcome for v in verdicts] == [
        FaceOutcome.PENDING,
        FaceOutcome.PENDING,
        FaceOutcome.REJECTED,
    ]
    assert verdicts[-1].reason is Reason.UNKNOWN and verdicts[-1].suspected_staff_id is None


def test_a_crowd_is_rejected_naming_whose_face_was_presented(scene):
    decider = Decider(votes_needed=2, vote_window=3)
    decider.add(scene["crowd"])
    verdict = decider.add(scene["crowd"])
    assert verdict.outcome is FaceOutcome.REJECTED and verdict.reason is Reason.CROWD
    assert verdict.suspected_staff_id == scene["crowd"].match.staff_id
    assert verdict.suspected_staff_id in {"fr_obama", "fr_biden"}


def test_one_lucky_frame_is_not_enough(scene):
    decider = Decider(votes_needed=3, vote_window=5)
    outcomes = [
        decider.add(scene[name]).outcome
        for name in ("obama", "stranger", "stranger", "obama", "stranger")
    ]
    assert FaceOutcome.IDENTIFIED not in outcomes


def test_invalid_vote_settings_are_refused():
    with pytest.raises(ValueError, match="votes_needed"):
        Decider(votes_needed=4, vote_window=3)


def test_liveness_runs_only_on_the_frame_that_would_decide(pipeline, faces_dir, tmp_path):
    """As the station: a photo of an enrolled person votes twice on the face alone, then
    fails liveness on every frame that would decide, until it is rejected as a spoof."""
    gallery = pipeline.open_gallery(tmp_path / "g.db")
    enrol_photos(pipeline, gallery, "T1", "T1", [faces_dir / "spoof" / "image_T1.jpg"])
    photo = read_image(faces_dir / "spoof" / "image_F2.jpg")  # a presentation of T1
    decider = Decider(votes_needed=3, vote_window=5)
    checked, verdicts = [], []
    for _ in range(5):
        result = pipeline.analyse(photo, gallery, check_liveness=False)
        assert result.match is not None and result.match.staff_id == "T1"
        if decider.would_decide(result):
            pipeline.check_live(photo, result)
        checked.append(result.liveness is not None)
        verdicts.append(decider.add(result))
    assert checked == [False, False, True, True, True]
    assert [v.outcome for v in verdicts[:4]] == [FaceOutcome.PENDING] * 4
    assert verdicts[2].reason is Reason.SPOOF
    assert verdicts[4].outcome is FaceOutcome.REJECTED and verdicts[4].reason is Reason.SPOOF
    assert verdicts[4].suspected_staff_id == "T1"
