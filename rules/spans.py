"""Time spans (start, end) with half-open semantics: clipping, merging, measuring."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

Span = tuple[datetime, datetime]


def clip(spans: Iterable[Span], window: Span) -> list[Span]:
    """The parts of `spans` inside `window` (empty parts dropped)."""
    lo, hi = window
    return [(max(a, lo), min(b, hi)) for a, b in spans if max(a, lo) < min(b, hi)]


def merge(items: Iterable[tuple[Span, str]], join: timedelta) -> list[tuple[Span, tuple[str, ...]]]:
    """Merge spans that overlap or are at most `join` apart, keeping the ids of their parts."""
    merged: list[tuple[Span, list[str]]] = []
    for (a, b), item_id in sorted(items):
        if merged and a <= merged[-1][0][1] + join:
            (start, end), ids = merged[-1]
            merged[-1] = ((start, max(end, b)), [*ids, item_id])
        else:
            merged.append(((a, b), [item_id]))
    return [(span, tuple(ids)) for span, ids in merged]


def union(spans: Iterable[Span]) -> list[Span]:
    return [span for span, _ in merge(((s, "") for s in spans), timedelta())]


def total(spans: Iterable[Span]) -> timedelta:
    """Time covered by `spans`, overlaps counted once."""
    return sum((b - a for a, b in union(spans)), timedelta())


def longest_overlap(span: Span, spans: Iterable[Span]) -> timedelta:
    """The longest continuous part of `span` inside the union of `spans`."""
    return max((b - a for a, b in clip(union(spans), span)), default=timedelta())
