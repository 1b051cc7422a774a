"""Thresholds from the hall's own gallery (`hallwatch models calibrate`).

The impostor distribution is every pair of different enrolled people, each scored as a
search would score one against the other (their best pair of templates). A stranger, or
another staff member, facing a gallery of N people is compared with each of them: with a
per-comparison false-accept rate p, the chance that one attempt is accepted as somebody
is 1-(1-p)^N. For a per-attempt target F the accept threshold therefore sits at the
impostor distribution's (1-p) quantile with p = 1-(1-F)^(1/N), far in its tail.

A hall's gallery gives N(N-1)/2 pairs: a rate below 1/pairs lies beyond the sample. The
tail is then read from a normal distribution fitted to the scores (impostor cosines of
ArcFace-style embeddings are close to normal around 0), and never below the highest
score seen. The grey zone's bottom is set where at most GREY_RATE_FACTOR times F of
attempts are asked for a second factor; the 1:1 staff-number check is one comparison
(p = F), never below the grey zone's bottom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from base.errors import HallwatchError
from models.gallery import Gallery

GREY_RATE_FACTOR = 10  # the grey zone asks at most this many times the target for a factor
# A pack's thresholds are bounded like this (models/manifest.py RecognizerSpec).
LOWEST, HIGHEST = 0.2, 0.95
QUANTILES = (0.5, 0.9, 0.99)


class CalibrationError(HallwatchError, ValueError):
    """A gallery too small to calibrate from, or a target that is not a rate."""


@dataclass(frozen=True)
class Estimate:
    """Where a per-comparison rate puts a threshold."""

    per_attempt: float  # the false-accept rate asked for, per attempt
    comparisons: int  # people an attempt is compared with (N, or 1 for 1:1)
    rate: float  # per-comparison p = 1-(1-per_attempt)^(1/comparisons)
    z: float  # the standard normal's (1-p) quantile
    normal: float  # mean + z * std of the fitted normal
    empirical: float | None  # the sample's (1-p) quantile; None beyond the sample
    highest: float  # the highest impostor score

    @property
    def threshold(self) -> float:
        """The normal tail, or the sample's quantile if higher (beyond the sample: the
        highest score), rounded up to 3 decimals within a pack's bounds."""
        seen = self.empirical if self.empirical is not None else self.highest
        return _bounded(max(self.normal, seen))


def _bounded(value: float) -> float:
    return min(max(math.ceil(value * 1000 - 1e-9) / 1000, LOWEST), HIGHEST)


@dataclass(frozen=True)
class Calibration:
    people: int
    templates: int
    pairs: list[tuple[str, str]]
    scores: np.ndarray  # each pair's best cosine
    target_far: float  # per attempt
    accept: Estimate
    lower: Estimate
    verify: Estimate

    @property
    def mean(self) -> float:
        return float(self.scores.mean())

    @property
    def std(self) -> float:
        return float(self.scores.std(ddof=1))

    @property
    def closest(self) -> tuple[str, str, float]:
        row = int(np.argmax(self.scores))
        return (*self.pairs[row], float(self.scores[row]))

    @property
    def proposed(self) -> dict[str, float]:
        """accept >= verify >= lower, as a pack's grey zone must be."""
        accept = self.accept.threshold
        lower = min(self.lower.threshold, accept)
        return {
            "accept": accept,
            "lower": lower,
            "verify": min(max(self.verify.threshold, lower), accept),
        }


def per_comparison(per_attempt: float, comparisons: int) -> float:
    """p such that 1-(1-p)^comparisons == per_attempt."""
    return -math.expm1(math.log1p(-per_attempt) / comparisons)


def calibrate(gallery: Gallery, target_far: float) -> Calibration:
    if not 0 < target_far < 1:
        raise CalibrationError(f"the target false-accept rate {target_far} is not between 0 and 1")
    pairs, scores = gallery.pair_scores()
    if len(pairs) < 3:
        raise CalibrationError(
            f"{gallery.path}: {len(gallery)} people enrolled; calibration needs at least 3 "
            "(it measures how alike different people's faces are)"
        )
    scores = scores.astype(np.float64)
    mean, std = float(scores.mean()), float(scores.std(ddof=1))
    people = len(gallery)

    def estimate(per_attempt: float, comparisons: int) -> Estimate:
        rate = per_comparison(per_attempt, comparisons)
        z = NormalDist().inv_cdf(1 - rate)
        empirical = float(np.quantile(scores, 1 - rate)) if rate >= 1 / scores.size else None
        return Estimate(
            per_attempt, comparisons, rate, z, mean + z * std, empirical, float(scores.max())
        )

    return Calibration(
        people,
        gallery.template_count,
        pairs,
        scores,
        target_far,
        estimate(target_far, people),
        estimate(min(GREY_RATE_FACTOR * target_far, 0.5), people),
        estimate(target_far, 1),
    )


