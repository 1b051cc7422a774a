"""Properties of the numeric core: alignment and the per-person search."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.alignment import ARCFACE_TEMPLATE, similarity_transform
from models.gallery import Gallery, Template


@settings(max_examples=60, deadline=None)
@given(
    angle=st.floats(-math.pi, math.pi),
    scale=st.floats(0.1, 10),
    shift=st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
)
def test_similarity_transform_recovers_an_exact_similarity(angle, scale, shift):
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = ARCFACE_TEMPLATE @ (scale * rotation).T + np.array(shift)
    matrix = similarity_transform(points, ARCFACE_TEMPLATE)
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 1e-6


@settings(max_examples=25, deadline=None)
@given(
    owners=st.lists(st.integers(0, 6), min_size=1, max_size=20),
    seed=st.integers(0, 2**31 - 1),
)
def test_search_equals_brute_force_best_and_runner_up_person(tmp_path_factory, owners, seed):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(owners) + 1, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    gallery = Gallery(tmp_path_factory.mktemp("p") / "g.db", "m" * 64, 16)
    gallery.import_templates((f"P{owner}", "x", vectors[i], "t") for i, owner in enumerate(owners))
    probe = vectors[-1]
    best: dict[str, float] = {}
    for i, owner in enumerate(owners):
        best[f"P{owner}"] = max(best.get(f"P{owner}", -2.0), float(vectors[i] @ probe))
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    found = gallery.search(probe)
    assert abs(found.score - ranked[0][1]) < 1e-6
    assert best[found.staff_id] == max(best.values())
    if len(ranked) > 1:
        assert abs(found.runner_up_score - ranked[1][1]) < 1e-6
        assert found.runner_up_id != found.staff_id
    else:
        assert found.runner_up_id is None
    gallery.close()


def test_enrol_then_search_finds_each_template_owner(tmp_path):
    rng = np.random.default_rng(9)
    vectors = rng.standard_normal((5, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    gallery = Gallery(tmp_path / "g.db", "m" * 64, 32)
    for index, vector in enumerate(vectors):
        gallery.enrol(f"S{index}", "n", [Template(vector, "t")], duplicate_threshold=0.99)
    assert [gallery.search(v).staff_id for v in vectors] == [f"S{i}" for i in range(5)]
