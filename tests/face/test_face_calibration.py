"""`hallwatch models calibrate` on a gallery of the 29 shared identities (one photo each):
the impostor pairs counted and scored as a search scores them, the per-comparison rate
whose N comparisons give the target, and thresholds above every impostor score."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from hallwatch.cli import main


@pytest.fixture
def calibrate(pack_store, hall_gallery, monkeypatch):
    monkeypatch.setenv("HALLWATCH_MODELS", str(pack_store.root))

    def run(*args: str, gallery=hall_gallery):
        return CliRunner().invoke(main, ["models", "calibrate", "--gallery", str(gallery), *args])

    return run


def impostor_scores(gallery_file) -> list[float]:
    """Every pair of different people's cosine, straight from the stored templates."""
    with sqlite3.connect(gallery_file) as db:
        rows = db.execute("SELECT staff_id, embedding FROM templates").fetchall()
    vectors = {staff: np.frombuffer(blob, np.float32) for staff, blob in rows}
    assert len(vectors) == len(rows) == 29  # one template each
    return [float(a @ b) for a, b in itertools.combinations(vectors.values(), 2)]


def test_calibration_from_the_halls_gallery_adds_up(calibrate, hall_gallery):
    result = calibrate("--json", "--target-far", "0.001")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    scores = impostor_scores(hall_gallery)
    assert (data["people"], data["templates"], data["pairs"]) == (29, 29, 29 * 28 // 2)
    assert data["impostor"]["max"] == pytest.approx(max(scores), abs=1e-4)
    assert data["impostor"]["mean"] == pytest.approx(np.mean(scores), abs=1e-4)
    assert data["impostor"]["quantiles"]["99%"] == pytest.approx(
        np.quantile(scores, 0.99), abs=1e-4
    )
    accept, lower, verify = (data["estimates"][k] for k in ("accept", "lower", "verify"))
    # N comparisons at the per-comparison rate give the per-attempt target.
    assert accept["comparisons"] == 29 and verify["comparisons"] == 1
    assert 1 - (1 - accept["per_comparison"]) ** 29 == pytest.approx(0.001, rel=1e-9)
    assert 1 - (1 - lower["per_comparison"]) ** 29 == pytest.approx(0.01, rel=1e-9)
    assert verify["per_comparison"] == pytest.approx(0.001)
    # 3.45e-05 is far below 1/406: beyond the sample, read from the normal tail.
    assert accept["per_comparison"] < 1 / 406 and accept["empirical"] is None
    std = float(np.std(scores, ddof=1))
    assert accept["normal"] == pytest.approx(np.mean(scores) + accept["z"] * std, abs=1e-3)
    proposed = data["proposed"]
    assert proposed["accept"] > max(scores) and proposed["accept"] >= accept["normal"]
    assert max(scores) < proposed["lower"] <= proposed["verify"] <= proposed["accept"]
    assert data["current"] == {"accept": 0.455, "lower": 0.35, "verify": 0.4}

    text = calibrate("--target-far", "0.001").output
    assert "N = 29 people, 29 templates; impostor pairs N(N-1)/2 = 29x28/2 = 406" in text
    assert (
        "per-comparison p = 1-(1-0.001)^(1/29) = 3.450e-05; check: 1-(1-p)^29 = 1.000e-03" in text
    )
    assert f"highest {max(scores):.3f} (ms_family1_dad / ms_family1_son)" in text
    assert f"proposed: accept {proposed['accept']:.3f}, lower {proposed['lower']:.3f}" in text

    # A looser target proposes a lower threshold; one within the sample reads its quantile.
    loose = json.loads(calibrate("--json", "--target-far", "0.5").output)
    assert loose["proposed"]["accept"] < proposed["accept"]
    assert loose["estimates"]["verify"]["empirical"] == pytest.approx(np.median(scores), abs=1e-3)


def test_too_small_a_gallery_or_a_wrong_rate_is_refused(
    calibrate, hall_gallery, pipeline, tmp_path
):
    small = tmp_path / "small.db"
    shutil.copy(hall_gallery, small)
    gallery = pipeline.open_gallery(small)
    for person in [p.staff_id for p in gallery.people()][2:]:
        gallery.delete(person)
    gallery.close()
    refused = calibrate(gallery=small)
    assert (
        refused.exit_code == 1
        and "2 people enrolled; calibration needs at least 3" in refused.output
    )
    wrong = calibrate("--target-far", "1.5")
    assert wrong.exit_code == 2 and "--target-far" in wrong.output