def calibration_report(
    result: Calibration, current: dict[str, float | None], names: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """The arithmetic, for machines (a dict) and people (text); `current`: the pack's."""
    a, b, top = result.closest
    quantiles = {f"{q:.0%}": float(np.quantile(result.scores, q)) for q in QUANTILES}
    estimates = {"accept": result.accept, "lower": result.lower, "verify": result.verify}
    data = {
        "people": result.people,
        "templates": result.templates,
        "pairs": len(result.pairs),
        "impostor": {
            "mean": round(result.mean, 4),
            "std": round(result.std, 4),
            "max": round(top, 4),
            "closest": [a, b],
            "quantiles": {k: round(v, 4) for k, v in quantiles.items()},
        },
        "target_far": result.target_far,
        "grey_rate_factor": GREY_RATE_FACTOR,
        "estimates": {
            name: {
                "per_attempt": e.per_attempt,
                "comparisons": e.comparisons,
                "per_comparison": e.rate,
                "z": round(e.z, 4),
                "normal": round(e.normal, 4),
                "empirical": None if e.empirical is None else round(e.empirical, 4),
                "threshold": e.threshold,
            }
            for name, e in estimates.items()
        },
        "proposed": result.proposed,
        "current": current,
    }
    n, pairs = result.people, len(result.pairs)
    lines = [
        f"gallery: N = {n} people, {result.templates} templates; impostor pairs "
        f"N(N-1)/2 = {n}x{n - 1}/2 = {pairs}, each the best cosine of their templates",
        f"impostor scores: mean {result.mean:.3f}, std {result.std:.3f}, highest {top:.3f} "
        f"({names.get(a, a)} / {names.get(b, b)}); "
        + ", ".join(f"{k} quantile {v:.3f}" for k, v in quantiles.items()),
        "target: an attempt by a stranger or another staff member is accepted as someone "
        f"else with probability F = {result.target_far:g}",
    ]
    titles = {
        "accept": "accept (1:N against N people)",
        "lower": f"lower (asked for a second factor at most {GREY_RATE_FACTOR}F "
        f"= {result.lower.per_attempt:g} per attempt)",
        "verify": "verify (1:1 by staff number: one comparison)",
    }
    for name, e in estimates.items():
        seen = (
            f"the sample's {1 - e.rate:.6f} quantile {e.empirical:.3f}"
            if e.empirical is not None
            else f"beyond the sample (p < 1/{pairs} = {1 / pairs:.2e}): highest score {e.highest:.3f}"
        )
        lines += [
            f"{titles[name]}:",
            f"  per-comparison p = 1-(1-{e.per_attempt:g})^(1/{e.comparisons}) = {e.rate:.3e}; "
            f"check: 1-(1-p)^{e.comparisons} = {-math.expm1(e.comparisons * math.log1p(-e.rate)):.3e}",
            f"  normal tail mean + z*std = {result.mean:.3f} + {e.z:.3f} x {result.std:.3f} "
            f"= {e.normal:.3f}; {seen}",
            f"  -> {e.threshold:.3f} (the higher, rounded up)",
        ]
    proposed = result.proposed
    now = " / ".join("unset" if v is None else f"{v:.3f}" for v in current.values())
    lines.append(
        f"proposed: accept {proposed['accept']:.3f}, lower {proposed['lower']:.3f}, "
        f"verify {proposed['verify']:.3f} (now {now}); set them in [face] threshold, "
        "lower_threshold, verify_threshold"
    )
    if current["accept"] is not None and proposed["accept"] < current["accept"]:
        lines.append(
            f"note: the pack's accept threshold {current['accept']:.3f} is higher; it was "
            "measured on more pairs than this gallery holds and real tails are heavier than "
            "normal: keep the higher one"
        )
    if pairs < 100:
        lines.append(
            f"note: {pairs} pairs are few; the tail is mostly the normal fit's. Calibrate "
            "again as the hall enrols more people."
        )
    return data, "\n".join(lines)
