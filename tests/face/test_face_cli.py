"""`hallwatch enrol / identify / gallery / models eval` end to end through click."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner

from hallwatch.cli import main


@pytest.fixture
def run(pack_store, tmp_path, monkeypatch):
    monkeypatch.setenv("HALLWATCH_MODELS", str(pack_store.root))
    monkeypatch.setenv("HALLWATCH_DATA", str(tmp_path / "data"))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args))

    return invoke


def test_enroll_identify_delete(run, faces_dir, tmp_path):
    ids = faces_dir / "identities"
    result = run("enrol", "S017", str(ids / "fr_obama" / "obama.jpg"), "--name", "Obama")
    assert result.exit_code == 0, result.output
    assert "enrolled S017: 1 templates" in result.output
    assert stat.S_IMODE((tmp_path / "data" / "gallery.db").stat().st_mode) == 0o600

    refused = run("enrol", "S099", str(ids / "fr_obama" / "obama2.jpg"))
    assert refused.exit_code == 1 and "already matches S017" in refused.output

    bad = tmp_path / "bad.jpg"
    bad.write_text("x")
    result = run(
        "identify",
        "--json",
        str(ids / "fr_obama" / "obama3.jpg"),
        str(faces_dir / "unknown" / "carell.jpg"),
        str(bad),
    )
    assert result.exit_code == 0, result.output
    known, stranger, broken = json.loads(result.output)
    assert known["accepted"] and known["staff_id"] == "S017" and known["score"] > 0.455
    assert known["margin"] is None and known["liveness"] > 0.5  # one person enrolled
    assert not stranger["accepted"] and stranger["rejection"] == "unknown"
    assert "not recognised" in stranger["reason"]
    assert "not a readable image" in broken["error"]

    human = run("identify", str(ids / "fr_obama" / "obama3.jpg"))
    assert "S017" in human.output and "score" in human.output

    listed = json.loads(run("gallery", "list", "--json").output)
    assert [(p["staff_id"], p["name"], p["templates"]) for p in listed] == [("S017", "Obama", 1)]
    assert run("gallery", "delete", "S017").exit_code == 0
    assert run("gallery", "list").output.strip() == "no one enrolled"
    missing = run("gallery", "delete", "S017")
    assert missing.exit_code == 1 and "no staff member" in missing.output


def test_enrolling_from_one_photo_warns_with_the_measured_gain(run, faces_dir):
    photos = sorted((faces_dir / "identities" / "deepface_p01").iterdir())
    one = run("enrol", "P01", str(photos[0]))
    assert one.exit_code == 0, one.output
    warning = one.output.split("\n", 1)[1]
    assert warning.startswith("注意：此人只有一张照片登记") and "29/29" in warning
    others = sorted((faces_dir / "identities" / "deepface_p03").iterdir())[:3]
    more = run("enrol", "P03", *[str(p) for p in others])
    assert more.exit_code == 0 and "one photo" not in more.output


def test_enroll_with_only_bad_photos_changes_nothing(run, tmp_path, faces_dir):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = run("enrol", "S001", str(empty), str(faces_dir / "multi" / "cf_017_0.jpg"))
    assert result.exit_code == 1
    assert "nothing enrolled" in result.output and "the file is empty" in result.output
    assert "no face found" in result.output
    assert run("gallery", "list").output.strip() == "no one enrolled"


def test_enroll_from_a_replayed_camera(run, faces_dir):
    folder = faces_dir / "identities" / "deepface_p03"
    result = run("enrol", "P03", "--camera", str(folder), "--captures", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["templates"] == 2


def test_enrolling_a_face_at_a_face_and_finger_station_warns_of_the_missing_finger(
    run, tmp_path, faces_dir
):
    photo = str(faces_dir / "identities" / "fr_obama" / "obama.jpg")
    station = tmp_path / "station.toml"
    station.write_text(
        'site = "hall-01"\ndevice = "st-01"\nidentify = "face_and_finger"\n'
        f'[fingerprint]\ndata_dir = "{tmp_path / "fingers"}"\n'
    )
    result = run("enrol", "S017", photo, "--config", str(station))
    assert result.exit_code == 0, result.output
    assert "enrolled S017" in result.stdout
    assert "S017 has no finger enrolled there" in result.stderr
    assert f"hallwatch finger enrol S017 --config {station}" in result.stderr
    either = tmp_path / "either.toml"
    either.write_text(station.read_text().replace("face_and_finger", "face_or_finger"))
    result = run(
        "enrol", "S018", str(faces_dir / "spoof" / "image_T1.jpg"), "--config", str(either)
    )
    assert result.exit_code == 0 and "no finger enrolled" not in result.stderr


def test_missing_pack_and_bad_config_are_clear(run, tmp_path, faces_dir):
    photo = str(faces_dir / "spoof" / "image_T1.jpg")
    result = run("identify", photo, "--pack", "buffalo_sc")
    assert result.exit_code == 1 and "not installed" in result.output
    config = tmp_path / "station.toml"
    config.write_text("[face]\nthreshold = 2.0\n")
    result = run("identify", photo, "--config", str(config))
    assert result.exit_code == 1 and "face.threshold" in result.output


def test_every_command_has_help_with_an_example(run):
    for command in (
        ["models", "list"],
        ["models", "verify"],
        ["models", "install"],
        ["models", "eval"],
        ["enrol"],
        ["identify"],
        ["gallery", "list"],
        ["gallery", "delete"],
    ):
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Example:" in result.output, command


def test_models_eval_prints_distributions_and_rates(run, faces_dir, tmp_path):
    subset = tmp_path / "faces"
    for person in ("fr_obama", "fr_biden", "deepface_p01"):
        (subset / "identities" / person).mkdir(parents=True)
        for photo in sorted((faces_dir / "identities" / person).iterdir())[:3]:
            (subset / "identities" / person / photo.name).write_bytes(photo.read_bytes())
    (subset / "unknown").mkdir()
    (subset / "unknown" / "adams.jpg").write_bytes(
        (faces_dir / "unknown" / "adams.jpg").read_bytes()
    )
    result = run("models", "eval", "--faces", str(subset), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["same_person"]["pairs"] == 3 + 1 + 3  # biden has two photos
    assert data["different_person"]["pairs"] == 3 * 2 + 3 * 3 + 2 * 3
    assert sum(data["same_person"]["histogram"]) == data["same_person"]["pairs"]
    assert data["false_accept_rate"] == 0.0
    assert data["unknown_accepted"] == {"accepted": 0, "probes": 1}
    human = run("models", "eval", "--faces", str(subset)).output
    assert "false accept rate" in human and "threshold margin" in human
