"""The grey zone between the lower and the accept threshold, on the shared photos.

Thresholds here come from measured scores (the pipeline is deterministic): with S002
enrolled from obama.jpg, obama2.jpg scores 0.775 against S002 and 0.001 against S001
(deepface_p01/img1.jpg); the unknown adams.jpg scores at most 0.18. An accept threshold
of 0.9 and a lower one of 0.6 put obama2.jpg in the middle of the grey zone.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from base.config import ConfigError
from hallwatch.cli import main
from models.decision import Decider, FaceOutcome
from models.enrolment import enrol_photos
from models.images import read_image
from models.pipeline import FacePipeline, Zone
from models.reasons import Reason
from models.report import evaluation_report
from models.settings import FaceConfig

GREY = {"threshold": 0.9, "lower_threshold": 0.6, "verify_threshold": 0.7}


@pytest.fixture(scope="module")
def grey(pack_store, faces_dir, tmp_path_factory):
    pipeline = FacePipeline.from_pack(pack_store.path("permissive"), FaceConfig(**GREY))
    gallery = pipeline.open_gallery(tmp_path_factory.mktemp("grey") / "g.db")
    for staff_id, photo in (("S001", "deepface_p01/img1.jpg"), ("S002", "fr_obama/obama.jpg")):
        enrol_photos(pipeline, gallery, staff_id, staff_id, [faces_dir / "identities" / photo])
    return pipeline, gallery


def test_a_grey_zone_face_asks_for_a_second_factor_and_checks_1to1(grey, faces_dir):
    pipeline, gallery = grey
    result = pipeline.analyse(read_image(faces_dir / "identities/fr_obama/obama2.jpg"), gallery)
    assert result.match is None and result.rejection is None and result.second_factor
    assert result.candidate.staff_id == "S002"
    assert 0.7 < result.candidate.score < 0.85  # measured 0.775
    assert pipeline.zone(result.candidate.score) is Zone.SECOND_FACTOR
    decider = Decider(votes_needed=3, vote_window=5)
    verdicts = [decider.add(result) for _ in range(3)]
    assert [v.outcome for v in verdicts[:2]] == [FaceOutcome.PENDING] * 2
    asked = verdicts[2]
    assert (asked.outcome, asked.staff_id) == (FaceOutcome.SECOND_FACTOR, "S002")
    assert asked.score == pytest.approx(result.candidate.score)
    # The staff number's own templates, 1:1, at the stricter verify threshold (0.7).
    assert pipeline.verify(gallery, "S002", asked.embedding) == pytest.approx(asked.score)
    assert pipeline.verify(gallery, "S001", asked.embedding) is None  # scores 0.001
    assert pipeline.verify(gallery, "S999", asked.embedding) is None  # not enrolled
    stranger = pipeline.analyse(
        read_image(faces_dir / "unknown/adams.jpg"), gallery, check_liveness=False
    )
    assert stranger.rejection is Reason.UNKNOWN and stranger.candidate is None
    assert pipeline.zone(stranger.search.score) is Zone.NOT_RECOGNISED


def test_an_accepting_majority_is_not_asked_for_a_second_factor(grey, faces_dir):
    pipeline, gallery = grey
    same = pipeline.analyse(read_image(faces_dir / "identities/fr_obama/obama.jpg"), gallery)
    grey_frame = pipeline.analyse(read_image(faces_dir / "identities/fr_obama/obama2.jpg"), gallery)
    assert same.accepted and pipeline.zone(same.match.score) is Zone.ACCEPT
    decider = Decider(votes_needed=3, vote_window=5)
    outcomes = [decider.add(f).outcome for f in (grey_frame, same, grey_frame, same, same)]
    assert outcomes == [FaceOutcome.PENDING] * 4 + [FaceOutcome.IDENTIFIED]


def test_thresholds_out_of_order_are_refused_before_any_model_loads(pack_store):
    with pytest.raises(
        ConfigError, match=r"lower_threshold 0\.5 is above the accept threshold 0\.4"
    ):
        FacePipeline.from_pack(
            pack_store.path("permissive"), FaceConfig(threshold=0.4, lower_threshold=0.5)
        )
    with pytest.raises(ConfigError, match=r"verify_threshold 0\.38 is below lower_threshold 0\.4"):
        FacePipeline.from_pack(
            pack_store.path("permissive"), FaceConfig(lower_threshold=0.4, verify_threshold=0.38)
        )
    # A site that lowers the accept threshold below the pack's grey zone has none.
    lowered = FacePipeline.from_pack(pack_store.path("permissive"), FaceConfig(threshold=0.3))
    assert lowered.lower_threshold == lowered.threshold == 0.3


def test_identify_reports_the_zone_with_the_scores_and_both_thresholds(
    pack_store, faces_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("HALLWATCH_MODELS", str(pack_store.root))
    monkeypatch.setenv("HALLWATCH_DATA", str(tmp_path / "data"))
    config = tmp_path / "face.toml"
    config.write_text("[face]\n" + "".join(f"{k} = {v}\n" for k, v in GREY.items()))
    runner = CliRunner()
    ids = faces_dir / "identities"
    enrolled = runner.invoke(main, ["enrol", "S002", str(ids / "fr_obama/obama.jpg")])
    assert enrolled.exit_code == 0, enrolled.output
    probes = [
        ids / "fr_obama/obama.jpg",
        ids / "fr_obama/obama2.jpg",
        faces_dir / "unknown/adams.jpg",
    ]
    args = ["identify", "--config", str(config), *map(str, probes)]
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    accepted, grey_row, stranger = json.loads(result.output)
    assert accepted["zone"] == "accept" and accepted["accepted"]
    assert grey_row["zone"] == "second factor" and not grey_row["accepted"]
    assert grey_row["candidate"] == "S002" and 0.7 < grey_row["score"] < 0.85
    assert grey_row["rejection"] is None
    assert stranger["zone"] == "not recognised" and stranger["rejection"] == "unknown"
    assert grey_row["thresholds"] == {"accept": 0.9, "lower": 0.6, "verify": 0.7}
    human = runner.invoke(main, args).output.splitlines()
    assert "second factor needed (candidate S002)" in human[1]
    assert f"score {grey_row['score']:.2f}" in human[1]
    assert "zone: second factor (accept >= 0.900, second factor >= 0.600)" in human[1]
    assert "zone: not recognised" in human[2]


def test_eval_measures_what_the_zone_costs_and_saves(evaluations):
    result = evaluations["permissive"]  # shipped thresholds: 0.35 .. 0.455, 1:1 at 0.40
    assert (result.lower_threshold, result.threshold, result.verify_threshold) == (
        0.35,
        0.455,
        0.40,
    )
    # Costs: the genuine probes scoring 0.361 and 0.437 are asked for a second factor;
    # 73 are accepted on the face alone and the one at 0.335 is not recognised.
    assert (result.identified, result.second_factor) == (73, 2)
    assert result.in_zone(result.same) == 5  # of 187 same-person pairs
    # Saves: impostor pairs a single threshold at 0.35 would have accepted.
    assert result.in_zone(result.different) == 8  # of 5,273; the highest scores 0.437
    assert result.unknown_second_factor == 0  # the unknown people peak at 0.336
    assert result.impostors_at_verify == 4
    data, human = evaluation_report("permissive", result)
    assert data["grey_zone"]["genuine_probes_second_factor"] == 2
    assert data["grey_zone"]["impostor_pairs_in_zone"] == 8
    assert "grey zone 0.350..0.455" in human
    assert "costs: 2/76 genuine probes asked for a finger or staff number" in human
    assert "saves: 8/5273 impostor pairs and 0/7 unknown people stopped" in human
    assert "(1:1 at 0.400): 4/5273 impostor pairs" in human
