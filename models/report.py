"""The evaluation report, for people (text with histograms) and machines (a dict)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.evaluation import Evaluation

_BINS = np.round(np.arange(-0.2, 1.01, 0.1), 2)


def _histogram(scores: np.ndarray) -> list[int]:
    counts, _ = np.histogram(np.clip(scores, _BINS[0], _BINS[-1]), bins=_BINS)
    return [int(c) for c in counts]


def _summary(scores: np.ndarray) -> dict[str, Any]:
    if not scores.size:
        return {"pairs": 0}
    return {
        "pairs": int(scores.size),
        "mean": round(float(scores.mean()), 4),
        "min": round(float(scores.min()), 4),
        "max": round(float(scores.max()), 4),
        "histogram": _histogram(scores),
    }


def evaluation_report(pack: str, result: Evaluation) -> tuple[dict[str, Any], str]:
    data = {
        "pack": pack,
        "threshold": result.threshold,
        "histogram_bins": [float(b) for b in _BINS],
        "same_person": _summary(result.same),
        "different_person": _summary(result.different),
        "false_accept_rate": result.false_accept_rate,
        "false_reject_rate": result.false_reject_rate,
        "margin_to_impostors": round(result.margin_to_impostors, 4),
        "margin_to_genuine": round(result.margin_to_genuine, 4),
        "rank1": {"correct": result.rank1_correct, "probes": result.rank1_total},
        "identified_at_threshold": result.identified,
        "unknown_accepted": {"accepted": result.unknown_accepted, "probes": result.unknown_total},
        "grey_zone": _grey_zone(result),
        "unusable": result.unusable,
    }
    lines = [f"pack {pack}, threshold {result.threshold:.3f}", "cosine      same  different"]
    same, different = _histogram(result.same), _histogram(result.different)
    for low, high, s, d in zip(_BINS[:-1], _BINS[1:], same, different, strict=True):
        lines.append(f"{low:+.1f}..{high:+.1f} {s:6d} {d:10d}")
    for label, part in (("same-person", result.same), ("different-person", result.different)):
        summary = _summary(part)
        if summary["pairs"]:
            lines.append(
                f"{label}: {summary['pairs']} pairs, mean {summary['mean']:.3f}, "
                f"min {summary['min']:.3f}, max {summary['max']:.3f}"
            )
    lines += [
        f"false accept rate {result.false_accept_rate:.4%}, "
        f"false reject rate {result.false_reject_rate:.4%} at {result.threshold:.3f}",
        f"threshold margin: {result.margin_to_impostors:+.3f} over the highest impostor, "
        f"{result.margin_to_genuine:+.3f} under the lowest genuine score",
        f"rank-1 {result.rank1_correct}/{result.rank1_total} (enrolled from one photo each), "
        f"accepted at threshold {result.identified}/{result.rank1_total}",
        f"unknown people accepted: {result.unknown_accepted}/{result.unknown_total}",
    ]
    lines += _grey_zone_lines(result)
    lines += [f"unusable: {photo}: {why}" for photo, why in result.unusable.items()]
    return data, "\n".join(lines)


def _grey_zone(result: Evaluation) -> dict[str, Any]:
    """What the grey zone costs (genuine attempts asked for a second factor) and saves
    (impostors one threshold at its lower end would have accepted)."""
    return {
        "lower_threshold": result.lower_threshold,
        "verify_threshold": result.verify_threshold,
        "genuine_probes_second_factor": result.second_factor,
        "genuine_pairs_in_zone": result.in_zone(result.same),
        "unknown_probes_second_factor": result.unknown_second_factor,
        "impostor_pairs_in_zone": result.in_zone(result.different),
        "impostor_pairs_at_verify": result.impostors_at_verify,
    }


def _grey_zone_lines(result: Evaluation) -> list[str]:
    if result.lower_threshold >= result.threshold:
        return ["grey zone: none (lower threshold = accept threshold)"]
    zone = _grey_zone(result)
    low, high = result.lower_threshold, result.threshold
    lines = [
        f"grey zone {low:.3f}..{high:.3f} (a second factor confirms):",
        f"  costs: {zone['genuine_probes_second_factor']}/{result.rank1_total} genuine probes "
        f"asked for a finger or staff number ({zone['genuine_pairs_in_zone']}/"
        f"{result.same.size} same-person pairs in the zone)",
        f"  saves: {zone['impostor_pairs_in_zone']}/{result.different.size} impostor pairs and "
        f"{zone['unknown_probes_second_factor']}/{result.unknown_total} unknown people stopped "
        f"that one threshold at {low:.3f} would have accepted",
    ]
    if result.verify_threshold is not None:
        lines.append(
            f"  staff-number check (1:1 at {result.verify_threshold:.3f}): "
            f"{zone['impostor_pairs_at_verify']}/{result.different.size} impostor pairs "
            "would pass it with a known staff number"
        )
    return lines
